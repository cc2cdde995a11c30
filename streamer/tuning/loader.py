"""The one way a model gets loaded: down the plan's fallback chain, then calibrated.

:func:`start_decoder` is what every session runs (the ``livescribe`` command, the terminal UI,
the benchmark scripts all reach it through :class:`streamer.pipeline.Pipeline`): it walks
:attr:`Plan.fallback <streamer.tuning.plan.Plan.fallback>` with :func:`load_with_fallback`, times
the warm-up with :func:`~streamer.tuning.calibration.calibrate`, and returns the decoder with the
plan as loaded and measured.

Failures are told apart by type, not by message: a :class:`~streamer.errors.LoadError` or an
exit-78 error (unsupported compute type) is about the device, and the next step may work; any
other :class:`~streamer.errors.LivescribeError` (no pack, no network, an English-only model for
another language) is about the model, and every later step with that model is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from streamer.decoding.decoder import DecodingOptions
from streamer.decoding.models import ModelSpec
from streamer.errors import ExitCode, LivescribeError, LoadError
from streamer.tuning.calibration import CalibrationOptions, Loader, calibrate
from streamer.tuning.plan import Plan

logger = logging.getLogger(__name__)


def default_loader(spec: ModelSpec, decoding: DecodingOptions):
    """A :class:`~streamer.decoding.decoder.WindowDecoder` for ``spec`` (loads the weights).

    Raises:
        ModelError, LoadError, LivescribeError: see :class:`WindowDecoder`.
    """
    from streamer.decoding.decoder import WindowDecoder

    return WindowDecoder(spec, decoding)


def device_problem(exc: LivescribeError) -> bool:
    """True when ``exc`` says the device or compute type failed (another type/device may work)."""
    return isinstance(exc, LoadError) or exc.exit_code == ExitCode.CONFIG


def load_with_fallback(chain: tuple[ModelSpec, ...], decoding: DecodingOptions,
                       loader: Loader | None = None, strict: bool = False):
    """Load the first step of ``chain`` that works.

    A step failing on its device or compute type (:func:`device_problem`) moves on to the next
    step with a warning on stderr. A step failing for its model skips the later steps with the
    same model. The last failure is raised if none loads.

    Args:
        chain: the steps (:attr:`Plan.fallback`), first = the plan itself.
        decoding: decoding options given to every step.
        loader: builds a decoder from a step; :func:`default_loader` by default.
        strict: raise on the first failure (device problems as exit 78).

    Returns:
        ``(decoder, the step that loaded, failures as "step: error" lines)``.

    Raises:
        LivescribeError: nothing loads (the last failure), or ``strict`` and a step failed.
    """
    loader = loader or default_loader
    failures: list[str] = []
    bad_models: set[str] = set()
    last: LivescribeError | None = None
    for i, spec in enumerate(chain):
        if spec.name in bad_models:
            continue
        try:
            decoder = loader(spec, decoding)
        except LivescribeError as exc:
            last = exc
            failures.append(f"{spec.describe()}: {exc}")
            device = device_problem(exc)
            if strict:
                if device:
                    raise LivescribeError(f"cannot load {spec.describe()}: {exc} "
                                          f"(--strict: no fallback)", ExitCode.CONFIG) from None
                raise
            if not device:
                bad_models.add(spec.name)
            nxt = next((b for b in chain[i + 1:] if b.name not in bad_models), None)
            if nxt is not None:
                logger.warning("cannot load %s (%s); falling back to %s", spec.describe(), exc,
                               nxt.describe())
            continue
        if failures:
            logger.warning("loaded %s after %d failed attempt(s)", spec.describe(), len(failures))
        return decoder, spec, tuple(failures)
    assert last is not None, "empty fallback chain"
    raise last


def start_decoder(plan: Plan, decoding: DecodingOptions, loader: Loader | None = None,
                  options: CalibrationOptions = CalibrationOptions()):
    """Load through the fallback chain, then calibrate. Run by the worker before any caption.

    Args:
        plan: the session's plan (:func:`streamer.tuning.plan.make_plan`).
        decoding: decoding options; their ``beam_size`` should be the plan's.
        loader: see :func:`load_with_fallback`.
        options: calibration budget.

    Returns:
        ``(decoder, plan)``: the plan updated with what loaded and what was measured
        (:attr:`Plan.calibration`).

    Raises:
        LivescribeError: nothing in the chain loads, or ``--strict`` and a step failed.
    """
    loader = loader or default_loader
    decoder, step, failures = load_with_fallback(plan.fallback, decoding, loader, plan.strict)
    # an English-only step-down would not translate: translating, no language is English
    language = plan.language if plan.task == "transcribe" else None
    decoder, cal = calibrate(decoder, loader, plan.pinned, language, options)
    cal = replace(cal, loaded=step, failures=failures)
    return decoder, replace(plan, model=decoder.spec.name, device=step.device,
                            compute_type=step.compute_type, beam_size=decoder.options.beam_size,
                            calibration=cal)
