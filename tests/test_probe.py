"""The hardware probe: parsers on real-format samples, the real probe's consistency, and
degradation to "unknown" when every step fails."""

import json
import platform
import sys

import pytest

import streamer.tuning.probe as probe_mod
from streamer.tuning.plan import make_plan
from streamer.tuning.probe import SIMD_FEATURES, Probe, apple_generation, parse_cpuinfo, parse_nvidia_smi

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512vl
processor\t: 1
model name\t: Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512vl
"""

ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid
CPU implementer\t: 0x41
CPU part\t: 0xd0c
"""


def test_parse_x86_cpuinfo():
    brand, simd = parse_cpuinfo(X86_CPUINFO)
    assert brand == "Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz"
    assert simd == ("avx512f", "avx2", "avx", "fma")


def test_parse_arm_cpuinfo():
    brand, simd = parse_cpuinfo(ARM_CPUINFO)
    assert brand is None  # no model name on many ARM kernels: probe falls back to platform
    assert simd == ("asimd",)  # "asimdhp" is a different flag, not a substring match


def test_parse_nvidia_smi_with_and_without_compute_cap():
    text = "0, NVIDIA H100 80GB HBM3, 81559, 9.0\n1, NVIDIA H100 80GB HBM3, 81559, 9.0\n"
    assert parse_nvidia_smi(text) == [(0, "NVIDIA H100 80GB HBM3", 81559, "9.0"),
                                      (1, "NVIDIA H100 80GB HBM3", 81559, "9.0")]
    old_driver = "0, Tesla T4, 15360\n"
    assert parse_nvidia_smi(old_driver) == [(0, "Tesla T4", 15360, None)]
    assert parse_nvidia_smi("0, Some GPU, [N/A], [N/A]\n") == [(0, "Some GPU", None, None)]
    assert parse_nvidia_smi("No devices were found\n") == []


@pytest.mark.parametrize("brand,gen", [("Apple M2 Pro", "M2"), ("Apple M1", "M1"),
                                       ("Apple M4 Max", "M4"), ("AMD EPYC", None), (None, None)])
def test_apple_generation(brand, gen):
    assert apple_generation(brand) == gen


def test_real_probe_is_consistent():
    p = probe_mod.probe()
    assert p.os == platform.system() and p.arch != "unknown"
    assert p.physical_cores is None or p.logical_cores is None \
        or 1 <= p.physical_cores <= p.logical_cores
    assert p.ram_total_bytes and p.ram_available_bytes
    assert 0 < p.ram_available_bytes <= p.ram_total_bytes
    assert set(p.simd) <= set(SIMD_FEATURES)
    assert "int8" in p.cpu_compute_types or "float32" in p.cpu_compute_types
    assert len(p.gpus) >= p.cuda_device_count
    if p.os == "Linux" and p.arch == "x86_64":
        flags = open("/proc/cpuinfo").read().split()
        assert ("avx2" in p.simd) == ("avx2" in flags)
        if "avx2" in p.simd:
            assert "avx" in p.simd  # every AVX2 CPU has AVX
    if p.os != "Darwin":
        assert p.apple_silicon is None
    json.dumps(p.to_dict())
    plan = make_plan(p)  # and a plan comes out of it
    assert plan.device in ("cpu", "cuda") and plan.fallback


def test_probe_degrades_to_unknown_when_every_step_fails(monkeypatch):
    def boom(*a, **k):
        raise OSError("probe step failed")

    import psutil

    monkeypatch.setattr(platform, "system", boom)
    monkeypatch.setattr(platform, "machine", boom)
    monkeypatch.setattr(platform, "processor", boom)
    monkeypatch.setattr(psutil, "cpu_count", boom)
    monkeypatch.setattr(psutil, "virtual_memory", boom)
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # import fails
    p = probe_mod.probe()
    assert p.os == "unknown" and p.cpu_brand == "unknown"
    assert p.physical_cores is None and p.logical_cores is None
    assert p.ram_total_bytes is None and p.cpu_compute_types == ()
    assert p.cuda_device_count == 0
    assert any("ctranslate2" in n for n in p.notes) and any("memory" in n for n in p.notes)
    plan = make_plan(p)
    assert (plan.device, plan.compute_type, plan.model) == ("cpu", "float32", "tiny.en")


def test_gpu_listed_by_nvidia_smi_but_not_usable(monkeypatch):
    """A driver lists a GPU but CTranslate2's CUDA runtime cannot start: reported, not planned."""
    monkeypatch.setattr(probe_mod.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(probe_mod, "_gpus_nvidia_smi",
                        lambda: [(0, "NVIDIA A10", 23028, "8.6")])
    p = probe_mod.probe()
    if p.cuda_device_count:
        pytest.skip("CTranslate2 sees CUDA here")
    assert p.gpus[0].name == "NVIDIA A10" and p.gpus[0].compute_types == ()
    assert any("cannot use CUDA" in n for n in p.notes)
    assert make_plan(p).device == "cpu"


def test_probe_is_frozen():
    with pytest.raises(Exception):
        Probe().os = "x"  # type: ignore[misc]
