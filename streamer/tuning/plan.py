"""The tuning plan: device, compute type, threads, model and beam size, each with a reason.

:func:`make_plan` is a pure function of a :class:`~streamer.tuning.probe.Probe`, the user's
:class:`~streamer.config.schema.ModelRequest` and the session language, so plans for machines
we do not have (a GPU server, an Apple laptop) are tested with synthetic probes; docs/tuning.md
holds the table those tests check. The plan also holds the fallback chain
(:func:`fallback_chain`) that the loader walks (:mod:`streamer.tuning.loader`) and, once the
worker has loaded and timed the model, what calibration measured
(:mod:`streamer.tuning.calibration`). Memory figures: :mod:`streamer.tuning.memory`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace

from streamer.config.schema import ModelRequest
from streamer.decoding.models import ModelSpec
from streamer.errors import ExitCode, LivescribeError
from streamer.tuning import rules
from streamer.tuning.calibration import OFFLINE, Calibration
from streamer.tuning.memory import estimate_memory
from streamer.tuning.probe import Probe

logger = logging.getLogger(__name__)


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
        memory_mib: estimated peak memory of one instance, MiB (None: unknown model).
        memory_source: where ``memory_mib`` comes from.
        reasons: ``(setting, reason)`` pairs, one per setting above.
        pinned: settings the user fixed (calibration does not change them).
        warnings: impossible overrides and other doubts, one line each.
        impossible: the subset of ``warnings`` that ``--strict`` turns into an error.
        fallback: the load chain, first step = the plan itself.
        strict: no fallback: the first failed load is an error.
        language: language the session was asked for (None: detect).
        task: ``"transcribe"`` or ``"translate"`` (which needs a multilingual model).
        calibration: what start-up measured, once
            :func:`streamer.tuning.loader.start_decoder` ran.
    """

    device: str
    compute_type: str
    cpu_threads: int
    model: str
    beam_size: int
    best_of: int
    memory_mib: int | None
    memory_source: str
    reasons: tuple[tuple[str, str], ...]
    pinned: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    impossible: tuple[str, ...] = ()
    fallback: tuple[ModelSpec, ...] = ()
    strict: bool = False
    language: str | None = None
    calibration: Calibration | None = None
    task: str = "transcribe"

    def reason(self, setting: str) -> str:
        """The reason given for ``setting`` (``"device"``, ``"model"``...)."""
        return dict(self.reasons).get(setting, "")

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
        }
        c = self.calibration
        if c is not None and c.steps:
            last = c.steps[-1]
            rows["calibration"] = (f"{last.warmup_s:.2f} s per {c.window_s:g} s window "
                                   f"(budget {c.budget_s:.2f} s): "
                                   f"{'keeps up' if c.kept_up else 'too slow'}")
        return rows

    def to_dict(self) -> dict:
        """JSON-ready data (``reasons`` as a mapping, fallback steps as ``{name, device,
        compute_type, cpu_threads, why}``)."""
        d = asdict(self)
        d["reasons"] = dict(self.reasons)
        return d


