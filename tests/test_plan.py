"""The tuning plan: synthetic machines against docs/tuning.md, overrides, the fallback chain and
start-up calibration (with injected loaders and scripted warm-up times: no clock in tests)."""

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from conftest import CLIPS, ROOT, run_cli
from streamer.config import ModelRequest
from streamer.decoding.decoder import DecodingOptions
from streamer.decoding.models import ModelSpec
from streamer.errors import ExitCode, LivescribeError, LoadError, ModelError
from streamer.tuning.calibration import CalibrationOptions, calibrate, step_down_model
from streamer.tuning.loader import load_with_fallback, start_decoder
from streamer.tuning.memory import estimate_memory
from streamer.tuning.plan import check_strict, make_plan
from streamer.tuning.probe import GpuInfo, Probe

GIB = 2**30
JFK_PATH = str(CLIPS["jfk"][0])
CPU_TYPES = ("float32", "int8", "int8_float32")
AMPERE_TYPES = ("bfloat16", "float16", "float32", "int8", "int8_bfloat16", "int8_float16",
                "int8_float32")

#: Synthetic machines; the plans they must get are the table of docs/tuning.md.
PROBES = {
    "2-core AVX2 laptop": Probe(
        os="Linux", arch="x86_64", cpu_brand="Intel Core i5-7200U", physical_cores=2,
        logical_cores=4, simd=("avx2", "avx", "fma"), ram_total_bytes=8 * GIB,
        ram_available_bytes=4 * GIB, cpu_compute_types=CPU_TYPES),
    "32-core AVX-512 server": Probe(
        os="Linux", arch="x86_64", cpu_brand="Intel Xeon Gold 6226R", physical_cores=32,
        logical_cores=64, simd=("avx512f", "avx2", "avx", "fma"), ram_total_bytes=192 * GIB,
        ram_available_bytes=180 * GIB, cpu_compute_types=CPU_TYPES),
    "8 GB CUDA desktop": Probe(
        os="Linux", arch="x86_64", cpu_brand="AMD Ryzen 7 5800X", physical_cores=8,
        logical_cores=16, simd=("avx2", "avx", "fma"), ram_total_bytes=32 * GIB,
        ram_available_bytes=24 * GIB, cpu_compute_types=CPU_TYPES, cuda_device_count=1,
        gpus=(GpuInfo(0, "NVIDIA GeForce RTX 3070 Ti", 8192, "8.6", AMPERE_TYPES,
                      "nvidia-smi"),)),
    "80 GB CUDA server (H100)": Probe(
        os="Linux", arch="x86_64", cpu_brand="Intel Xeon Platinum 8480+", physical_cores=26,
        logical_cores=26, simd=("avx512f", "avx2", "avx", "fma"), ram_total_bytes=225 * GIB,
        ram_available_bytes=200 * GIB, cpu_compute_types=CPU_TYPES, cuda_device_count=1,
        gpus=(GpuInfo(0, "NVIDIA H100 80GB HBM3", 81559, "9.0", AMPERE_TYPES, "nvidia-smi"),)),
    "Apple M2 (4P+4E)": Probe(
        os="Darwin", arch="arm64", cpu_brand="Apple M2", physical_cores=8, logical_cores=8,
        performance_cores=4, simd=("neon", "asimd"), ram_total_bytes=16 * GIB,
        ram_available_bytes=8 * GIB, cpu_compute_types=CPU_TYPES, apple_silicon="M2",
        mps_available=True),
    "unknown CPU": Probe(notes=("everything failed",)),
}

def docs_table() -> dict[str, tuple]:
    """The plan table of docs/tuning.md, written by hand, as the oracle: machine -> (device,
    compute type, threads, model, beam size); threads "default" reads as 0."""
    section = (ROOT / "docs" / "tuning.md").read_text().split("## Hardware plan", 1)[1]
    section = section.split("\n### ", 2)[1]  # "The table"
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[0] in ("machine", "") or set(cells[0]) <= set("-"):
            continue
        name, device, compute, threads, model, beam = cells
        rows[name] = (device, compute, 0 if threads == "default" else int(threads), model,
                      int(beam))
    return rows


