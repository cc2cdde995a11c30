"""Hardware probe: what this machine offers for inference, as one frozen :class:`Probe`.

Every step is independent and fails soft: a step that raises or finds nothing leaves its field
``None`` (or empty) and adds a line to :attr:`Probe.notes`; :func:`probe` never raises. The
plan (:mod:`streamer.tuning.plan`) treats ``None`` as "unknown" and picks the safe choice.

Sources, per field:

- OS, architecture: :mod:`platform`.
- CPU brand and SIMD flags: ``/proc/cpuinfo`` on Linux (``model name``, ``flags`` on x86;
  ``Features``/``CPU part`` on ARM), ``sysctl`` on macOS (``machdep.cpu.brand_string``,
  ``machdep.cpu.features``/``leaf7_features``, ``hw.optional.*``).
- Cores and RAM: psutil (``cpu_count(logical=False)``, ``virtual_memory()``); on Apple Silicon
  the performance-core count from ``sysctl hw.perflevel0.physicalcpu``.
- CUDA: CTranslate2's ``get_cuda_device_count()`` (what the inference engine can use), then
  ``nvidia-smi --query-gpu`` or, when installed, torch for names, memory and compute capability.
- MPS: torch's ``torch.backends.mps.is_available()`` when torch is installed (optional; it is
  imported only on macOS arm64 since importing it costs seconds).
- Compute types: ``ctranslate2.get_supported_compute_types(device, index)``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field

logger = logging.getLogger(__name__)

#: SIMD features we report, in order of preference (the names /proc/cpuinfo uses).
SIMD_FEATURES = ("avx512f", "avx2", "avx", "fma", "neon", "asimd")

_SUBPROCESS_TIMEOUT_S = 5.0  #: a hung nvidia-smi or sysctl must not stall start-up


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA GPU.

    Attributes:
        index: CUDA device index.
        name: marketing name, e.g. ``"NVIDIA H100 80GB HBM3"``, or None if unknown.
        memory_mib: total device memory in MiB (2**20 bytes), or None if unknown.
        compute_capability: ``"major.minor"``, e.g. ``"9.0"``, or None if unknown.
        compute_types: CTranslate2 compute types supported on this device (empty if unknown).
        source: where name/memory came from: ``"nvidia-smi"``, ``"torch"`` or ``"ctranslate2"``.
    """

    index: int
    name: str | None = None
    memory_mib: int | None = None
    compute_capability: str | None = None
    compute_types: tuple[str, ...] = ()
    source: str = "ctranslate2"


@dataclass(frozen=True)
class Probe:
    """What the machine offers. ``None`` means "could not be determined".

    Attributes:
        os: ``platform.system()``, e.g. ``"Linux"``, ``"Darwin"``.
        os_release: kernel / OS release string.
        arch: ``platform.machine()`` normalised: ``"x86_64"`` or ``"arm64"`` (or as reported).
        cpu_brand: CPU model name, e.g. ``"AMD EPYC 7B13"`` or ``"Apple M2 Pro"``.
        physical_cores: physical cores (psutil), or None.
        logical_cores: logical CPUs, hyper-threads included (psutil / os.cpu_count), or None.
        performance_cores: Apple Silicon performance cores (``hw.perflevel0.physicalcpu``).
        simd: SIMD features found, a subset of :data:`SIMD_FEATURES` in that order.
        ram_total_bytes, ram_available_bytes: system memory (psutil), bytes.
        cuda_device_count: GPUs CTranslate2 can run on (0 when its CUDA runtime cannot start,
            even if a driver lists GPUs).
        gpus: GPUs with what is known about each.
        cpu_compute_types: CTranslate2 compute types supported on the CPU (empty if unknown).
        apple_silicon: chip generation, e.g. ``"M2"``, on Apple Silicon; None elsewhere.
        mps_available: torch's MPS backend is usable (None when torch is not installed or the
            machine is not a Mac). CTranslate2 has no MPS backend: it runs on the CPU there.
        notes: what could not be probed and why, one short line each.
    """

    os: str = "unknown"
    os_release: str = "unknown"
    arch: str = "unknown"
    cpu_brand: str = "unknown"
    physical_cores: int | None = None
    logical_cores: int | None = None
    performance_cores: int | None = None
    simd: tuple[str, ...] = ()
    ram_total_bytes: int | None = None
    ram_available_bytes: int | None = None
    cuda_device_count: int = 0
    gpus: tuple[GpuInfo, ...] = ()
    cpu_compute_types: tuple[str, ...] = ()
    apple_silicon: str | None = None
    mps_available: bool | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """The probe as JSON-ready data (tuples become lists)."""
        return asdict(self)