def make_plan(probe: Probe, request: ModelRequest = ModelRequest(),
              language: str | None = None, task: str = "transcribe") -> Plan:
    """Choose settings for ``probe``'s machine, honouring what ``request`` pins.

    Pure: no I/O, no clock. Rules and their sources are in docs/tuning.md, "Hardware plan".

    Args:
        probe: what the machine offers.
        request: the configuration's ``model`` group (``"auto"``/0/None: the plan chooses).
        language: the session language (``decoding.language``; None: detect); English-only
            models are chosen only for ``en`` or None.
        task: ``decoding.task``; English-only models are never chosen to translate.

    Returns:
        The plan; impossible overrides are replaced by the automatic choice and listed in
        ``warnings``/``impossible`` (``--strict`` makes them an error, see :func:`check_strict`).
    """
    p, ov = probe, request
    warnings: list[str] = []
    impossible: list[str] = []
    reasons: dict[str, str] = {}
    pinned = [k for k, v in (("device", ov.device != "auto"),
                             ("compute_type", ov.compute_type != "auto"),
                             ("cpu_threads", bool(ov.threads)),
                             ("beam_size", ov.beam_size is not None),
                             ("model", ov.name != "auto")) if v]

    device, reasons["device"] = rules.device(p, ov, warnings, impossible)
    # compute type and model
    if device == "cuda":
        model, reasons["model"], compute, reasons["compute_type"] = rules.cuda_choices(
            p, ov, warnings, impossible)
    else:
        compute, reasons["compute_type"] = rules.cpu_compute_type(p, ov, warnings, impossible)
        if ov.name == "auto":
            model, reasons["model"] = rules.cpu_model(p, compute, language, task)
        else:
            model, reasons["model"] = ov.name, "--model"
    threads, reasons["cpu_threads"] = rules.cpu_threads(p, ov, device)

    beam, reasons["beam_size"] = rules.beam_size(p, ov, device, compute)
    reasons["best_of"] = ("1: decoding is at temperature 0, and best_of only counts samples "
                          "drawn at temperature > 0 (openai/whisper DecodingOptions)")

    # memory of one instance, with its source
    est = estimate_memory(model, device, compute)

    plan = Plan(device=device, compute_type=compute, cpu_threads=threads, model=model,
                beam_size=beam, best_of=1,
                memory_mib=est.mib if est else None,
                memory_source=est.source if est else "unknown model: no estimate",
                reasons=tuple(reasons.items()),
                pinned=tuple(pinned), warnings=tuple(warnings), impossible=tuple(impossible),
                strict=ov.strict, language=language, task=task)
    cpu_model = model if ov.name != "auto" else rules.cpu_model(
        p, "int8" if "int8" in p.cpu_compute_types else "float32", language, task)[0]
    return replace(plan, fallback=fallback_chain(plan, cpu_model))


#: The "safer" GPU compute type tried after each one fails (less memory, or wider support).
SAFER_GPU_TYPE = {"float16": "int8_float16", "bfloat16": "float16",
                  "int8_bfloat16": "int8_float16", "int8_float16": "int8", "int8": "float32",
                  "int8_float32": "float32"}


def fallback_chain(plan: Plan, cpu_model: str) -> tuple[ModelSpec, ...]:
    """The load chain: planned → safer GPU type → (offline base on GPU) → CPU int8 → CPU float32.

    Args:
        plan: the plan (its first step).
        cpu_model: the model for the CPU steps (the CPU plan's choice when the model is auto).

    Returns:
        Distinct steps, ending with CPU float32, which every CTranslate2 build runs.
    """
    threads = plan.cpu_threads
    steps = [ModelSpec(plan.model, plan.device, plan.compute_type, threads, "planned")]
    if plan.device == "cuda":
        safer = SAFER_GPU_TYPE.get(plan.compute_type)
        if safer:
            steps.append(ModelSpec(plan.model, "cuda", safer, threads, "safer GPU type"))
        if "model" not in plan.pinned and plan.model not in OFFLINE:
            steps.append(ModelSpec("base", "cuda", safer or plan.compute_type, threads,
                                   "offline model on the GPU"))
    if not (plan.device == "cpu" and plan.compute_type == "float32"):  # float32: int8 unsupported
        steps.append(ModelSpec(cpu_model, "cpu", "int8", threads, "CPU int8"))
    steps.append(ModelSpec(cpu_model, "cpu", "float32", threads, "CPU float32"))
    out: list[ModelSpec] = []
    for s in steps:  # distinct (name, device, compute type); threads are the same throughout
        if s not in out:
            out.append(s)
    return tuple(out)


def check_strict(plan: Plan) -> None:
    """With ``--strict``, an impossible override is an error.

    Raises:
        LivescribeError: exit 78 (``ExitCode.CONFIG``), one line.
    """
    if plan.strict and plan.impossible:
        raise LivescribeError(f"{plan.impossible[0]} (--strict: no fallback)", ExitCode.CONFIG)


def plan_for(request: ModelRequest, language: str | None,
             machine: Probe | None = None, task: str = "transcribe") -> tuple[Probe, Plan]:
    """Probe the machine (unless ``machine`` is given) and plan the session.

    Logs each warning on stderr and the plan's rows at info level (``-v``).

    Returns:
        ``(probe, plan)``.

    Raises:
        LivescribeError: ``request.strict`` and an impossible override (exit 78).
    """
    if machine is None:
        from streamer.tuning.probe import probe

        machine = probe()
    plan = make_plan(machine, request, language, task)
    check_strict(plan)
    for w in plan.warnings:
        logger.warning("%s; using %s", w, f"{plan.model} on {plan.device}/{plan.compute_type}")
    for key, value in plan.rows().items():
        logger.info("plan: %-12s %s", key, value)
    return machine, plan