def test_the_docs_table_covers_exactly_the_synthetic_machines():
    assert sorted(docs_table()) == sorted(PROBES)


@pytest.mark.parametrize("name", list(PROBES))
def test_plan_matches_table(name):
    plan = make_plan(PROBES[name])
    got = (plan.device, plan.compute_type, plan.cpu_threads, plan.model, plan.beam_size)
    assert got == docs_table()[name]
    assert plan.best_of == 1
    assert not plan.warnings and not plan.impossible
    for key in ("device", "compute_type", "cpu_threads", "model", "beam_size", "best_of"):
        assert plan.reason(key), key
    last = plan.fallback[-1]
    assert (last.device, last.compute_type) == ("cpu", "float32")
    assert (plan.fallback[0].name, plan.fallback[0].device, plan.fallback[0].compute_type) == \
        (plan.model, plan.device, plan.compute_type)
    json.dumps(plan.to_dict())  # JSON-ready


def test_apple_reports_mps_but_runs_on_cpu():
    plan = make_plan(PROBES["Apple M2 (4P+4E)"])
    assert "MPS available" in plan.reason("device")
    assert "CPU" in plan.reason("device")
    assert "performance cores" in plan.reason("cpu_threads")


def test_cuda_fallback_chain_goes_safer_then_offline_then_cpu():
    plan = make_plan(PROBES["80 GB CUDA server (H100)"])
    assert [(a.name, a.device, a.compute_type) for a in plan.fallback] == [
        ("large-v3", "cuda", "float16"), ("large-v3", "cuda", "int8_float16"),
        ("base", "cuda", "int8_float16"), ("base", "cpu", "int8"), ("base", "cpu", "float32")]


def test_pinned_model_is_kept_on_every_step():
    plan = make_plan(PROBES["8 GB CUDA desktop"], ModelRequest(name="small"))
    assert {a.name for a in plan.fallback} == {"small"}
    assert "model" in plan.pinned


def test_non_english_language_never_gets_an_english_only_model():
    plan = make_plan(PROBES["unknown CPU"], ModelRequest(), language="fr")
    assert plan.model == "base"
    assert all(not a.name.endswith(".en") for a in plan.fallback)


def test_cuda_override_without_cuda_warns_and_falls_back_to_cpu():
    plan = make_plan(PROBES["2-core AVX2 laptop"], ModelRequest(device="cuda"))
    assert plan.device == "cpu" and plan.compute_type == "int8"
    assert plan.impossible and "cuda" in plan.impossible[0]
    check_strict(plan)  # not strict: no error
    with pytest.raises(LivescribeError) as e:
        check_strict(make_plan(PROBES["2-core AVX2 laptop"],
                               ModelRequest(device="cuda", strict=True)))
    assert e.value.exit_code == ExitCode.CONFIG == 78


def test_compute_type_the_device_lacks():
    pascal = replace(PROBES["8 GB CUDA desktop"], gpus=(GpuInfo(
        0, "NVIDIA GeForce GTX 1080", 8192, "6.1", ("float32", "int8", "int8_float32")),))
    auto = make_plan(pascal)
    assert auto.compute_type == "int8" and not auto.warnings
    plan = make_plan(pascal, ModelRequest(compute_type="float16"))
    assert plan.compute_type == "int8"
    assert "float16" in plan.impossible[0] and "GTX 1080" in plan.impossible[0]
    cpu = make_plan(PROBES["2-core AVX2 laptop"], ModelRequest(compute_type="float16"))
    assert cpu.compute_type == "int8" and cpu.impossible


