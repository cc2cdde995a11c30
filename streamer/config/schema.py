"""The configuration: one frozen dataclass tree, one group per concern.

Like openai/whisper's ``DecodingOptions``: small frozen dataclasses whose fields carry their
units in their names, each group owned by the stage it tunes. The engine's own option classes
(:class:`~streamer.decoding.decoder.DecodingOptions`, :class:`~streamer.segmentation.options.VadOptions`,
:class:`~streamer.decoding.filter_options.FilterOptions`, :class:`~streamer.decoding.gate.GateOptions`)
are groups as they are; this module adds the groups that have no stage of their own (input,
model request, outputs, front end, queues) and :class:`Config`, the tree.

Every leaf field has a dotted *key* (``decoding.language``, ``vad.detector.webrtc_mode``) that
the config file, the ``LIVESCRIBE_*`` environment variables, the command line and
``livescribe config`` all use (:func:`settings`). How the tree is built: :mod:`streamer.config.build`.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field, fields, is_dataclass

from streamer.decoding.decoder import DecodingOptions
from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.gate import GateOptions
from streamer.output.sinks import FORMATS
from streamer.segmentation.options import VadOptions

#: choices of :attr:`ModelRequest.device`
DEVICES = ("auto", "cpu", "cuda")
#: choices of :attr:`UiOptions.mode`
UI_MODES = ("auto", "tui", "plain")
#: choices of :attr:`ServerOptions.log_format`
LOG_FORMATS = ("json", "text")


@dataclass(frozen=True)
class InputOptions:
    """Where the audio comes from.

    Attributes:
        file: replay this file as if it were live (anything PyAV decodes); ``"-"`` reads the
            audio from stdin (a stream: no repeat, no length known); None captures the
            microphone.
        speed: replay speed relative to real time (1 = live, 2 = twice as fast); ``math.inf``
            replays as fast as transcription goes (written ``max``); ``"auto"`` lets the front
            end decide (the command line: real time when the captions are watched, max when
            they go to a file or a pipe; a :class:`~streamer.pipeline.Pipeline` given ``auto``
            replays at real time).
        device: microphone: PortAudio index or part of its name (``livescribe devices``); None
            is the system's default input.
        channel: microphone: keep only this input channel (1-based); None mixes all down.
        rate_hz: microphone: open the device at this rate and resample to 16 kHz with soxr;
            None opens it at 16 kHz if it takes it, else at its default rate. Raw PCM input
            (``format`` ``s16le``...): its sample rate (None: 16000).
        format: the input's container or raw sample format as FFmpeg names it (``s16le``,
            ``f32le``, ``wav``, ``mp3``...); None lets PyAV probe the data. Raw PCM has no
            header: give its ``rate_hz`` and ``channels``.
        channels: raw PCM input: interleaved channels (None: 1), mixed down to mono.
        repeat: replay the file this many times back to back, stream time running on (long
            sessions from one recording: ``scripts/soak.py``).
    """

    file: str | None = None
    speed: float | str = "auto"
    device: str | None = None
    channel: int | None = None
    rate_hz: int | None = None
    format: str | None = None
    channels: int | None = None
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ValueError("repeat must be >= 1")
        if self.speed != "auto" and not (isinstance(self.speed, (int, float))
                                         and self.speed > 0):
            raise ValueError("speed must be a number > 0, 'max' or 'auto'")
        if self.file == "-" and self.repeat != 1:
            raise ValueError("stdin cannot be replayed more than once (repeat must be 1)")
        if self.channels is not None and self.channels < 1:
            raise ValueError("input channels must be >= 1")
        if self.channel is not None and self.channel < 1:
            raise ValueError("channel must be >= 1 (1-based)")
        if self.rate_hz is not None and self.rate_hz <= 0:
            raise ValueError("input rate must be > 0 Hz")


@dataclass(frozen=True)
class ModelRequest:
    """What the user asks of the model; ``"auto"``/0/None leave the choice to the tuning plan
    (:func:`streamer.tuning.plan.make_plan`, docs/tuning.md).

    Attributes:
        name: ``"auto"``, an offline model (``tiny.en``, ``base``), a CTranslate2 model
            directory, or a faster-whisper name to download.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        compute_type: ``"auto"`` or a CTranslate2 compute type (``int8``, ``float16``...).
        threads: CPU intra-op threads; 0 = the plan's choice.
        beam_size: beam size of finals and pause decodes (1 = greedy); None = the plan's
            choice. Interim snapshots: ``decoding.interim_beam_size``.
        strict: an impossible device or compute type is an error (exit 78) instead of a
            fallback.
    """

    name: str = "auto"
    device: str = "auto"
    compute_type: str = "auto"
    threads: int = 0
    beam_size: int | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.threads < 0:
            raise ValueError("threads must be >= 0 (0 = auto)")
        if self.beam_size is not None and self.beam_size < 1:
            raise ValueError("beam size must be >= 1")
        if not self.name:
            raise ValueError("model name must not be empty")


@dataclass(frozen=True)
class OutputOptions:
    """Where captions and audio go.

    Attributes:
        format: caption format, one of :data:`streamer.output.sinks.FORMATS`.
        path: write captions to this file instead of stdout; None: stdout.
        timestamps: text format: prefix each caption with its stream times
            (``[00:00:01.200 --> 00:00:04.650] text``).
        max_line_width: srt/vtt: most characters per line; None: a caption is one line.
        max_line_count: srt/vtt: most lines per cue, longer captions being split into cues at
            word times (needs ``decoding.word_timestamps``); None: one cue per caption.
        transcript: append every final caption to this file (the session journal); None: a new
            file in the user data directory.
        journal: keep the session journal at all.
        partials: write interim text (text and jsonl); None lets the front end decide (the
            UI and plain text on a terminal show partials).
        record: save the captured audio (16 kHz mono) to this ``.flac`` or ``.wav`` file.
    """

    format: str = "text"
    path: str | None = None
    timestamps: bool = False
    max_line_width: int | None = None
    max_line_count: int | None = None
    transcript: str | None = None
    journal: bool = True
    partials: bool | None = None
    record: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.max_line_width is not None and self.max_line_width < 1:
            raise ValueError("max line width must be >= 1 character")
        if self.max_line_count is not None and self.max_line_count < 1:
            raise ValueError("max line count must be >= 1")


@dataclass(frozen=True)
class UiOptions:
    """What the front end shows (the engine never reads this group).

    Attributes:
        mode: ``"auto"`` (the terminal UI when stdout is a terminal), ``"tui"`` or ``"plain"``.
        verbose: logging: 0 warnings, 1 info and the tuning plan, 2 debug.
        benchmark: print per-window timings at exit.
        wall_clock: the UI's time column starts with wall-clock times (14:05:12) instead of
            stream times (M:SS); ``w`` toggles.
    """

    mode: str = "auto"
    verbose: int = 0
    benchmark: bool = False
    wall_clock: bool = False

    def __post_init__(self) -> None:
        if self.mode not in UI_MODES:
            raise ValueError(f"ui mode must be one of {', '.join(UI_MODES)}, not {self.mode!r}")
        if self.verbose < 0:
            raise ValueError("verbose must be >= 0")


@dataclass(frozen=True)
class PipelineOptions:
    """Queues and cadences of :class:`streamer.pipeline.Pipeline`.

    Attributes:
        ring_capacity_s: ring buffer capacity, seconds of 16 kHz audio (30 s: a decode that
            stalls that long costs overruns, counted).
        window_queue_size: speech windows that may wait for the worker before the segmenter
            blocks (backpressure).
        stats_interval_s: wall seconds between two :class:`~streamer.events.PipelineStats`.
        level_interval_s: wall seconds between two :class:`~streamer.events.InputLevel`
            (0.1 s: a meter at 10 Hz).
        malloc_arena_max: glibc malloc arenas of the process (``MALLOC_ARENA_MAX``), set by
            ``livescribe`` and ``livescribe serve`` before any thread starts; 0 leaves glibc's
            default (8 per core). 2: each thread otherwise gets an arena of its own and memory
            grows by fragmentation: one base session with partials at real time (meeting_dev,
            150 s) peaked at 567-597 MB with the default and 516 MB with 2, at the same decode
            speed (RTF 0.026 either way); a server with 8 sessions stayed at 295 MiB instead of 520-640 MiB
            (docs/deploy.md, "Memory").
        early_finals: on live input, words of the utterance still open become a caption
            once LocalAgreement settles them (a sentence end, or text that stopped growing;
            :mod:`streamer.decoding.early_finals`), instead of waiting for the utterance's
            end (docs/benchmarks.md, "Early finals").
    """

    ring_capacity_s: float = 30.0
    window_queue_size: int = 16
    stats_interval_s: float = 1.0
    level_interval_s: float = 0.1
    malloc_arena_max: int = 2
    early_finals: bool = True

    def __post_init__(self) -> None:
        if self.ring_capacity_s <= 0 or self.window_queue_size < 1:
            raise ValueError("ring capacity and window queue size must be positive")
        if self.stats_interval_s <= 0 or self.level_interval_s <= 0:
            raise ValueError("stats and level intervals must be > 0 s")
        if self.malloc_arena_max < 0:
            raise ValueError("malloc_arena_max must be >= 0")


@dataclass(frozen=True)
class ServerOptions:
    """``livescribe serve``: where it listens and what it admits (docs/server.md).

    Attributes:
        host: address to bind; anything but loopback needs an API key (``--api-key`` or
            ``LIVESCRIBE_API_KEY``, never a setting: ``livescribe config`` would print it).
        port: TCP port.
        max_sessions: concurrent sessions (uploads and streams) on the one model; more are
            refused with 429 and ``Retry-After``. 8: what tiny.en keeps up with in real time on
            2 cores (docs/benchmarks.md, "Server").
        max_upload_mb: largest upload, MB (10^6 bytes); larger is refused with 413.
        max_audio_s: longest audio of one upload or stream, seconds (413, or the stream closed).
        idle_timeout_s: a stream that sends nothing for this long is closed, an upload whose
            body stalls this long gets 408, seconds.
        batch_size: finals of different sessions decoded in one call; 0 = auto (1 on a CPU,
            8 on CUDA; :mod:`streamer.decoding.scheduler`).
        partial_share: most of the model's time partial decodes may take, (0, 1]; the rest is
            kept for finals and pause decodes (:mod:`streamer.decoding.scheduler`; measured in
            docs/benchmarks.md, "Server").
        log_format: stderr logs as JSON lines (``json``) or text.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_sessions: int = 8
    max_upload_mb: float = 200.0
    max_audio_s: float = 7200.0
    idle_timeout_s: float = 30.0
    batch_size: int = 0
    partial_share: float = 0.5
    log_format: str = "json"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("server port must be within 0..65535")
        if self.max_sessions < 1 or self.batch_size < 0:
            raise ValueError("server max_sessions must be >= 1 and batch_size >= 0")
        if min(self.max_upload_mb, self.max_audio_s, self.idle_timeout_s) <= 0:
            raise ValueError("server limits must be > 0")
        if not 0 < self.partial_share <= 1:
            raise ValueError("server partial_share must be within (0, 1]")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"server log format must be one of {', '.join(LOG_FORMATS)}")