# -- individual steps: each returns data or raises; probe() turns raises into notes -------------

def _run(cmd: list[str]) -> str:
    """stdout of ``cmd``, or raise (missing binary, non-zero exit, timeout)."""
    if shutil.which(cmd[0]) is None:
        raise FileNotFoundError(f"{cmd[0]} not found")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT_S,
                       check=True)
    return r.stdout


def _sysctl(name: str) -> str:
    return _run(["sysctl", "-n", name]).strip()


def _normalise_arch(machine: str) -> str:
    m = machine.lower()
    if m in ("x86_64", "amd64"):
        return "x86_64"
    if m in ("arm64", "aarch64", "armv8", "armv8l"):
        return "arm64"
    return machine or "unknown"


def parse_cpuinfo(text: str) -> tuple[str | None, tuple[str, ...]]:
    """CPU brand and SIMD features from the text of Linux ``/proc/cpuinfo``.

    x86 lists ``model name`` and ``flags``; ARM lists ``Features`` (``asimd`` is NEON on
    AArch64) and sometimes ``model name``/``Hardware``.

    Returns:
        ``(brand or None, features)`` with features a subset of :data:`SIMD_FEATURES`.
    """
    brand = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and brand is None and value.strip():
            brand = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    return brand, tuple(f for f in SIMD_FEATURES if f in flags)


def _cpu_linux() -> tuple[str | None, tuple[str, ...]]:
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        return parse_cpuinfo(f.read())


def _cpu_macos() -> tuple[str | None, tuple[str, ...], int | None]:
    brand = _sysctl("machdep.cpu.brand_string") or None
    found: set[str] = set()
    try:
        feats = (_sysctl("machdep.cpu.features") + " " + _sysctl("machdep.cpu.leaf7_features"))
        feats = feats.lower().replace(".", "_")
        for f in ("avx512f", "avx2", "avx1_0", "fma"):
            if f in feats.split():
                found.add("avx" if f == "avx1_0" else f)
    except (OSError, subprocess.SubprocessError):
        pass  # arm64 Macs have no machdep.cpu.features
    for name, feat in (("hw.optional.neon", "neon"), ("hw.optional.AdvSIMD", "asimd"),
                       ("hw.optional.avx512f", "avx512f"), ("hw.optional.avx2_0", "avx2")):
        try:
            if _sysctl(name) == "1":
                found.add(feat)
        except (OSError, subprocess.SubprocessError):
            pass
    perf = None
    try:
        perf = int(_sysctl("hw.perflevel0.physicalcpu"))
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return brand, tuple(f for f in SIMD_FEATURES if f in found), perf


def apple_generation(brand: str | None) -> str | None:
    """``"M1"``, ``"M2"``... from a brand string such as ``"Apple M2 Pro"``, else None."""
    m = re.search(r"\bApple (M\d+)\b", brand or "")
    return m.group(1) if m else None


def parse_nvidia_smi(text: str) -> list[tuple[int, str, int | None, str | None]]:
    """Rows of ``nvidia-smi --query-gpu=index,name,memory.total[,compute_cap]
    --format=csv,noheader,nounits``: ``(index, name, memory MiB, compute capability)``."""
    rows = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        mem = int(float(parts[2])) if re.fullmatch(r"[\d.]+", parts[2]) else None
        cc = parts[3] if len(parts) > 3 and re.fullmatch(r"\d+\.\d+", parts[3]) else None
        rows.append((int(parts[0]), parts[1], mem, cc))
    return rows