def test_overrides_are_honoured():
    plan = make_plan(PROBES["2-core AVX2 laptop"],
                     ModelRequest(threads=2, beam_size=3, name="tiny.en", compute_type="float32"))
    assert (plan.cpu_threads, plan.beam_size, plan.model, plan.compute_type) == \
        (2, 3, "tiny.en", "float32")
    assert set(plan.pinned) == {"cpu_threads", "beam_size", "model", "compute_type"}


def test_memory_estimates_cite_a_source():
    base = estimate_memory("base", "cpu", "int8")
    assert base.mib == 239 and "measured here" in base.source
    large = estimate_memory("large-v3", "cuda", "float16")
    assert large.mib == 4755 and "faster-whisper README" in large.source
    medium = estimate_memory("medium", "cuda", "int8_float16")
    assert "scaled by parameter count" in medium.source
    assert 1000 < medium.mib < 3091
    assert estimate_memory("/some/dir", "cpu", "int8") is None


@pytest.mark.parametrize("model,language,smaller", [
    ("base", "en", "tiny.en"), ("base", None, None), ("base", "fr", None),
    ("tiny.en", "en", None), ("large-v3", None, "medium"), ("small", "en", "base"),
    ("small", "de", "base"), ("medium.en", "en", "small.en"), ("small.en", "en", "base"),
    ("/my/model", None, None),
])
def test_step_down_ladder(model, language, smaller):
    assert step_down_model(model, language) == smaller


# -- fallback chain with an injected loader -----------------------------------------------------

class FakeDecoder:
    """What calibration and the chain need of a decoder; warm-up times are scripted."""

    def __init__(self, spec: ModelSpec, options: DecodingOptions, warmups=(0.1,)):
        self.spec = spec
        self.options = options
        self._warmups = list(warmups)
        self.warmup_s = 0.0

    def warm_up(self, seconds=5.0):
        self.warmup_s = self._warmups.pop(0) if len(self._warmups) > 1 else self._warmups[0]
        return self.warmup_s


def failing_loader(fail, calls, warmups=None):
    """A loader failing for the (model, device, compute type) in ``fail`` with that error."""
    def load(spec: ModelSpec, dec: DecodingOptions):
        key = (spec.name, spec.device, spec.compute_type)
        calls.append(key)
        for pattern, exc in fail:
            if all(p is None or p == k for p, k in zip(pattern, key)):
                raise exc
        return FakeDecoder(spec, dec, (warmups or {}).get(spec.name, (0.1,)))
    return load


CONFIG_ERR = LivescribeError("unsupported compute type", ExitCode.CONFIG)
CUDA_ERR = LoadError("cannot load model 'x': CUDA driver version is insufficient")


def test_chain_falls_through_to_cpu_float32():
    plan = make_plan(PROBES["80 GB CUDA server (H100)"])
    calls: list = []
    loader = failing_loader([((None, "cuda", None), CUDA_ERR),
                             ((None, "cpu", "int8"), CONFIG_ERR)], calls)
    dec, step, failures = load_with_fallback(plan.fallback, DecodingOptions(), loader)
    assert (step.name, step.device, step.compute_type) == ("base", "cpu", "float32")
    assert calls == [(a.name, a.device, a.compute_type) for a in plan.fallback]
    assert len(failures) == 4 and "CUDA driver" in failures[0]
    assert dec.spec == ModelSpec("base", "cpu", "float32", plan.cpu_threads)


class _Weights:
    """What WindowDecoder reads from a loaded faster-whisper model, without weights."""

    def __init__(self, path, device, compute_type, cpu_threads):
        from types import SimpleNamespace

        self.device = device
        self.model = SimpleNamespace(is_multilingual=False)
        self.feature_extractor = SimpleNamespace(sampling_rate=16000, hop_length=160)
        self.supported_languages = ["en"]


