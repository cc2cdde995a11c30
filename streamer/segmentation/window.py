"""The speech window: the segmenter's hand-off to the inference worker (inside the engine; not
an event a front end sees)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MERGE_GAP_S = 0.2  #: silence put between merged windows so their words do not run together


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
            reached, cut at a pause), ``"flush"`` (end of stream) or ``"merged"``.
        speech_start_s, speech_end_s: stream time where its speech starts and ends, seconds
            (the window adds pre-roll before and ``vad.pause_snapshot_ms`` of the pause after;
            None: the window's own bounds).
        confirmed_s: seconds of frames Silero VAD confirmed as speech (None: unknown).
        peak_speech_prob: the highest Silero speech probability of its frames, [0, 1]
            (None: unknown).
        speech_end_wall: ``time.monotonic()`` when the last sample of its speech (stream time
            ``speech_end_s``) was captured (None: ``captured_wall``).
        last_index: a merged window's last merged index (None: not merged, ``index``).

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
    last_index: int | None = None

    @property
    def is_snapshot(self) -> bool:
        """True for a snapshot of an open utterance (reason ``"partial"`` or ``"pause"``)."""
        return self.reason in ("partial", "pause")

    @property
    def utterance(self) -> int:
        """The last utterance (window index) whose audio this window holds."""
        return self.index if self.last_index is None else self.last_index

    @property
    def duration_s(self) -> float:
        """Window length in seconds."""
        return self.end_s - self.start_s

    @property
    def speech_bounds(self) -> tuple[float, float]:
        """``(speech_start_s, speech_end_s)``, the window's bounds where those are unknown."""
        return (self.start_s if self.speech_start_s is None else self.speech_start_s,
                self.end_s if self.speech_end_s is None else self.speech_end_s)


def merge_windows(windows: list[SpeechWindow]) -> SpeechWindow:
    """Join consecutive windows into one for a single decode.

    The audio is the windows' ``int16`` samples with :data:`MERGE_GAP_S` of digital silence
    between them (the gaps between utterances are not kept, so ``audio`` may be shorter than
    ``end_s - start_s``). Stream times span the first window's start to the last one's end; the
    capture time is the last window's.
    """
    gap = np.zeros(int(MERGE_GAP_S * 16000), np.int16)
    parts: list[np.ndarray] = []
    for i, w in enumerate(windows):
        if i:
            parts.append(gap)
        parts.append(w.audio)
    first, last = windows[0], windows[-1]
    confirmed = [w.confirmed_s for w in windows]
    peaks = [w.peak_speech_prob for w in windows]
    return SpeechWindow(index=first.index, audio=np.concatenate(parts), start_s=first.start_s,
                        end_s=last.end_s, voiced_s=sum(w.voiced_s for w in windows),
                        captured_wall=last.captured_wall, reason="merged",
                        speech_start_s=first.speech_bounds[0], speech_end_s=last.speech_bounds[1],
                        confirmed_s=None if None in confirmed else sum(confirmed),
                        speech_end_wall=last.speech_end_wall,
                        peak_speech_prob=None if None in peaks else max(peaks),
                        last_index=last.utterance)
