"""Events: the contract between the engine, the sinks and the UI.

All are frozen dataclasses. Times named ``*_s`` are seconds; ``start_s``/``end_s`` are stream
time (seconds since the first captured sample); ``*_wall`` are ``time.monotonic()`` readings.
"""

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
            reached, cut at a pause), ``"flush"`` (end of stream) or ``"merged"``.
        speech_start_s, speech_end_s: stream time where its speech starts and ends, seconds
            (the window adds pre-roll before and the end-of-utterance silence after; None:
            the window's own bounds).
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


@dataclass(frozen=True)
class Caption:
    """One final caption: the text decoded from one utterance.

    Attributes:
        text: the caption, stripped.
        start_s, end_s: stream time where the utterance's speech starts and ends, seconds.
        latency_s: wall seconds from the end of the speech (stream time ``end_s``) to emission:
            the wall time of stream time 0 plus ``end_s`` plus ``latency_s`` is the emission
            time (for a source paced at real time).
        language: ISO 639-1 code the window was decoded in.
        avg_logprob: mean token log-probability of the decoded text (nats, <= 0).
        no_speech_prob: probability of Whisper's no-speech token at the first step, [0, 1].
        compression_ratio: gzip ratio of the text (> 2.4 means repetitive, Whisper's default).
        window_index: index of the :class:`SpeechWindow` it came from (the first one of a
            merge).
        emitted_wall: ``time.monotonic()`` at emission.
        utterance: id of the last utterance it finalises (its window index, or the last of a
            merge; None: ``window_index``). It replaces every :class:`Partial` whose
            ``utterance`` is at most this.
    """

    text: str
    start_s: float
    end_s: float
    latency_s: float
    language: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    window_index: int
    emitted_wall: float
    utterance: int | None = None

    @property
    def utterance_id(self) -> int:
        """:attr:`utterance`, or :attr:`window_index` when unset."""
        return self.window_index if self.utterance is None else self.utterance

    def to_dict(self) -> dict:
        """The fields written by the JSONL sink (times rounded to milliseconds)."""
        return {
            "type": "final",
            "utterance": self.utterance_id,
            "text": self.text,
            "start": round(self.start_s, 3),
            "end": round(self.end_s, 3),
            "latency": round(self.latency_s, 3),
            "language": self.language,
            "avg_logprob": round(self.avg_logprob, 4),
            "no_speech_prob": round(self.no_speech_prob, 4),
            "compression_ratio": round(self.compression_ratio, 3),
            "window": self.window_index,
        }


@dataclass(frozen=True)
class Partial:
    """Interim text of an utterance still being spoken; its :class:`Caption` replaces it.

    Attributes:
        utterance: the utterance's id (the index of the window its final will come from).
        text: everything decoded so far, stripped.
        stable: the prefix of ``text`` that will not change: later partials and the final
            caption of this utterance start with exactly this string (may be empty).
        start_s, end_s: stream time of the utterance's speech so far, seconds.
        emitted_wall: ``time.monotonic()`` at emission.
        language: ISO 639-1 code it was decoded in.
    """

    utterance: int
    text: str
    stable: str
    start_s: float
    end_s: float
    emitted_wall: float
    language: str = "en"

    @property
    def unstable(self) -> str:
        """The tail of ``text`` after ``stable``, which later decodes may still change."""
        return self.text[len(self.stable):]

    def to_dict(self) -> dict:
        """The fields written by the JSONL sink for a partial line."""
        return {"type": "partial", "utterance": self.utterance, "text": self.text,
                "stable": self.stable, "start": round(self.start_s, 3),
                "end": round(self.end_s, 3)}


@dataclass(frozen=True)
class WindowDropped:
    """A decoded window whose text a filter removed (or that decoded to nothing).

    Attributes:
        window_index: the window's index.
        start_s, end_s: stream time of the window, seconds.
        filter: name of the filter that dropped it (e.g. ``"no_speech"``).
        reason: human-readable detail, e.g. ``"no_speech_prob 0.91 > 0.6"``.
        text: the text that was dropped (may be empty).
    """

    window_index: int
    start_s: float
    end_s: float
    filter: str
    reason: str
    text: str


@dataclass(frozen=True)
class WindowStarted:
    """The worker began decoding a window (lets a UI show work in progress).

    Attributes:
        window_index: the window's index.
        start_s, end_s: stream time of the window, seconds.
        queue_depth: windows still waiting behind this one.
        started_wall: ``time.monotonic()`` when decoding began.
    """

    window_index: int
    start_s: float
    end_s: float
    queue_depth: int
    started_wall: float = 0.0


@dataclass(frozen=True)
class ModelReady:
    """The worker loaded and warmed the model.

    Attributes:
        model: model name or path as resolved.
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type in use, e.g. ``"int8"``.
        threads: CPU threads given to CTranslate2.
        beam_size: beam size used for decoding.
        load_s: seconds to load the model; warmup_s: seconds of the warm-up decode of 5 s.
        multilingual: whether the model can detect and decode languages other than English.
    """

    model: str
    device: str
    compute_type: str
    threads: int
    beam_size: int
    load_s: float
    warmup_s: float
    multilingual: bool


@dataclass(frozen=True)
class PipelineStats:
    """Counters of a session, emitted periodically and once at the end.

    Attributes:
        stream_s: seconds of audio captured so far.
        overruns: ring-buffer writes refused because it was full (blocks lost).
        overrun_samples: samples lost to those overruns.
        windows: speech windows sent to the worker.
        fragments_dropped: voiced fragments too short to decode (below ``min_speech_ms``).
        windows_decoded: windows the worker finished.
        captions: captions emitted.
        filtered: captions removed by a filter, by filter name.
        queue_depth: windows waiting for the worker.
        inference_s: total wall seconds spent decoding.
        final: True for the last stats event of the session.
        windows_gated: speech windows the energy/zero-crossing gate kept from the worker
            (silence or broadband noise, :mod:`streamer.decoding.gate`).
        windows_merged: windows decoded together with an earlier one because inference was
            behind real time (backpressure; nothing dropped).
        partials: :class:`Partial` events emitted.
        partials_skipped: snapshots never decoded because the worker was busy (a newer
            snapshot or the final came first: finals never wait for partials).
        finals_reused: final captions taken from the decode of a ``"pause"`` snapshot with the
            same speech (the utterance ended there), not decoded again.
    """

    stream_s: float
    overruns: int
    overrun_samples: int
    windows: int
    fragments_dropped: int
    windows_decoded: int
    captions: int
    filtered: dict
    queue_depth: int
    inference_s: float
    final: bool = False
    windows_gated: int = 0
    windows_merged: int = 0
    partials: int = 0
    partials_skipped: int = 0
    finals_reused: int = 0

    @property
    def rtf(self) -> float:
        """Real-time factor: inference seconds per second of captured audio."""
        return self.inference_s / self.stream_s if self.stream_s > 0 else 0.0