def test_a_gpu_that_loads_but_cannot_decode_falls_back(monkeypatch):
    """CTranslate2 loads weights on CUDA without cuBLAS; the first encode then raises
    RuntimeError (libcublas.so.12 on a CUDA-13 machine). The load step decodes once on a GPU,
    so the chain moves on to the CPU instead of failing at the first window."""
    import faster_whisper

    from streamer.decoding import decoder as decoder_mod
    from streamer.decoding.models import ResolvedModel
    from streamer.tuning.loader import default_loader

    monkeypatch.setattr(faster_whisper, "WhisperModel", _Weights)
    monkeypatch.setattr(decoder_mod, "resolve_model",
                        lambda name: ResolvedModel(name, "/nowhere", "directory"))
    monkeypatch.setattr(decoder_mod, "download", lambda resolved: resolved.path)
    decodes: list = []

    def decode(self, audio, language, detect, *a, **k):
        decodes.append((self.spec.device, audio.shape, audio.dtype))
        raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded\nmore")

    monkeypatch.setattr(decoder_mod.WindowDecoder, "_decode", decode)
    chain = (ModelSpec("tiny.en", "cuda", "float16", 1, "planned"),
             ModelSpec("tiny.en", "cpu", "int8", 1, "CPU int8"))
    dec, step, failures = load_with_fallback(chain, DecodingOptions(), default_loader)
    assert (step.device, dec.model.device) == ("cpu", "cpu")
    assert decodes == [("cuda", (16000,), np.float32)]  # the CPU step decodes nothing at load
    assert len(failures) == 1 and failures[0].endswith(
        "cannot run model 'tiny.en' on cuda: Library libcublas.so.12 is not found or cannot "
        "be loaded")
    with pytest.raises(LoadError):
        default_loader(chain[0], DecodingOptions())


def test_chain_skips_a_model_that_cannot_be_had():
    plan = make_plan(PROBES["8 GB CUDA desktop"])
    calls: list = []
    offline = ModelError("cannot download model 'large-v3' (no network)")
    loader = failing_loader([(("large-v3", None, None), offline)], calls)
    _, step, _ = load_with_fallback(plan.fallback, DecodingOptions(), loader)
    assert calls == [("large-v3", "cuda", "int8_float16"), ("base", "cuda", "int8")]
    assert (step.name, step.device) == ("base", "cuda")


def test_errors_are_told_apart_by_type_not_by_message():
    """A ModelError whose text looks like a load failure is still about the model: the chain
    skips the model's other steps instead of trying them."""
    calls: list = []
    chain = (ModelSpec("base", "cpu", "int8"), ModelSpec("base", "cpu", "float32"),
             ModelSpec("tiny.en", "cpu", "int8"))
    lookalike = ModelError("cannot load model 'base': pack missing")
    _, step, failures = load_with_fallback(chain, DecodingOptions(),
                                           failing_loader([(("base", None, None), lookalike)],
                                                          calls))
    assert calls == [("base", "cpu", "int8"), ("tiny.en", "cpu", "int8")]
    assert step.name == "tiny.en" and len(failures) == 1


def test_strict_chain_stops_at_the_first_failure():
    plan = make_plan(PROBES["80 GB CUDA server (H100)"], ModelRequest(strict=True))
    calls: list = []
    loader = failing_loader([((None, "cuda", None), CUDA_ERR)], calls)
    with pytest.raises(LivescribeError) as e:
        load_with_fallback(plan.fallback, DecodingOptions(), loader, strict=True)
    assert e.value.exit_code == ExitCode.CONFIG
    assert "--strict" in str(e.value) and len(calls) == 1


def test_chain_raises_the_last_error_when_nothing_loads():
    chain = (ModelSpec("base", "cpu", "int8", 1, "planned"),
             ModelSpec("base", "cpu", "float32", 1, "CPU float32"))
    loader = failing_loader([((None, None, None), CONFIG_ERR)], [])
    with pytest.raises(LivescribeError) as e:
        load_with_fallback(chain, DecodingOptions(), loader)
    assert e.value is CONFIG_ERR


# -- calibration: scripted warm-up seconds ------------------------------------------------------

