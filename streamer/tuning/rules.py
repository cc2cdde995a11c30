"""The rules of the tuning plan, one function per setting, each returning its choice and the
reason for it; their figures carry their sources (docs/tuning.md, "The rules and where they
come from"). :func:`streamer.tuning.plan.make_plan` puts them together.
"""

from __future__ import annotations

from streamer.config.schema import ModelRequest
from streamer.tuning.calibration import OFFLINE
from streamer.tuning.memory import MIB, estimate_memory
from streamer.tuning.probe import Probe

# -- figures the rules use, with their sources --------------------------------------------------

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





def gib(n_bytes: int | None) -> str:
    """Bytes as ``"3.5 GiB"`` (``"?"`` when unknown)."""
    return "?" if n_bytes is None else f"{n_bytes / 2**30:.1f} GiB"


def cpu_cores(p: Probe) -> int | None:
    """Physical cores, else logical ones, else None (unknown)."""
    return p.physical_cores or p.logical_cores


def cpu_threads(p: Probe, ov: ModelRequest, device: str) -> tuple[int, str]:
    """``(intra-op threads, reason)``: cores minus one (Apple: the performance cores), at least
    1, at most :data:`MAX_LIVE_THREADS`; 0 (CTranslate2's default) when cores are unknown."""
    if ov.threads:
        return ov.threads, "--threads"
    cores = cpu_cores(p)
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


def english_ok(language: str | None, task: str = "transcribe") -> bool:
    """True when an English-only model may serve ``language`` (``en`` or detect) and ``task``
    (only ``transcribe``: English-only models cannot translate)."""
    return language in (None, "en") and task == "transcribe"


def cpu_model(p: Probe, compute_type: str, language: str | None,
              task: str = "transcribe") -> tuple[str, str]:
    """Offline model for the CPU (auto never downloads on CPU); multilingual for another
    language than English or for ``task`` translate."""
    cores = cpu_cores(p)
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
        slow.append(f"base needs ~{base.mib} MiB, over half of {gib(avail)} available")
    if not slow:
        return "base", (f"base: {cores} cores, {'/'.join(sorted(fast_simd))}, {compute_type}; even 2 "
                        f"AVX2 cores decode a 5 s speech window in ~0.5 s, 6x inside the 3 s "
                        f"window cadence (measured, docs/tuning.md); larger models are hub "
                        f"downloads: pass --model small")
    if english_ok(language, task):
        return "tiny.en", (f"tiny.en: {', '.join(slow)}; it decodes 1.7x faster than base "
                           f"(measured, docs/tuning.md); English only: pass --model base "
                           f"for other languages")
    need = f"language {language!r}" if task == "transcribe" else "--task translate"
    return "base", (f"base: {need} needs a multilingual model though "
                    f"{', '.join(slow)}; calibration will warn if it cannot keep up")


def cuda_choices(p: Probe, ov: ModelRequest, warnings: list[str], impossible: list[str]
                  ) -> tuple[str, str, str, str]:
    """``(model, model reason, compute type, compute type reason)`` on the first GPU."""
    gpu = p.gpus[0] if p.gpus else None
    mem = gpu.memory_mib if gpu else None
    usable = mem * GPU_USABLE_FRACTION if mem else None
    supported = set(gpu.compute_types) if gpu else set()
    if ov.name != "auto":
        model, model_reason = ov.name, "--model"
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


def cpu_compute_type(p: Probe, ov: ModelRequest, warnings: list[str], impossible: list[str]
                     ) -> tuple[str, str]:
    """``(compute type, reason)`` on the CPU: int8 where CTranslate2 lists it, else float32; a
    pinned type the CPU lacks is added to ``warnings`` and ``impossible``."""
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


def device(p: Probe, ov: ModelRequest, warnings: list[str], impossible: list[str]
           ) -> tuple[str, str]:
    """``(device, reason)``: CUDA when CTranslate2 sees a device (or ``--device`` pins one);
    an impossible ``--device cuda`` is added to ``warnings`` and ``impossible``."""
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
        return "cpu", "cpu: no CUDA device for CTranslate2 (--device cuda impossible)"
    if ov.device == "cpu":
        return "cpu", "--device cpu"
    if cuda:
        return "cuda", (f"--device cuda: {gpu_desc}" if ov.device == "cuda" else
                        f"CTranslate2 sees {p.cuda_device_count} CUDA device(s): {gpu_desc}")
    why = "no CUDA device visible to CTranslate2"
    if p.apple_silicon:
        mps = ('available' if p.mps_available else 'not used' if p.mps_available is False
               else 'unknown')
        why += (f"; Apple {p.apple_silicon}: MPS {mps}, but CTranslate2 has no Metal/MPS "
                f"backend, so it runs on the CPU (NEON/Accelerate)")
    return "cpu", why


def beam_size(p: Probe, ov: ModelRequest, device: str, compute_type: str) -> tuple[int, str]:
    """``(beam size, reason)`` of finals and pause decodes (interim snapshots decode greedily:
    ``DecodingOptions.interim_beam_size``): 5 on CUDA or with int8 on the CPU, else 1.

    5 is faster-whisper's default. On this 2-core machine it cost ~1.25x a greedy decode per
    5 s window (base) and, decoding every final at beam 5, brought the stream within a point of
    the oracle on 12 of the 13 conditions of the robustness benchmark with base (7 greedy) and
    cut tiny.en's summed excess from 21.3 to 5.3 points (``scripts/robust_bench.py``,
    docs/benchmarks.md "Beam size"). float32 (no int8 kernels: an unknown or old CPU) stays
    greedy: not measured. ``p`` is unused (every rule takes the probe). Calibration steps the
    beam down to 1 when its warm-up is over budget; that warm-up decodes low noise, a few
    tokens, so it measures the encoder more than the beam (docs/tuning.md).
    """
    if ov.beam_size is not None:
        return ov.beam_size, "--beam-size"
    if device == "cuda":
        return 5, ("5: faster-whisper's default, used in its GPU benchmarks; calibration drops "
                   "to 1 if the warm-up is over budget")
    if compute_type.startswith("int8"):
        return 5, ("5 for finals, greedy for interim snapshots: lower WER on 12 (base) and 11 "
                   "(tiny.en) of 13 robustness conditions (docs/benchmarks.md, \"Beam size\"); "
                   "calibration drops to 1 if the warm-up is over budget")
    return 1, ("1 (greedy): float32 on this CPU, beam 5 not measured there; latency first")
