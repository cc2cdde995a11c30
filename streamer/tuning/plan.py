"""The tuning plan: device, compute type, threads, model, beam size, instances, each with a reason.

:func:`make_plan` is a pure function of a :class:`~streamer.tuning.probe.Probe` and the user's
:class:`Overrides`, so plans for machines we do not have (a GPU server, an Apple laptop) are
tested with synthetic probes; docs/tuning.md holds the table those tests check.

The table is a first guess; calibration beats it. :func:`start_decoder`, run by the inference
worker before the first caption, loads the model through the fallback chain
(:func:`load_with_fallback`), times the warm-up decode of a 5 s window and steps down (beam size
first, then model) while that time would not keep up with the segmenter's window cadence. The
plan it returns records what was loaded and measured (:class:`Calibration`).

Memory figures (:data:`MEMORY_TABLE`) say where each comes from: measured here with psutil, or
the faster-whisper README's benchmarks, or scaled from one of those by parameter count.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from streamer.decoding.decoder import DecodingOptions, ModelOptions
from streamer.errors import ExitCode, LivescribeError, ModelError
from streamer.tuning.probe import Probe

logger = logging.getLogger(__name__)

MIB = 2**20

# -- figures the rules use, with their sources --------------------------------------------------

#: Whisper parameter counts in millions (openai/whisper README, "Available models and languages").
PARAMS_M = {"tiny": 39, "base": 74, "small": 244, "medium": 769, "large": 1550, "turbo": 809}

#: Offline models: shipped as PyPI packs (streamer.decoding.models.OFFLINE_MODELS), no hub download.
OFFLINE = ("tiny.en", "base")


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak memory of one loaded, decoding model instance.

    Attributes:
        model: model name (family figures apply to ``*.en`` and ``-v1/-v2/-v3`` variants).
        device: ``"cpu"`` (process RSS) or ``"cuda"`` (GPU memory).
        compute_type: CTranslate2 compute type.
        mib: MiB (2**20 bytes).
        source: where the figure comes from.
    """

    model: str
    device: str
    compute_type: str
    mib: int
    source: str


_HERE = ("measured here (psutil RSS of a fresh process after load and three 5 s warm-up "
         "decodes, faster-whisper 1.2.1 / CTranslate2 4.8.5, 2-core AMD EPYC AVX2; 79 MiB of it "
         "is the Python imports)")
_FW_README = ("faster-whisper README benchmark, commit 00cc7e1 ({}; 13 min of audio, beam 5)")

#: Known figures. Others are scaled from the nearest figure of the same device by parameter count.
MEMORY_TABLE: tuple[MemoryEstimate, ...] = (
    MemoryEstimate("tiny.en", "cpu", "int8", 182, _HERE),
    MemoryEstimate("tiny.en", "cpu", "float32", 281, _HERE),
    MemoryEstimate("base", "cpu", "int8", 239, _HERE),
    MemoryEstimate("base", "cpu", "float32", 435, _HERE),
    MemoryEstimate("small", "cpu", "int8", 995,
                   _FW_README.format("Small model on CPU, max memory, 8 threads Xeon Gold 6226R")),
    MemoryEstimate("small", "cpu", "float32", 1675,
                   _FW_README.format("Small model on CPU, max memory, 8 threads Xeon Gold 6226R")),
    MemoryEstimate("large", "cuda", "float16", 4755,
                   _FW_README.format("Large-v2 on GPU, max GPU memory, Tesla V100S")),
    MemoryEstimate("large", "cuda", "int8_float16", 3091,
                   _FW_README.format("Large-v2 on GPU int8, max GPU memory, Tesla V100S")),
)


def model_family(name: str) -> str | None:
    """``"large"`` for ``large-v3``, ``"base"`` for ``base.en``, ``"turbo"`` for
    ``large-v3-turbo``; None for a path or unknown name."""
    n = name.lower().rsplit("/", 1)[-1]
    if "turbo" in n:
        return "turbo"
    for fam in ("tiny", "base", "small", "medium", "large"):
        if n == fam or n.startswith(fam + ".") or n.startswith(fam + "-") \
                or n.startswith("distil-" + fam):
            return fam
    return None


def estimate_memory(model: str, device: str, compute_type: str) -> MemoryEstimate | None:
    """Peak memory of ``model`` on ``device`` with ``compute_type``, with its source.

    Exact table rows first (by model name, then by family: ``large-v3`` uses the ``large-v2``
    figure, same 1550 M-parameter architecture). Otherwise the nearest figure of the same device
    and weight width (int8* vs 16/32-bit floats) is scaled by the parameter ratio, which is
    crude (fixed overheads do not scale) and says so in ``source``. None for unknown models.
    """
    fam = model_family(model)
    for key in (model, fam):
        for e in MEMORY_TABLE:
            if e.model == key and e.device == device and e.compute_type == compute_type:
                return replace(e, model=model) if key != model else e
    if fam is None:
        return None
    int8 = compute_type.startswith("int8")
    same = [e for e in MEMORY_TABLE if e.device == device and e.compute_type.startswith("int8")
            == int8 and model_family(e.model)]
    if not same:
        return None
    ref = min(same, key=lambda e: abs(math.log(PARAMS_M[model_family(e.model)] / PARAMS_M[fam])))
    # float32 weights take twice float16's bytes; scale a float16 reference accordingly
    width = 2.0 if (compute_type == "float32" and ref.compute_type == "float16") else \
        0.5 if (compute_type in ("float16", "bfloat16") and ref.compute_type == "float32") else 1.0
    mib = int(ref.mib * PARAMS_M[fam] / PARAMS_M[model_family(ref.model)] * width)
    return MemoryEstimate(model, device, compute_type, mib,
                          f"scaled by parameter count ({PARAMS_M[fam]} M vs "
                          f"{PARAMS_M[model_family(ref.model)]} M) from {ref.model} "
                          f"{ref.device}/{ref.compute_type} {ref.mib} MiB: {ref.source}")