OPTS = CalibrationOptions()  # budget 1.5 s


def test_calibration_steps_beam_first_then_model():
    plan = make_plan(PROBES["32-core AVX-512 server"], language="en")
    assert plan.beam_size == 5 and plan.model == "base"
    # base: 2.4 s at beam 5, 1.9 s at beam 1 (over 1.5 s); tiny.en: 0.6 s
    loader = failing_loader([], [], warmups={"base": (2.4, 1.9), "tiny.en": (0.6,)})
    dec, plan2 = start_decoder(plan, DecodingOptions(beam_size=5, language="en"), loader, OPTS)
    cal = plan2.calibration
    assert [(s.model, s.beam_size, s.warmup_s) for s in cal.steps] == [
        ("base", 5, 2.4), ("base", 1, 1.9), ("tiny.en", 1, 0.6)]
    assert cal.kept_up and cal.budget_s == 1.5
    assert (plan2.model, plan2.beam_size, dec.spec.name) == ("tiny.en", 1, "tiny.en")
    assert cal.loaded.name == "base" and cal.failures == ()
    assert "calibration" in plan2.rows() and "keeps up" in plan2.rows()["calibration"]


def test_calibration_respects_pinned_choices():
    plan = make_plan(PROBES["32-core AVX-512 server"], ModelRequest(name="base", beam_size=5),
                     language="en")
    loader = failing_loader([], [], warmups={"base": (2.4,)})
    dec, plan2 = start_decoder(plan, DecodingOptions(beam_size=5, language="en"), loader, OPTS)
    assert [(s.model, s.beam_size) for s in plan2.calibration.steps] == [("base", 5)]
    assert not plan2.calibration.kept_up
    assert plan2.beam_size == 5 and plan2.model == "base"


def test_calibration_within_budget_changes_nothing():
    plan = make_plan(PROBES["2-core AVX2 laptop"])
    loader = failing_loader([], [], warmups={"base": (0.4,)})
    _, plan2 = start_decoder(plan, DecodingOptions(beam_size=plan.beam_size), loader, OPTS)
    assert len(plan2.calibration.steps) == 1 and plan2.calibration.kept_up
    assert plan2.model == plan.model and plan2.beam_size == plan.beam_size


def test_calibration_without_a_smaller_model_keeps_the_loaded_one():
    dec = FakeDecoder(ModelSpec("base"), DecodingOptions(), (3.0,))
    plan = make_plan(PROBES["2-core AVX2 laptop"])  # language None: base cannot go to tiny.en
    dec2, cal = calibrate(dec, failing_loader([], []), plan.pinned, plan.language, OPTS)
    assert dec2 is dec and not cal.kept_up and len(cal.steps) == 1


# -- the command line ---------------------------------------------------------------------------

def test_info_prints_probe_and_plan():
    r = run_cli("info")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    assert out.startswith("machine\n") and "\nplan\n" in out
    for label in ("device", "compute type", "threads", "model", "beam size", "fallback",
                  "calibration"):
        assert re.search(rf"^  {label}\s", out, re.M), label


def test_verbose_before_the_subcommand():
    """``livescribe -v info``: flags before a subcommand parse (argparse subparsers)."""
    r = run_cli("-v", "info", "--model", "tiny.en")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^  model\s+tiny\.en", r.stdout, re.M)


