"""Start-up calibration: time the warm-up decode and step down until it keeps up.

The tuning table (:mod:`streamer.tuning.plan`) is a first guess; this measures. The worker's
first decode is a 5 s window of low noise (:meth:`WindowDecoder.warm_up`); while it takes longer
than the budget (``cadence_s / margin``), the beam steps to 1, then the model steps down
(:func:`step_down_model`), each step one more timed warm-up, all before the first caption.
Pinned choices (``--beam-size``, ``--model``) never change. Figures: docs/tuning.md,
"Calibration at start-up".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from streamer.decoding.models import ModelSpec
from streamer.errors import LivescribeError

logger = logging.getLogger(__name__)

#: Offline models: shipped as PyPI packs (streamer.decoding.packs.OFFLINE_MODELS), no hub
#: download; calibration never steps from one of them to a download.
OFFLINE = ("tiny.en", "base")

#: ``loader(spec, decoding_options) -> decoder``; :class:`~streamer.decoding.decoder.WindowDecoder`
#: by default (tests inject fakes with scripted warm-up times).
Loader = Callable[..., object]


@dataclass(frozen=True)
class CalibrationStep:
    """One timed warm-up: ``warmup_s`` wall seconds to decode the warm-up window with ``model``
    at ``beam_size``."""

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
    loaded: ModelSpec | None = None
    failures: tuple[str, ...] = ()


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


def calibrate(decoder, loader: Loader, pinned: tuple[str, ...] = (),
              language: str | None = None,
              options: CalibrationOptions = CalibrationOptions()):
    """Time warm-ups and step down until one fits the budget or nothing is left to step.

    Beam size steps to 1 first (unless ``"beam_size"`` is pinned), then the model steps down
    (:func:`step_down_model`, unless ``"model"`` is pinned). Each step is one more warm-up.

    Args:
        decoder: a loaded decoder (``warm_up(seconds) -> wall seconds``, ``spec``, ``options``).
        loader: builds the smaller model's decoder (``loader(spec, decoding)``).
        pinned: settings the user fixed (:attr:`streamer.tuning.plan.Plan.pinned`).
        language: the session's language (None: detect), for the model step-down.
        options: budget.

    Returns:
        ``(decoder, Calibration)``; the decoder may be a new, smaller one.
    """
    steps: list[CalibrationStep] = []

    def time_it(d) -> float:
        s = d.warm_up(options.window_s)
        steps.append(CalibrationStep(d.spec.name, d.options.beam_size, s))
        logger.info("calibration: %s beam %d: warm-up %.2f s per %g s window (budget %.2f s)",
                    d.spec.name, d.options.beam_size, s, options.window_s, options.budget_s)
        return s

    warm = time_it(decoder)
    while warm > options.budget_s:
        if decoder.options.beam_size > 1 and "beam_size" not in pinned:
            decoder.options = replace(decoder.options, beam_size=1)
            warm = time_it(decoder)
            continue
        smaller = None if "model" in pinned else step_down_model(decoder.spec.name, language)
        if smaller is None:
            break
        try:
            decoder = loader(replace(decoder.spec, name=smaller, why="calibration step-down"),
                             decoder.options)
        except LivescribeError as exc:
            logger.warning("calibration: cannot load %s (%s); keeping %s", smaller, exc,
                           decoder.spec.name)
            break
        warm = time_it(decoder)
    kept_up = warm <= options.budget_s
    if not kept_up:
        logger.warning("%s decodes a %g s window in %.2f s, over the %.2f s budget for a %g s "
                       "cadence: captions may fall behind", decoder.spec.name,
                       options.window_s, warm, options.budget_s, options.cadence_s)
    return decoder, Calibration(window_s=options.window_s, cadence_s=options.cadence_s,
                                margin=options.margin, budget_s=options.budget_s,
                                steps=tuple(steps), kept_up=kept_up)
