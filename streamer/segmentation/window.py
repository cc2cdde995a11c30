"""The speech window: the segmenter's hand-off to the inference worker (inside the engine; not
an event a front end sees)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SpeechWindow:
    """A voiced stretch of audio cut by the segmenter, to be decoded as one unit.

    Attributes:
        index: 0-based sequence number of the window in the session.
        audio: ``int16 [n_samples]`` PCM at 16 kHz mono (pre-roll and hang-over included).
        start_s, end_s: stream time of the first and one-past-last sample, seconds.
        voiced_s: seconds of frames counted as speech (Silero-confirmed, or webrtcvad-voiced
            next to confirmed speech; :mod:`streamer.segmentation.segmenter`).
        captured_wall: ``time.monotonic()`` when the window's last sample was captured.
        reason: why it was cut: ``"end"`` (end of utterance), ``"cap"`` (maximum length
            reached, cut at a pause), or ``"flush"`` (end of stream).
        speech_start_s, speech_end_s: stream time where its speech starts and ends, seconds
            (the window adds pre-roll before and ``vad.pause_snapshot_ms`` of the pause after;
            None: the window's own bounds).
        confirmed_s: seconds of frames Silero VAD confirmed as speech (None: unknown).
        peak_speech_prob: the highest Silero speech probability of its frames, [0, 1]
            (None: unknown).
        speech_end_wall: ``time.monotonic()`` when the last sample of its speech (stream time
            ``speech_end_s``) was captured (None: ``captured_wall``).
        decided_s: stream time the segmenter cut it, seconds: for an ``"end"`` window the end
            of the frame that ended the utterance, no earlier than ``end_s`` (None: ``end_s``).

    A window with reason ``"partial"`` (every ``partial_interval_ms`` of speech) or
    ``"pause"`` (150 ms into a pause after speech) is a *snapshot* of the utterance still
    open, decoded for a :class:`Partial`: its ``index`` is the one the utterance's final window
    will have.
    """

    index: int
    audio: np.ndarray = field(repr=False)
    start_s: float
    end_s: float
    voiced_s: float
    captured_wall: float
    reason: str
    speech_start_s: float | None = None
    speech_end_s: float | None = None
    confirmed_s: float | None = None
    speech_end_wall: float | None = None
    peak_speech_prob: float | None = None
    decided_s: float | None = None

    @property
    def is_snapshot(self) -> bool:
        """True for a snapshot of an open utterance (reason ``"partial"`` or ``"pause"``)."""
        return self.reason in ("partial", "pause")

    @property
    def duration_s(self) -> float:
        """Window length in seconds."""
        return self.end_s - self.start_s

    @property
    def speech_bounds(self) -> tuple[float, float]:
        """``(speech_start_s, speech_end_s)``, the window's bounds where those are unknown."""
        return (self.start_s if self.speech_start_s is None else self.speech_start_s,
                self.end_s if self.speech_end_s is None else self.speech_end_s)

