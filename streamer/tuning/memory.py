"""Memory per model instance: a table of measured or published figures, each with its source,
and a scaling rule for the rest (docs/tuning.md, "Memory per model instance")."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

MIB = 2**20

#: Whisper parameter counts in millions (openai/whisper README, "Available models and languages").
PARAMS_M = {"tiny": 39, "base": 74, "small": 244, "medium": 769, "large": 1550, "turbo": 809}


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

