"""Events: the whole contract between the engine and its front ends.

:meth:`streamer.pipeline.Pipeline.events` yields :data:`Event` s and nothing else; a front end
(the ``livescribe`` command, the terminal UI, the benchmark scripts, a server) learns everything
it shows from them and never reads an engine attribute. All are small frozen dataclasses of
plain values, so they can be logged, sent over a socket or compared in a test.

In the order a session emits them: :class:`SourceOpened`, :class:`PlanReady` (as planned),
:class:`CaptureStarted` (a microphone, which captures while the model loads, so its
:class:`InputLevel` and :class:`FragmentDropped` come during the load too; a file's comes after
:class:`ModelReady`), :class:`PlanReady` (as loaded and calibrated), :class:`ModelReady`,
then while audio flows :class:`InputLevel`, :class:`FragmentDropped`, :class:`WindowStarted`,
:class:`WindowGated`, :class:`WindowTimings`, :class:`Partial`, :class:`Caption`,
:class:`WindowDropped` and periodic :class:`PipelineStats`; at the end :class:`SessionFailed`
(if it failed) and a final :class:`PipelineStats`.

Times named ``*_s`` are seconds; ``start_s``/``end_s`` are stream time (seconds since the first
captured sample); ``*_wall`` are ``time.monotonic()`` readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class SourceOpened:
    """The input is open (first event of every session, before the model loads).

    Attributes:
        description: what is captured, e.g. ``"file jfk.flac"`` or ``"microphone 3: USB mic
            (ALSA) at 48000 Hz, 2 ch, downmixed resampled to 16 kHz with soxr"``.
        rate_hz: the input's own sample rate when it has one (a microphone's), else None; the
            pipeline always runs at 16 kHz mono.
        live: paced by a clock (microphone, replay at a finite speed); False for a replay at
            ``--speed max``, which waits for the worker.
        duration_s: seconds of audio the input holds when known (a file whose container says;
            None for a microphone or stdin): how far a replay has come is ``stream_s`` of
            :class:`InputLevel` or :class:`PipelineStats` over this.
    """

    description: str
    rate_hz: int | None
    live: bool
    duration_s: float | None = None


@dataclass(frozen=True)
class CaptureStarted:
    """Capture began: stream time 0 is heard about now.

    Attributes:
        started_wall: ``time.monotonic()`` just before the source started (a replay's clock
            starts within a millisecond of it).
    """

    started_wall: float


@dataclass(frozen=True)
class PlanReady:
    """The tuning plan: once as planned (before the model loads), once as loaded and calibrated.

    Attributes:
        calibrated: False for the plan as made from the hardware probe, True once the worker
            loaded a model through the fallback chain and timed its warm-up.
        model, device, compute_type: what the plan loads (or loaded).
        cpu_threads: CTranslate2 intra-op threads (0 = its default).
        beam_size: beam size of finals and pause decodes (interim snapshots:
            ``decoding.interim_beam_size``).
        rows: ``(label, value)`` pairs for display (``streamer.tuning.plan.Plan.rows``).
        cpu_features: SIMD features the hardware probe found, e.g. ``("avx2", "fma")``.
        warnings: impossible overrides replaced by the plan's choice, one line each.
    """

    calibrated: bool
    model: str
    device: str
    compute_type: str
    cpu_threads: int
    beam_size: int
    rows: tuple[tuple[str, str], ...]
    cpu_features: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputLevel:
    """The input level and speech state, sampled every ``pipeline.level_interval_s`` (0.1 s).

    Attributes:
        level_dbfs: RMS level of the last 30 ms frame the segmenter read, dBFS (0 = full-scale
            int16), floored at -96.
        in_speech: an utterance is open (the segmenter hears speech).
        stream_s: stream time read so far, seconds.
    """

    level_dbfs: float
    in_speech: bool
    stream_s: float


@dataclass(frozen=True)
class FragmentDropped:
    """A voiced stretch too short to decode (less Silero-confirmed speech than
    ``vad.min_confirmed_ms``): counted, never decoded.

    Attributes:
        start_s, end_s: stream time of the fragment, seconds.
        confirmed_s: seconds of it Silero confirmed as speech.
    """

    start_s: float
    end_s: float
    confirmed_s: float


@dataclass(frozen=True)
class Word:
    """One word of a caption with its time (``decoding.word_timestamps``).

    Attributes:
        text: the word as decoded, with its leading space and any punctuation merged in
            (``" Americans,"``), as faster-whisper's ``Word``.
        start_s, end_s: stream time of the word, seconds (from Whisper's cross-attention
            alignment: about 20 ms steps, within the caption's window).
        probability: mean probability of its tokens, [0, 1].
    """

    text: str
    start_s: float
    end_s: float
    probability: float

    def to_dict(self) -> dict:
        """``{"word", "start", "end", "probability"}``, times rounded to milliseconds."""
        return {"word": self.text, "start": round(self.start_s, 3), "end": round(self.end_s, 3),
                "probability": round(self.probability, 4)}


@dataclass(frozen=True)
class Caption:
    """One final caption: the text decoded from one utterance (or one part of it).

    Attributes:
        text: the caption, stripped.
        start_s, end_s: stream time where its speech starts and ends, seconds (the
            utterance's, or the part of it an early final holds).
        latency_s: wall seconds from the end of the speech (stream time ``end_s``) to emission:
            the wall time of stream time 0 plus ``end_s`` plus ``latency_s`` is the emission
            time (for a source paced at real time).
        language: ISO 639-1 code the window was decoded in.
        avg_logprob: mean token log-probability of the decoded text (nats, <= 0).
        no_speech_prob: probability of Whisper's no-speech token at the first step, [0, 1].
        compression_ratio: gzip ratio of the text (> 2.4 means repetitive, Whisper's default).
        window_index: index of the :class:`SpeechWindow` it came from.
        emitted_wall: ``time.monotonic()`` at emission.
        utterance: id of the utterance it finalises (its window index; None:
            ``window_index``). It replaces every :class:`Partial` whose ``utterance`` is at
            most this. An utterance may end in several captions of one id: its early finals
            (settled words of it while it went on, :mod:`streamer.decoding.early_finals`),
            then one with the rest; later partials of it hold only words after them.
        words: its words with stream times, when ``decoding.word_timestamps`` is on (else
            empty).
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
    words: tuple[Word, ...] = ()

    @property
    def utterance_id(self) -> int:
        """:attr:`utterance`, or :attr:`window_index` when unset."""
        return self.window_index if self.utterance is None else self.utterance

    def to_dict(self) -> dict:
        """The fields written by the JSONL sink (times rounded to milliseconds; ``words``
        only when there are some)."""
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
            **({"words": [w.to_dict() for w in self.words]} if self.words else {}),
        }


@dataclass(frozen=True)
class Partial:
    """Interim text of an utterance still being spoken; its :class:`Caption` replaces it.

    Attributes:
        utterance: the utterance's id (the index of the window its final will come from).
        text: everything decoded so far that is not in a caption yet (an utterance's early
            finals, :mod:`streamer.decoding.early_finals`, take their words out), stripped.
        stable: the prefix of ``text`` that will not change: later partials and the next
            caption of this utterance start with exactly this string (may be empty).
        start_s, end_s: stream time of ``text``'s speech so far, seconds.
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
        filter: name of the filter that dropped it (e.g. ``"no_speech"``; ``"gate"`` for a
            :class:`WindowGated`, ``"error"`` for a decode that raised; ``"already_final"``:
            every word of the window was already in its utterance's early finals, nothing
            lost, :attr:`lost` False).
        reason: human-readable detail, e.g. ``"no_speech_prob 0.91 > 0.6"``.
        text: the text that was dropped (may be empty).
    """

    window_index: int
    start_s: float
    end_s: float
    filter: str
    reason: str
    text: str

    @property
    def lost(self) -> bool:
        """False when nothing was lost: the window's words were all captioned already."""
        return self.filter != "already_final"


@dataclass(frozen=True)
class WindowGated(WindowDropped):
    """A window the gate kept from the model (broadband noise, :mod:`streamer.decoding.gate`):
    a :class:`WindowDropped` whose ``filter`` is ``"gate"`` and whose ``text`` is empty."""


@dataclass(frozen=True)
class WindowTimings:
    """Wall seconds one decode took, per stage (what ``--benchmark`` reports).

    Attributes:
        window_index: the window's index.
        feature_s: mel features; encode_s: the encoder and the language detection (with its
            own encode while the session's language is open); decode_s: the decoder (all
            decodes of the window, fallbacks included); filter_s: the filter chain.
    """

    window_index: int
    feature_s: float
    encode_s: float
    decode_s: float
    filter_s: float


@dataclass(frozen=True)
class WindowStarted:
    """The worker began decoding a window (lets a UI show work in progress).

    Attributes:
        window_index: the window's index.
        start_s, end_s: stream time of the window, seconds.
        queue_depth: windows still waiting behind this one.
        started_wall: ``time.monotonic()`` when decoding began.
        reason: why the segmenter cut it (``"end"``, ``"cap"``, ``"flush"``).
        speech_end_s: stream time its speech ends, seconds (None: ``end_s``).
        decided_s: stream time the segmenter cut it, seconds (None: ``end_s``): an utterance's
            final window is cut when its end of utterance is decided, no earlier than ``end_s``.
    """

    window_index: int
    start_s: float
    end_s: float
    queue_depth: int
    started_wall: float = 0.0
    reason: str = ""
    speech_end_s: float | None = None
    decided_s: float | None = None


@dataclass(frozen=True)
class ModelReady:
    """The worker loaded and warmed the model.

    Attributes:
        model: model name or path as resolved.
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type in use, e.g. ``"int8"``.
        threads: CPU threads given to CTranslate2.
        beam_size: beam size of finals and pause decodes (interim snapshots decode at
            ``DecodingOptions.interim_beam_size``).
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
        windows: speech windows sent to the worker, less those the gate kept from the model.
        fragments_dropped: voiced fragments too short to decode (less Silero-confirmed speech
            than ``vad.min_confirmed_ms``).
        windows_decoded: windows the worker finished.
        captions: captions emitted.
        filtered: final windows dropped after decoding, by filter name (``"error"``: the
            decode raised).
        queue_depth: windows waiting for the worker.
        inference_s: total wall seconds spent decoding.
        final: True for the last stats event of the session.
        windows_gated: speech windows the zero-crossing-rate gate kept from the model
            (broadband noise, :mod:`streamer.decoding.gate`).
        partials: :class:`Partial` events emitted.
        partials_skipped: snapshots never decoded because the worker was busy (a newer
            snapshot or the final came first: finals never wait for partials), or given up
            after their encode when a final or a pause snapshot came meanwhile.
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
    partials: int = 0
    partials_skipped: int = 0
    finals_reused: int = 0

    @property
    def rtf(self) -> float:
        """Real-time factor: inference seconds per second of captured audio."""
        return self.inference_s / self.stream_s if self.stream_s > 0 else 0.0


@dataclass(frozen=True)
class SessionFailed:
    """The session failed (the model, the input or the recording); sent before the final
    :class:`PipelineStats`. Captions decoded before the failure were delivered.

    Attributes:
        message: one line for the user.
        exit_code: the :class:`streamer.errors.ExitCode` a command should exit with.
    """

    message: str
    exit_code: int


#: Everything :meth:`streamer.pipeline.Pipeline.events` yields.
Event = Union[SourceOpened, CaptureStarted, PlanReady, ModelReady, InputLevel, FragmentDropped,
              WindowStarted, WindowGated, WindowTimings, Partial, Caption, WindowDropped,
              PipelineStats, SessionFailed]