def test_info_json_parses_and_matches_the_machine():
    r = run_cli("info", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    probe, plan = data["probe"], data["plan"]
    if probe["cuda_device_count"] == 0:
        assert plan["device"] == "cpu"
    assert plan["compute_type"] in probe["cpu_compute_types"] + [
        t for g in probe["gpus"] for t in g["compute_types"]]
    assert plan["fallback"][-1]["compute_type"] == "float32"
    assert set(plan["reasons"]) >= {"device", "compute_type", "cpu_threads", "model",
                                    "beam_size", "best_of"}


def test_info_follows_the_config_file_and_environment(tmp_path):
    """``info`` plans from the same configuration a session uses."""
    cfg = tmp_path / "config.toml"
    cfg.write_text('[model]\nname = "tiny.en"\nbeam_size = 3\n')
    r = run_cli("info", "--json", "--config", str(cfg), env={"LIVESCRIBE_MODEL_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)["plan"]
    assert (plan["model"], plan["beam_size"], plan["cpu_threads"]) == ("tiny.en", 3, 1)
    assert set(plan["pinned"]) == {"model", "beam_size", "cpu_threads"}


def test_info_and_the_server_plan_for_the_task(capsys):
    """``info`` and ``serve`` plan with ``decoding.task`` as a session does: on a slow machine
    translating is planned on a multilingual model (tiny.en refuses to translate)."""
    from streamer.config import Config
    from streamer.serving import ServingEngine
    from tui.cli.commands import info

    slow = PROBES["unknown CPU"]
    assert make_plan(slow).model == "tiny.en"
    config = replace(Config(), decoding=replace(Config().decoding, task="translate"))
    assert info(config, json_out=True, probe_fn=lambda: slow) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["model"] == "base"
    assert ServingEngine(config, machine=slow).plan.model == "base"


def test_info_with_impossible_override_strict_is_exit_78():
    r = run_cli("info", "--device", "cuda", "--strict")
    if json.loads(run_cli("info", "--json").stdout)["probe"]["cuda_device_count"]:
        pytest.skip("this machine has CUDA")
    assert r.returncode == 78
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "cuda" in r.stderr


@pytest.mark.model
def test_impossible_device_falls_back_and_still_captions():
    if json.loads(run_cli("info", "--json").stdout)["probe"]["cuda_device_count"]:
        pytest.skip("this machine has CUDA")
    r = run_cli("--file", JFK_PATH, "--model", "tiny.en", "--speed", "max", "--device", "cuda",
                "--benchmark")
    assert r.returncode == 0, r.stderr
    assert "americans" in r.stdout.lower()
    assert "--device cuda" in r.stderr  # the warning
    assert "benchmark:" in r.stderr and "enc+dec" in r.stderr
    assert "benchmark" not in r.stdout


@pytest.mark.model
def test_the_pipeline_loads_through_the_plan_and_reports_calibration():
    """A real pipeline: ModelReady reflects the plan, and the calibrated plan comes out as a
    PlanReady event before it (the one load path: fallback chain, then calibration)."""
    import math

    from conftest import tiny_config
    from streamer.capture.sources import FileSource
    from streamer.events import ModelReady, PlanReady
    from streamer.pipeline import Pipeline

    config = tiny_config(model=ModelRequest(name="tiny.en", threads=1))
    plan = make_plan(PROBES["2-core AVX2 laptop"], config.model)
    p = Pipeline(config, lambda ring: FileSource(JFK_PATH, ring, speed=math.inf), plan=plan)
    events = list(p.events())
    assert p.error is None
    ready = next(e for e in events if isinstance(e, ModelReady))
    assert (ready.model, ready.device, ready.threads) == ("tiny.en", "cpu", 1)
    # calibration starts at the plan's beam (5 on an int8 CPU); ModelReady reports where it ended
    assert p.plan.calibration.steps[0].beam_size == plan.beam_size == 5
    assert ready.beam_size == p.plan.beam_size
    planned, calibrated = [e for e in events if isinstance(e, PlanReady)]
    assert not planned.calibrated and calibrated.calibrated
    assert events.index(calibrated) < events.index(ready)
    rows = dict(calibrated.rows)
    assert "calibration" in rows and "calibration" not in dict(planned.rows)
    cal = p.plan.calibration
    assert cal is not None and cal.steps and cal.steps[0].model == "tiny.en"
    assert cal.steps[-1].warmup_s == ready.warmup_s > 0
    assert cal.loaded.compute_type == "int8"