def _gpus_nvidia_smi() -> list[tuple[int, str, int | None, str | None]]:
    base = ["nvidia-smi", "--format=csv,noheader,nounits"]
    try:
        return parse_nvidia_smi(_run([*base, "--query-gpu=index,name,memory.total,compute_cap"]))
    except subprocess.CalledProcessError:  # drivers before 510 lack compute_cap
        return parse_nvidia_smi(_run([*base, "--query-gpu=index,name,memory.total"]))


def _gpus_torch() -> list[tuple[int, str, int | None, str | None]]:
    import torch  # optional dependency

    rows = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            rows.append((i, p.name, p.total_memory // 2**20, f"{p.major}.{p.minor}"))
    return rows


def _torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def probe() -> Probe:
    """Probe this machine. Never raises: failed steps leave fields unknown and add a note.

    Takes well under a second unless ``nvidia-smi`` is slow (each command is capped at 5 s).
    """
    notes: list[str] = []
    info: dict = {}

    def step(what: str, fn):
        try:
            return fn()
        except Exception as exc:  # each probe step is optional; record why it failed
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            notes.append(f"{what}: {msg}")
            logger.debug("probe step %s failed: %s", what, msg)
            return None

    info["os"] = step("os", platform.system) or "unknown"
    info["os_release"] = step("os release", platform.release) or "unknown"
    info["arch"] = _normalise_arch(step("architecture", platform.machine) or "")

    brand = simd = perf = None
    if info["os"] == "Linux":
        got = step("/proc/cpuinfo", _cpu_linux)
        if got:
            brand, simd = got
    elif info["os"] == "Darwin":
        got = step("sysctl", _cpu_macos)
        if got:
            brand, simd, perf = got
    info["cpu_brand"] = brand or step("cpu brand", platform.processor) or "unknown"
    info["simd"] = tuple(simd or ())
    info["performance_cores"] = perf

    import psutil

    info["physical_cores"] = step("physical cores", lambda: psutil.cpu_count(logical=False))
    info["logical_cores"] = step("logical cores", lambda: psutil.cpu_count(logical=True)
                                 or os.cpu_count())
    vm = step("memory", psutil.virtual_memory)
    if vm is not None:
        info["ram_total_bytes"] = int(vm.total)
        info["ram_available_bytes"] = int(vm.available)

    ct2 = step("ctranslate2", lambda: __import__("ctranslate2"))
    if ct2 is not None:
        info["cpu_compute_types"] = tuple(sorted(
            step("cpu compute types", lambda: ct2.get_supported_compute_types("cpu")) or ()))
        info["cuda_device_count"] = step("cuda device count", ct2.get_cuda_device_count) or 0

    rows = step("nvidia-smi", _gpus_nvidia_smi) if shutil.which("nvidia-smi") else None
    source = "nvidia-smi"
    if not rows and info.get("cuda_device_count") and _torch_installed():
        rows, source = step("torch cuda", _gpus_torch), "torch"
    by_index = {r[0]: r for r in rows or ()}
    n = max(info.get("cuda_device_count", 0), len(by_index))
    gpus = []
    for i in range(n):
        _, name, mem, cc = by_index.get(i, (i, None, None, None))
        types: tuple[str, ...] = ()
        if ct2 is not None and i < info.get("cuda_device_count", 0):
            types = tuple(sorted(step(f"cuda:{i} compute types",
                                      lambda i=i: ct2.get_supported_compute_types("cuda", i))
                                 or ()))
        gpus.append(GpuInfo(index=i, name=name, memory_mib=mem, compute_capability=cc,
                            compute_types=types, source=source if i in by_index else "ctranslate2"))
    info["gpus"] = tuple(gpus)
    if by_index and not info.get("cuda_device_count"):
        notes.append("nvidia-smi lists GPUs but CTranslate2 cannot use CUDA (driver/runtime)")

    if info["os"] == "Darwin" and info["arch"] == "arm64":
        info["apple_silicon"] = apple_generation(info["cpu_brand"]) or "unknown"
        if _torch_installed():
            info["mps_available"] = step(
                "torch mps", lambda: bool(__import__("torch").backends.mps.is_available()))
        else:
            notes.append("torch not installed: MPS availability unknown")
    return Probe(**info, notes=tuple(notes))