#: Models auto may pick on CUDA, largest first (all but base are hub downloads).
CUDA_LADDER = ("large-v3", "medium", "small", "base")
#: Fraction of GPU memory a plan may fill; the rest is for the CUDA context, cuDNN workspaces
#: and a desktop sharing the card (our choice, not measured: no GPU was available).
GPU_USABLE_FRACTION = 0.8
#: float16 is chosen when the model's float16 figure fits in this fraction of GPU memory, else
#: int8_float16 halves the weights (our choice; upstream int8 vs fp16 speed differs by 10 %,
#: faster-whisper README large-v2: 59 s vs 54 s).
GPU_FLOAT16_FRACTION = 0.5
#: Fraction of available RAM a CPU plan may fill (the rest: capture, UI, the user's other work).
RAM_USABLE_FRACTION = 0.5
#: Most intra-op threads for the live worker: the thread count of faster-whisper's published
#: CPU benchmark (8 threads); not measured beyond 2 cores here.
MAX_LIVE_THREADS = 8
#: Threads per instance in server/batch use: CTranslate2's default intra_threads
#: (CTranslate2 docs, parallel.md: "the default value is 4").
BATCH_THREADS_PER_INSTANCE = 4
#: Physical (on Apple Silicon: performance) cores from which a CPU plan starts at beam 5,
#: faster-whisper's default beam; our guess, checked by calibration at start-up.
BEAM5_MIN_CORES = 8


# -- overrides and the plan ---------------------------------------------------------------------

@dataclass(frozen=True)
class Overrides:
    """What the user pinned on the command line; ``"auto"``/None leave the choice to the plan.

    Attributes:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        compute_type: ``"auto"`` or a CTranslate2 compute type.
        threads: CPU intra-op threads, or None/0 for the plan's choice.
        beam_size: beam size, or None for the plan's choice.
        model: ``"auto"`` or a model name/path.
        language: ISO 639-1 code or None; English-only models are chosen only for ``en``/None.
        strict: an impossible override is an error (exit 78) instead of a fallback.
    """

    device: str = "auto"
    compute_type: str = "auto"
    threads: int | None = None
    beam_size: int | None = None
    model: str = "auto"
    language: str | None = None
    strict: bool = False


@dataclass(frozen=True)
class LoadAttempt:
    """One step of the fallback chain: a model on a device with a compute type.

    Attributes:
        model: model name or path.
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type.
        cpu_threads: intra-op threads (0 = CTranslate2's default).
        why: why this step is in the chain (``"planned"``, ``"safer GPU type"``...).
    """

    model: str
    device: str
    compute_type: str
    cpu_threads: int
    why: str

    def describe(self) -> str:
        """E.g. ``"base on cpu/int8"``."""
        return f"{self.model} on {self.device}/{self.compute_type}"


@dataclass(frozen=True)
class CalibrationStep:
    """One timed warm-up: ``warmup_s`` wall seconds to decode a ``window_s`` window."""

    model: str
    beam_size: int
    warmup_s: float