@dataclass(frozen=True)
class Config:
    """Everything that tunes a session, one group per concern, in the order data flows.

    Build it with :func:`streamer.config.build.build_config` (defaults, config file,
    ``LIVESCRIBE_*`` environment, flags); ``Config()`` is the defaults.
    ``decoding.beam_size`` is not a setting: the tuning plan sets it from ``model.beam_size``.
    """

    input: InputOptions = field(default_factory=InputOptions)
    vad: VadOptions = field(default_factory=VadOptions)
    model: ModelRequest = field(default_factory=ModelRequest)
    decoding: DecodingOptions = field(default_factory=DecodingOptions)
    gate: GateOptions = field(default_factory=GateOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    ui: UiOptions = field(default_factory=UiOptions)
    server: ServerOptions = field(default_factory=ServerOptions)


#: fields that exist in a group but are not settings (another setting decides them)
NOT_SETTINGS = frozenset({"decoding.beam_size"})


@dataclass(frozen=True)
class Setting:
    """One leaf of the tree.

    Attributes:
        key: dotted path, e.g. ``"vad.detector.webrtc_mode"``.
        type: the field's type, e.g. ``float | None``.
        default: its value in ``Config()``.
    """

    key: str
    type: object
    default: object

    @property
    def env(self) -> str:
        """Its environment variable: ``LIVESCRIBE_`` + the key in upper case, dots as ``_``
        (``LIVESCRIBE_VAD_DETECTOR_WEBRTC_MODE``)."""
        return "LIVESCRIBE_" + self.key.upper().replace(".", "_")


def _walk(obj, prefix: str) -> list[Setting]:
    hints = typing.get_type_hints(type(obj))
    out: list[Setting] = []
    for f in fields(obj):
        key = f"{prefix}{f.name}"
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out += _walk(value, key + ".")
        elif key not in NOT_SETTINGS:
            out.append(Setting(key, hints[f.name], value))
    return out


_SETTINGS: tuple[Setting, ...] | None = None


def settings() -> tuple[Setting, ...]:
    """Every setting of :class:`Config`, in tree order (computed once)."""
    global _SETTINGS
    if _SETTINGS is None:
        _SETTINGS = tuple(_walk(Config(), ""))
    return _SETTINGS


def get(config: Config, key: str):
    """The value of ``key`` in ``config`` (``get(c, "vad.detector.webrtc_mode")``)."""
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def format_value(value) -> str:
    """A value as ``livescribe config`` and the config file write it: ``none``, ``max`` for an
    infinite speed, ``true``/``false``, numbers and strings as they are."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "max"
    return str(value)