@dataclass(frozen=True)
class Calibration:
    """What the worker measured at start-up and what it changed.

    Attributes:
        window_s: seconds of audio in the warm-up window (5 s, a typical utterance).
        cadence_s: seconds between window ends we plan for at the fastest (3 s).
        margin: required ratio of cadence to warm-up time (2: a real speech window decoded
            1.4-1.9x slower than the noise warm-up here, see docs/tuning.md).
        budget_s: ``cadence_s / margin``, the most a warm-up may take.
        steps: every timed warm-up, in order.
        kept_up: the last warm-up was within budget.
        loaded: the fallback-chain step that loaded.
        failures: fallback-chain steps that failed before it, with the error.
    """

    window_s: float
    cadence_s: float
    margin: float
    budget_s: float
    steps: tuple[CalibrationStep, ...]
    kept_up: bool
    loaded: LoadAttempt | None = None
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The settings for this machine, each with the reason it was chosen.

    Attributes:
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type.
        cpu_threads: intra-op threads for CTranslate2 (0 = its default, 4).
        model: model name or path to load.
        beam_size: decoding beam size (1 = greedy).
        best_of: candidates sampled at temperature > 0; always 1 (we decode at temperature 0).
        instances: model instances that fit for server/batch use (live captioning uses one).
        memory_mib: estimated peak memory of one instance, MiB (None: unknown model).
        memory_source: where ``memory_mib`` comes from.
        reasons: ``(setting, reason)`` pairs, one per setting above.
        pinned: settings the user fixed (calibration does not change them).
        warnings: impossible overrides and other doubts, one line each.
        impossible: the subset of ``warnings`` that ``--strict`` turns into an error.
        fallback: the load chain, first step = the plan itself.
        strict: no fallback: the first failed load is an error.
        language: language the session was asked for (None: detect).
        calibration: what start-up measured, once :func:`start_decoder` ran.
    """

    device: str
    compute_type: str
    cpu_threads: int
    model: str
    beam_size: int
    best_of: int
    instances: int
    memory_mib: int | None
    memory_source: str
    reasons: tuple[tuple[str, str], ...]
    pinned: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    impossible: tuple[str, ...] = ()
    fallback: tuple[LoadAttempt, ...] = ()
    strict: bool = False
    language: str | None = None
    calibration: Calibration | None = None

    def reason(self, setting: str) -> str:
        """The reason given for ``setting`` (``"device"``, ``"model"``...)."""
        return dict(self.reasons).get(setting, "")

    def model_options(self) -> ModelOptions:
        """The :class:`ModelOptions` this plan loads with."""
        return ModelOptions(device=self.device, compute_type=self.compute_type,
                            cpu_threads=self.cpu_threads)

    def rows(self) -> dict[str, str]:
        """Label -> value, for display (the TUI's device panel, ``livescribe info``)."""
        mem = f" (~{self.memory_mib} MiB)" if self.memory_mib else ""
        rows = {
            "device": self.device,
            "compute type": self.compute_type,
            "threads": str(self.cpu_threads or "default"),
            "model": f"{self.model}{mem}",
            "beam size": str(self.beam_size),
            "best of": str(self.best_of),
            "instances": str(self.instances),
        }
        c = self.calibration
        if c is not None and c.steps:
            last = c.steps[-1]
            rows["calibration"] = (f"{last.warmup_s:.2f} s per {c.window_s:g} s window "
                                   f"(budget {c.budget_s:.2f} s): "
                                   f"{'keeps up' if c.kept_up else 'too slow'}")
        return rows

    def to_dict(self) -> dict:
        """JSON-ready data (``reasons`` as a mapping)."""
        d = asdict(self)
        d["reasons"] = dict(self.reasons)
        return d


def _gib(n_bytes: int | None) -> str:
    return "?" if n_bytes is None else f"{n_bytes / 2**30:.1f} GiB"


def _cpu_cores(p: Probe) -> int | None:
    return p.physical_cores or p.logical_cores


def _cpu_threads(p: Probe, ov: Overrides, device: str) -> tuple[int, str]:
    if ov.threads:
        return ov.threads, "--threads"
    cores = _cpu_cores(p)
    gpu_note = ("; on CUDA CTranslate2 runs 1 intra-op thread (CTranslate2 1.10.1 release "
                "notes), these serve a CPU fallback") if device == "cuda" else ""
    if cores is None:
        return 0, "core count unknown: CTranslate2's default (4 intra-op threads)" + gpu_note
    if p.apple_silicon and p.performance_cores:
        n = max(1, min(p.performance_cores, MAX_LIVE_THREADS))
        return n, (f"{p.performance_cores} performance cores of {cores}: efficiency cores left "
                   f"for capture and UI (cap {MAX_LIVE_THREADS})" + gpu_note)
    n = max(1, min(cores - 1, MAX_LIVE_THREADS))
    what = "physical" if p.physical_cores else "logical"
    return n, (f"{cores} {what} cores minus one for capture, VAD and UI "
               f"(at least 1, at most {MAX_LIVE_THREADS}: faster-whisper's benchmark thread "
               f"count)" + gpu_note)


def _english_ok(language: str | None) -> bool:
    return language in (None, "en")


def _cpu_model(p: Probe, compute_type: str, language: str | None) -> tuple[str, str]:
    """Offline model for the CPU (auto never downloads on CPU)."""
    cores = _cpu_cores(p)
    fast_simd = {"avx512f", "avx2", "asimd", "neon"} & set(p.simd)
    avail = p.ram_available_bytes
    base = estimate_memory("base", "cpu", compute_type)
    base_fits = avail is None or base is None or base.mib * MIB <= avail * RAM_USABLE_FRACTION
    slow = []
    if cores is None or cores < 2:
        slow.append(f"{cores or 'unknown'} core(s)")
    if not fast_simd:
        slow.append("no AVX2/AVX-512/NEON found")
    if not compute_type.startswith("int8"):
        slow.append(f"{compute_type} (no int8)")
    if not base_fits:
        slow.append(f"base needs ~{base.mib} MiB, over half of {_gib(avail)} available")
    if not slow:
        return "base", (f"base: {cores} cores, {'/'.join(sorted(fast_simd))}, {compute_type}; even 2 "
                        f"AVX2 cores decode a 5 s speech window in ~0.5 s, 6x inside the 3 s "
                        f"window cadence (measured, docs/tuning.md); larger models are hub "
                        f"downloads: pass --model small")
    if _english_ok(language):
        return "tiny.en", (f"tiny.en: {', '.join(slow)}; it decodes 1.7x faster than base "
                           f"(measured, docs/tuning.md); English only: pass --model base "
                           f"for other languages")
    return "base", (f"base: language {language!r} needs a multilingual model though "
                    f"{', '.join(slow)}; calibration will warn if it cannot keep up")


def _cuda_choices(p: Probe, ov: Overrides, warnings: list[str], impossible: list[str]
                  ) -> tuple[str, str, str, str]:
    """``(model, model reason, compute type, compute type reason)`` on the first GPU."""
    gpu = p.gpus[0] if p.gpus else None
    mem = gpu.memory_mib if gpu else None
    usable = mem * GPU_USABLE_FRACTION if mem else None
    supported = set(gpu.compute_types) if gpu else set()
    if ov.model != "auto":
        model, model_reason = ov.model, "--model"
    elif usable is None:
        model, model_reason = "base", "GPU memory unknown: base, the larger offline model"
    else:
        model, model_reason = CUDA_LADDER[-1], "no larger model fits"
        for m in CUDA_LADDER:
            e = estimate_memory(m, "cuda", "int8_float16")
            if e and e.mib <= usable:
                hub = "" if m in OFFLINE else " (hub download on first use; base if offline)"
                model_reason = (f"largest that fits: ~{e.mib} MiB in int8_float16 within "
                                f"{GPU_USABLE_FRACTION:.0%} of {mem} MiB{hub}")
                model = m
                break

    def ok(t: str) -> bool:
        return t in supported if supported else True  # unknown: let the load decide

    if ov.compute_type != "auto":
        if ok(ov.compute_type):
            return model, model_reason, ov.compute_type, "--compute-type"
        msg = (f"--compute-type {ov.compute_type} is not supported on "
               f"{gpu.name if gpu and gpu.name else 'this GPU'} (supported: "
               f"{', '.join(sorted(supported))})")
        warnings.append(msg)
        impossible.append(msg)
    f16 = estimate_memory(model, "cuda", "float16")
    if ok("float16") and f16 and mem and f16.mib <= mem * GPU_FLOAT16_FRACTION:
        return model, model_reason, "float16", (
            f"float16 (~{f16.mib} MiB) fits in {GPU_FLOAT16_FRACTION:.0%} of {mem} MiB")
    if ok("int8_float16"):
        why = (f"float16 would take ~{f16.mib} MiB, over {GPU_FLOAT16_FRACTION:.0%} of "
               f"{mem} MiB" if f16 and mem else "GPU memory unknown")
        return model, model_reason, "int8_float16", (
            f"int8_float16 halves the weights: {why} (needs compute capability >= 7.0, "
            f"CTranslate2 2.3.0 release notes)")
    for t in ("float16", "int8", "float32"):
        if ok(t):
            return model, model_reason, t, f"{t}: int8_float16 not supported by this GPU"
    return model, model_reason, "float32", "float32: the GPU lists no other type"


def _cpu_compute_type(p: Probe, ov: Overrides, warnings: list[str], impossible: list[str]
                      ) -> tuple[str, str]:
    supported = set(p.cpu_compute_types)
    if ov.compute_type != "auto":
        if not supported or ov.compute_type in supported:
            return ov.compute_type, "--compute-type"
        msg = (f"--compute-type {ov.compute_type} is not supported on this CPU (supported: "
               f"{', '.join(sorted(supported))})")
        warnings.append(msg)
        impossible.append(msg)
    if "int8" in supported:
        return "int8", ("int8: supported here, 4x smaller weights than float32 and faster "
                        "(faster-whisper README, small on CPU: int8 2m04s/995 MB vs fp32 "
                        "2m44s/1675 MB)")
    if supported:
        return "float32", "float32: this CPU's CTranslate2 build lacks int8"
    return "float32", "compute types unknown: float32 runs on every CTranslate2 build"


def make_plan(probe: Probe, overrides: Overrides = Overrides()) -> Plan:
    """Choose settings for ``probe``'s machine, honouring ``overrides``.

    Pure: no I/O, no clock. Rules and their sources are in docs/tuning.md, "Hardware plan".

    Returns:
        The plan; impossible overrides are replaced by the automatic choice and listed in
        ``warnings``/``impossible`` (``--strict`` makes them an error, see :func:`check_strict`).
    """
    p, ov = probe, overrides
    warnings: list[str] = []
    impossible: list[str] = []
    reasons: dict[str, str] = {}
    pinned = [k for k, v in (("device", ov.device != "auto"),
                             ("compute_type", ov.compute_type != "auto"),
                             ("cpu_threads", bool(ov.threads)),
                             ("beam_size", ov.beam_size is not None),
                             ("model", ov.model != "auto")) if v]

    # device
    cuda = p.cuda_device_count > 0
    gpu = p.gpus[0] if p.gpus else None
    gpu_desc = (f"{gpu.name or 'GPU'}, {gpu.memory_mib or '?'} MiB, compute capability "
                f"{gpu.compute_capability or '?'}") if gpu else ""
    if ov.device == "cuda" and not cuda:
        msg = "--device cuda: CTranslate2 sees no CUDA device here"
        if p.gpus:
            msg += " (a GPU is listed but the CUDA runtime cannot use it)"
        warnings.append(msg)
        impossible.append(msg)
        device = "cpu"
        reasons["device"] = "cpu: no CUDA device for CTranslate2 (--device cuda impossible)"
    elif ov.device == "cpu":
        device, reasons["device"] = "cpu", "--device cpu"
    elif cuda:
        device = "cuda"
        reasons["device"] = (f"--device cuda: {gpu_desc}" if ov.device == "cuda" else
                             f"CTranslate2 sees {p.cuda_device_count} CUDA device(s): {gpu_desc}")
    else:
        device = "cpu"
        why = "no CUDA device visible to CTranslate2"
        if p.apple_silicon:
            why += (f"; Apple {p.apple_silicon}: MPS "
                    f"{'available' if p.mps_available else 'not used' if p.mps_available is False else 'unknown'}"
                    f", but CTranslate2 has no Metal/MPS backend, so it runs on the CPU "
                    f"(NEON/Accelerate)")
        reasons["device"] = why

    # compute type and model
    if device == "cuda":
        model, reasons["model"], compute, reasons["compute_type"] = _cuda_choices(
            p, ov, warnings, impossible)
    else:
        compute, reasons["compute_type"] = _cpu_compute_type(p, ov, warnings, impossible)
        if ov.model == "auto":
            model, reasons["model"] = _cpu_model(p, compute, ov.language)
        else:
            model, reasons["model"] = ov.model, "--model"
    threads, reasons["cpu_threads"] = _cpu_threads(p, ov, device)

    # beam size and best_of
    if ov.beam_size is not None:
        beam, reasons["beam_size"] = ov.beam_size, "--beam-size"
    elif device == "cuda":
        beam, reasons["beam_size"] = 5, ("5: faster-whisper's default, used in its GPU "
                                         "benchmarks; calibration drops to 1 if the warm-up "
                                         "is over budget")
    elif (p.performance_cores or p.physical_cores or 0) >= BEAM5_MIN_CORES \
            and compute.startswith("int8"):
        beam, reasons["beam_size"] = 5, (f"5: {p.performance_cores or p.physical_cores} "
                                         f"{'performance' if p.performance_cores else 'physical'}"
                                         f" cores to spare "
                                         f"(>= {BEAM5_MIN_CORES}); calibration drops to 1 if "
                                         f"the warm-up is over budget")
    else:
        beam, reasons["beam_size"] = 1, ("1 (greedy): beam 5 costs ~1.25x per 5 s window on "
                                         "2 cores (measured, docs/tuning.md); latency first")
    reasons["best_of"] = ("1: decoding is at temperature 0, and best_of only counts samples "
                          "drawn at temperature > 0 (openai/whisper DecodingOptions)")

    # memory and instances
    est = estimate_memory(model, device, compute)
    if device == "cuda":
        per_gpu = [g.memory_mib for g in p.gpus[:max(1, p.cuda_device_count)] if g.memory_mib]
        if est and per_gpu:
            n = sum(max(0, int(m * GPU_USABLE_FRACTION // est.mib)) for m in per_gpu)
            instances = max(1, n)
            reasons["instances"] = (f"{instances}: ~{est.mib} MiB each within "
                                    f"{GPU_USABLE_FRACTION:.0%} of {len(per_gpu)} GPU(s) "
                                    f"({', '.join(f'{m} MiB' for m in per_gpu)})")
        else:
            instances, reasons["instances"] = 1, "1: GPU memory or model size unknown"
    else:
        cores = p.physical_cores or p.logical_cores
        by_cores = max(1, (cores or 1) // BATCH_THREADS_PER_INSTANCE)
        if est and p.ram_available_bytes:
            by_ram = max(1, int(p.ram_available_bytes * RAM_USABLE_FRACTION // (est.mib * MIB)))
        else:
            by_ram = 1
        instances = min(by_cores, by_ram)
        reasons["instances"] = (
            f"{instances}: min of {cores or '?'} cores / {BATCH_THREADS_PER_INSTANCE} threads "
            f"each (CTranslate2's default intra_threads) = {by_cores} and "
            f"{RAM_USABLE_FRACTION:.0%} of {_gib(p.ram_available_bytes)} available / "
            f"~{est.mib if est else '?'} MiB = {by_ram}")

    plan = Plan(device=device, compute_type=compute, cpu_threads=threads, model=model,
                beam_size=beam, best_of=1, instances=instances,
                memory_mib=est.mib if est else None,
                memory_source=est.source if est else "unknown model: no estimate",
                reasons=tuple(reasons.items()),
                pinned=tuple(pinned), warnings=tuple(warnings), impossible=tuple(impossible),
                strict=ov.strict, language=ov.language)
    cpu_model = model if ov.model != "auto" else _cpu_model(
        p, "int8" if "int8" in p.cpu_compute_types else "float32", ov.language)[0]
    return replace(plan, fallback=fallback_chain(plan, cpu_model))


#: The "safer" GPU compute type tried after each one fails (less memory, or wider support).
SAFER_GPU_TYPE = {"float16": "int8_float16", "bfloat16": "float16",
                  "int8_bfloat16": "int8_float16", "int8_float16": "int8", "int8": "float32",
                  "int8_float32": "float32"}


def fallback_chain(plan: Plan, cpu_model: str) -> tuple[LoadAttempt, ...]:
    """The load chain: planned → safer GPU type → (offline base on GPU) → CPU int8 → CPU float32.

    Args:
        plan: the plan (its first step).
        cpu_model: the model for the CPU steps (the CPU plan's choice when the model is auto).

    Returns:
        Distinct steps, ending with CPU float32, which every CTranslate2 build runs.
    """
    steps = [LoadAttempt(plan.model, plan.device, plan.compute_type, plan.cpu_threads, "planned")]
    if plan.device == "cuda":
        safer = SAFER_GPU_TYPE.get(plan.compute_type)
        if safer:
            steps.append(LoadAttempt(plan.model, "cuda", safer, plan.cpu_threads,
                                     "safer GPU type"))
        if "model" not in plan.pinned and plan.model not in OFFLINE:
            steps.append(LoadAttempt("base", "cuda", safer or plan.compute_type,
                                     plan.cpu_threads, "offline model on the GPU"))
    if not (plan.device == "cpu" and plan.compute_type == "float32"):  # float32: int8 unsupported
        steps.append(LoadAttempt(cpu_model, "cpu", "int8", plan.cpu_threads, "CPU int8"))
    steps.append(LoadAttempt(cpu_model, "cpu", "float32", plan.cpu_threads, "CPU float32"))
    out: list[LoadAttempt] = []
    for s in steps:
        if not any((s.model, s.device, s.compute_type) == (o.model, o.device, o.compute_type)
                   for o in out):
            out.append(s)
    return tuple(out)


def check_strict(plan: Plan) -> None:
    """With ``--strict``, an impossible override is an error.

    Raises:
        LivescribeError: exit 78 (``ExitCode.CONFIG``), one line.
    """
    if plan.strict and plan.impossible:
        raise LivescribeError(f"{plan.impossible[0]} (--strict: no fallback)", ExitCode.CONFIG)


# -- loading with fallback, and calibration -----------------------------------------------------

#: ``loader(resolved_model, model_options, decoding_options) -> decoder``; WindowDecoder by default.
Loader = Callable[..., object]


def _default_loader(resolved, model_options: ModelOptions, decoding: DecodingOptions):
    from streamer.decoding.decoder import WindowDecoder

    return WindowDecoder(resolved, model_options, decoding)


def _device_problem(exc: LivescribeError) -> bool:
    """True when ``exc`` says the device or compute type failed (another type/device may work)."""
    if exc.exit_code == ExitCode.CONFIG:
        return True
    return isinstance(exc, ModelError) and str(exc).startswith("cannot load model")


def load_with_fallback(attempts: tuple[LoadAttempt, ...], decoding: DecodingOptions,
                       loader: Loader | None = None, strict: bool = False,
                       resolve: Callable[[str], object] | None = None):
    """Load the first step of ``attempts`` that works.

    A step failing on its device or compute type (exit 78, or a CTranslate2 runtime error such
    as a missing CUDA driver) moves on to the next step with a warning on stderr. A step failing
    for its model (missing pack, failed download, English-only model for another language)
    skips the later steps with the same model. The last failure is raised if none loads.

    Args:
        attempts: the chain (:attr:`Plan.fallback`).
        decoding: decoding options given to every step.
        loader: builds a decoder; :class:`~streamer.decoding.decoder.WindowDecoder` by default (tests
            inject a failing one).
        strict: raise on the first failure (device problems as exit 78).
        resolve: model name -> resolved model (:func:`streamer.decoding.models.resolve_model`).

    Returns:
        ``(decoder, the step that loaded, failures as "step: error" lines)``.
    """
    if loader is None:
        loader = _default_loader
    if resolve is None:
        from streamer.decoding.models import resolve_model as resolve
    failures: list[str] = []
    bad_models: set[str] = set()
    last: LivescribeError | None = None
    todo = list(attempts)
    for i, a in enumerate(todo):
        if a.model in bad_models:
            continue
        try:
            decoder = loader(resolve(a.model),
                             ModelOptions(a.device, a.compute_type, a.cpu_threads), decoding)
        except LivescribeError as exc:
            last = exc
            failures.append(f"{a.describe()}: {exc}")
            device = _device_problem(exc)
            if strict:
                if device:
                    raise LivescribeError(f"cannot load {a.describe()}: {exc} "
                                          f"(--strict: no fallback)", ExitCode.CONFIG) from None
                raise
            if not device:
                bad_models.add(a.model)
            nxt = next((b for b in todo[i + 1:] if b.model not in bad_models), None)
            if nxt is not None:
                logger.warning("cannot load %s (%s); falling back to %s", a.describe(), exc,
                               nxt.describe())
            continue
        if failures:
            logger.warning("loaded %s after %d failed attempt(s)", a.describe(), len(failures))
        return decoder, a, tuple(failures)
    assert last is not None, "empty fallback chain"
    raise last


#: Smaller model of the same kind, for calibration's model step-down.
SMALLER = {"large-v3": "medium", "large-v2": "medium", "large-v1": "medium", "large": "medium",
           "large-v3-turbo": "small", "turbo": "small", "distil-large-v3": "small",
           "distil-large-v2": "small", "medium": "small", "small": "base", "base": "tiny",
           "medium.en": "small.en", "small.en": "base.en", "base.en": "tiny.en",
           "distil-medium.en": "base.en", "distil-small.en": "tiny.en"}


def step_down_model(model: str, language: str | None) -> str | None:
    """The next smaller model calibration may switch to, or None.

    An offline model steps down only to an offline model (no surprise download at start-up):
    ``base`` goes to ``tiny.en`` when the language is English, else nowhere. Where the next
    size down is ``base.en`` (a download), the offline ``base`` is taken instead.
    """
    if model in OFFLINE:
        return "tiny.en" if model == "base" and language == "en" else None
    smaller = SMALLER.get(model)
    if smaller is None:
        return None
    if smaller == "base.en":
        return "base"  # offline, and multilingual base transcribes English too
    return smaller


@dataclass(frozen=True)
class CalibrationOptions:
    """How start-up calibration judges speed.

    Attributes:
        window_s: warm-up window, seconds (5 s, a typical utterance of meeting speech).
        cadence_s: fastest window cadence planned for, seconds (3 s: two short utterances a
            few words long each, back to back).
        margin: cadence / warm-up time required. 2 because a 5 s speech window decoded 1.4-1.9x
            slower than the 5 s noise warm-up here (docs/tuning.md), and the segmenter and
            capture need CPU too.
    """

    window_s: float = 5.0
    cadence_s: float = 3.0
    margin: float = 2.0

    @property
    def budget_s(self) -> float:
        """Most seconds a warm-up decode may take: ``cadence_s / margin``."""
        return self.cadence_s / self.margin


def calibrate(decoder, plan: Plan, loader: Loader | None = None,
              resolve: Callable[[str], object] | None = None,
              options: CalibrationOptions = CalibrationOptions()):
    """Time warm-ups and step down until one fits the budget or nothing is left to step.

    Beam size steps to 1 first (unless pinned), then the model steps down
    (:func:`step_down_model`, unless pinned). Each step is one more warm-up.

    Returns:
        ``(decoder, Calibration)``; the decoder may be a new, smaller one.
    """
    if loader is None:
        loader = _default_loader
    if resolve is None:
        from streamer.decoding.models import resolve_model as resolve
    steps: list[CalibrationStep] = []

    def time_it(d) -> float:
        s = d.warm_up(options.window_s)
        steps.append(CalibrationStep(d.resolved.name, d.options.beam_size, s))
        logger.info("calibration: %s beam %d: warm-up %.2f s per %g s window (budget %.2f s)",
                    d.resolved.name, d.options.beam_size, s, options.window_s, options.budget_s)
        return s

    warm = time_it(decoder)
    while warm > options.budget_s:
        if decoder.options.beam_size > 1 and "beam_size" not in plan.pinned:
            decoder.options = replace(decoder.options, beam_size=1)
            warm = time_it(decoder)
            continue
        smaller = None if "model" in plan.pinned else step_down_model(
            decoder.resolved.name, plan.language)
        if smaller is None:
            break
        try:
            decoder = loader(resolve(smaller), decoder.model_options, decoder.options)
        except LivescribeError as exc:
            logger.warning("calibration: cannot load %s (%s); keeping %s", smaller, exc,
                           decoder.resolved.name)
            break
        warm = time_it(decoder)
    kept_up = warm <= options.budget_s
    if not kept_up:
        logger.warning("%s decodes a %g s window in %.2f s, over the %.2f s budget for a %g s "
                       "cadence: captions may fall behind", decoder.resolved.name,
                       options.window_s, warm, options.budget_s, options.cadence_s)
    return decoder, Calibration(window_s=options.window_s, cadence_s=options.cadence_s,
                                margin=options.margin, budget_s=options.budget_s,
                                steps=tuple(steps), kept_up=kept_up)


def start_decoder(plan: Plan, decoding: DecodingOptions, loader: Loader | None = None,
                  resolve: Callable[[str], object] | None = None,
                  options: CalibrationOptions = CalibrationOptions()):
    """Load through the fallback chain, then calibrate. Run by the worker before any caption.

    Returns:
        ``(decoder, plan)``: the plan updated with what loaded and what was measured.

    Raises:
        LivescribeError: nothing in the chain loads, or ``--strict`` and a step failed.
    """
    decoder, step, failures = load_with_fallback(plan.fallback, decoding, loader, plan.strict,
                                                 resolve)
    decoder, cal = calibrate(decoder, plan, loader, resolve, options)
    cal = replace(cal, loaded=step, failures=failures)
    return decoder, replace(plan, model=decoder.resolved.name, device=step.device,
                            compute_type=step.compute_type, beam_size=decoder.options.beam_size,
                            calibration=cal)


# -- command line: the override flags and `livescribe info` -------------------------------------

def _threads(text: str) -> int:
    if text == "auto":
        return 0
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"threads must be an integer >= 0 or 'auto', not {text!r}")
    if n < 0:
        raise argparse.ArgumentTypeError("threads must be >= 0 (0 = auto)")
    return n


def _beam(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"beam size must be an integer >= 1 or 'auto', not {text!r}")
    if n < 1:
        raise argparse.ArgumentTypeError("beam size must be >= 1")
    return n


def add_arguments(group) -> None:
    """Add ``--model --device --compute-type --threads --beam-size --strict`` to ``group``
    (shared by the captioning command and ``livescribe info``)."""
    group.add_argument("--model", "-m", default="auto",
                       help="auto (default: the plan's choice, see 'livescribe info'), tiny.en "
                            "or base (offline, bundled), a CTranslate2 model directory, or a "
                            "faster-whisper name to download")
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                       help="inference device (default auto: CUDA when CTranslate2 sees a GPU)")
    group.add_argument("--compute-type", default="auto",
                       help="CTranslate2 compute type: int8, float32, float16, int8_float16... "
                            "(default auto)")
    group.add_argument("--threads", type=_threads, default=0,
                       help="CPU threads for inference (default auto)")
    group.add_argument("--beam-size", type=_beam, default=None,
                       help="beam size, 1 = greedy (default auto)")
    group.add_argument("--strict", action="store_true",
                       help="an impossible device/compute type is an error (exit 78) instead of "
                            "a fallback")


def overrides_from_args(args: argparse.Namespace) -> Overrides:
    """The :class:`Overrides` given by parsed :func:`add_arguments` flags."""
    return Overrides(device=args.device, compute_type=args.compute_type,
                     threads=args.threads or None, beam_size=args.beam_size, model=args.model,
                     language=getattr(args, "language", None), strict=args.strict)


def plan_from_args(args: argparse.Namespace, probe_fn: Callable[[], Probe] | None = None) -> Plan:
    """Probe the machine and plan with the command line's overrides.

    Logs the warnings on stderr, and the plan at ``-v``.

    Raises:
        LivescribeError: ``--strict`` and an impossible override (exit 78).
    """
    from streamer.tuning.probe import probe

    plan = make_plan((probe_fn or probe)(), overrides_from_args(args))
    check_strict(plan)
    for w in plan.warnings:
        logger.warning("%s; using %s", w, f"{plan.model} on {plan.device}/{plan.compute_type}")
    for key, value in plan.rows().items():
        logger.info("plan: %-12s %s", key, value)
    return plan


def format_info(p: Probe, plan: Plan) -> str:
    """``livescribe info`` as human-readable text."""
    lines = ["machine"]

    def row(label: str, value: str, why: str = "") -> None:
        lines.append(f"  {label:<14}{value}" + (f"\n  {'':<14}  {why}" if why else ""))

    row("os", f"{p.os} {p.os_release} ({p.arch})")
    cores = f"{p.physical_cores or '?'} physical / {p.logical_cores or '?'} logical cores"
    if p.performance_cores:
        cores += f", {p.performance_cores} performance"
    row("cpu", f"{p.cpu_brand}: {cores}")
    row("simd", " ".join(p.simd) or "unknown")
    row("memory", f"{_gib(p.ram_total_bytes)} total, {_gib(p.ram_available_bytes)} available")
    if p.gpus:
        for g in p.gpus:
            row(f"gpu {g.index}", f"{g.name or '?'}, {g.memory_mib or '?'} MiB, compute "
                                  f"capability {g.compute_capability or '?'} ({g.source})")
    row("cuda", f"{p.cuda_device_count} device(s) usable by CTranslate2")
    if p.apple_silicon:
        mps = {True: "available", False: "not available", None: "unknown"}[p.mps_available]
        row("apple silicon", f"{p.apple_silicon}, MPS {mps}")
    row("compute types", f"cpu: {' '.join(p.cpu_compute_types) or 'unknown'}"
        + "".join(f"; cuda:{g.index}: {' '.join(g.compute_types) or 'unknown'}" for g in p.gpus))
    for n in p.notes:
        row("note", n)
    lines.append("plan")
    keys = {"device": "device", "compute type": "compute_type", "threads": "cpu_threads",
            "model": "model", "beam size": "beam_size", "best of": "best_of",
            "instances": "instances"}
    for label, value in plan.rows().items():
        row(label, value, plan.reason(keys.get(label, "")))
    row("memory from", plan.memory_source)
    row("fallback", " -> ".join(a.describe() for a in plan.fallback))
    c = CalibrationOptions()
    if plan.calibration is None:
        row("calibration", f"at start-up: a {c.window_s:g} s warm-up must decode within "
                           f"{c.budget_s:.2f} s ({c.cadence_s:g} s cadence / margin "
                           f"{c.margin:g}), else beam, then model, step down")
    for w in plan.warnings:
        row("warning", w)
    return "\n".join(lines) + "\n"


def info_main(argv: list[str], probe_fn: Callable[[], Probe] | None = None) -> int:
    """``livescribe info [--json] [overrides]``: the probe and the plan on stdout."""
    from streamer.tuning.probe import probe

    ap = argparse.ArgumentParser(prog="livescribe info",
                                 description="Print what this machine offers and the settings "
                                             "livescribe would use, with reasons.")
    ap.add_argument("--json", action="store_true", help="one JSON object for machines")
    ap.add_argument("--language", "-l", default=None, help="language the session will use")
    add_arguments(ap)
    args = ap.parse_args(argv)
    pr = (probe_fn or probe)()
    plan = make_plan(pr, overrides_from_args(args))
    check_strict(plan)
    if args.json:
        json.dump({"probe": pr.to_dict(), "plan": plan.to_dict()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_info(pr, plan))
    return ExitCode.OK
