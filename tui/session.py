"""The UI's view of a session: plain Python, no Textual, no audio or model logic.

:class:`SessionView` folds engine events (:mod:`streamer.events`) into what the widgets show:
the captions so far, the windows being transcribed, caption latencies and the last counters.
:class:`SessionInfo` is what the device panel shows about the set-up. Keeping this state out of
the widgets lets the tests check it directly and lets every widget render from one source.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streamer.events import (Caption, ModelReady, Partial, PipelineStats, SourceOpened,
                             WindowDropped, WindowStarted, WindowTimings)
from streamer.output.figures import LATENCIES_KEPT, percentiles
from streamer.output.journal import transcript_header, transcript_line

SAMPLE_RATE_HZ = 16000  #: the pipeline's internal rate (streamer.capture.audio.SAMPLE_RATE)


def format_wall_time(epoch_s: float) -> str:
    """A wall-clock time (seconds since the epoch) as local ``HH:MM:SS``, e.g. ``14:05:12``."""
    return time.strftime("%H:%M:%S", time.localtime(epoch_s))


def find_matches(texts: Iterable[str], query: str) -> list[int]:
    """Indices of the ``texts`` that contain ``query``, ignoring case (none for an empty query)."""
    q = query.casefold()
    return [i for i, t in enumerate(texts) if q in t.casefold()] if q else []


def format_stream_time(seconds: float) -> str:
    """Stream time as ``M:SS`` (``H:MM:SS`` from one hour), for the caption time column."""
    s = int(max(0.0, seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass(frozen=True)
class SessionInfo:
    """What the device panel shows about the session's set-up, before and after the model loads.

    Attributes:
        input: the input as the source describes itself, e.g. ``"file jfk.flac"``.
        input_rate_hz: the input's own sample rate in Hz when the source reports it (a
            microphone's), else None; the pipeline always runs at 16 kHz mono.
        model: model name or path as asked for.
        device, compute_type: requested inference device and CTranslate2 compute type.
        threads: requested CPU threads (0 = CTranslate2's default).
        beam_size: decoding beam size.
        plan: rows of the tuning plan (label -> value) when one was made, else None (from
            :class:`~streamer.events.PlanReady`).
        cpu_features: CPU features the plan's probe found (e.g. ``("avx2", "fma")``), if known.
    """

    input: str
    input_rate_hz: int | None = None
    model: str = ""
    device: str = "cpu"
    compute_type: str = "int8"
    threads: int = 0
    beam_size: int = 1
    plan: Mapping[str, str] | None = None
    cpu_features: tuple[str, ...] = ()


@dataclass
class SessionView:
    """Engine events folded into display state. Fed on the UI thread only.

    Attributes:
        captions: every caption of the session, in order (clearing the screen keeps them).
        pending: windows being transcribed: index -> (start_s, end_s) stream seconds.
        latencies_s: wall-clock latency of each caption, seconds (the last
            :data:`~streamer.output.figures.LATENCIES_KEPT`).
        latency_p50_s, latency_p95_s: their percentiles
            (:func:`~streamer.output.figures.percentiles`), computed once per caption; None
            before the first.
        model: the :class:`ModelReady` event, once the model is warm.
        stats: the last :class:`PipelineStats`; stats_seen counts them.
        dropped: windows removed by a filter or decoded to nothing.
        finished: True once the engine delivered its final stats.
        partial: the newest :class:`Partial` of the utterance being spoken, until its final
            caption (or its drop) replaces it.
        partials_seen: partials received.
        clock_offset_s: wall-clock minus monotonic seconds: turns the events' ``*_wall``
            readings (``time.monotonic()``) into wall-clock time (seconds since the epoch).
        stream_epoch_s: the wall-clock time of stream time 0 as of the newest caption, partial
            or window (None until one arrives); pausing capture moves it later.
        timings: per-window :class:`WindowTimings` for ``--benchmark`` (the last 10,000).
        source: the input, from :class:`SourceOpened` (for the transcript's header).
        opened_epoch_s: wall-clock time the input was opened (the header's time; until a
            :class:`SourceOpened` arrives, when the view was made).
    """

    captions: list[Caption] = field(default_factory=list)
    pending: dict[int, tuple[float, float]] = field(default_factory=dict)
    latencies_s: deque = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    model: ModelReady | None = None
    stats: PipelineStats | None = None
    stats_seen: int = 0
    dropped: int = 0
    finished: bool = False
    partial: Partial | None = None
    partials_seen: int = 0
    clock_offset_s: float = field(default_factory=lambda: time.time() - time.monotonic())
    stream_epoch_s: float | None = None
    timings: deque = field(default_factory=lambda: deque(maxlen=10_000))
    source: str | None = None
    opened_epoch_s: float = field(default_factory=time.time)

    def apply(self, event: object) -> None:
        """Fold one engine event in (unknown event types are ignored)."""
        if isinstance(event, Caption):
            self.pending.pop(event.window_index, None)
            self.captions.append(event)
            self.latencies_s.append(event.latency_s)
            self.latency_p50_s, self.latency_p95_s = percentiles(self.latencies_s, (50, 95))
            self._close_partial(event.utterance_id)
            self.stream_epoch_s = self.caption_wall_s(event) - event.start_s
        elif isinstance(event, Partial):
            self.partials_seen += 1
            self.partial = event
            if event.emitted_wall:  # decoded just after end_s was heard
                self.stream_epoch_s = event.emitted_wall + self.clock_offset_s - event.end_s
        elif isinstance(event, WindowTimings):
            self.timings.append(event)
        elif isinstance(event, WindowStarted):
            self.pending[event.window_index] = (event.start_s, event.end_s)
            if event.started_wall and self.stream_epoch_s is None:  # cut just after end_s
                self.stream_epoch_s = event.started_wall + self.clock_offset_s - event.end_s
        elif isinstance(event, WindowDropped):
            self.pending.pop(event.window_index, None)
            self.dropped += event.lost
            self._close_partial(event.window_index)
        elif isinstance(event, ModelReady):
            self.model = event
        elif isinstance(event, SourceOpened):
            self.source, self.opened_epoch_s = event.description, time.time()
        elif isinstance(event, PipelineStats):
            self.stats = event
            self.stats_seen += 1
            if event.final:
                self.finished = True
                self.pending.clear()
                self.partial = None

    def _close_partial(self, utterance: int) -> None:
        """A final or a drop for ``utterance`` ends the partials up to it."""
        if self.partial is not None and self.partial.utterance <= utterance:
            self.partial = None

    def caption_wall_s(self, caption: Caption) -> float:
        """Wall-clock time (seconds since the epoch) when ``caption``'s speech started: its
        emission, less its latency (back to the end of its speech), less its duration."""
        return (caption.emitted_wall + self.clock_offset_s - caption.latency_s
                - (caption.end_s - caption.start_s))

    def wall_s(self, stream_s: float) -> float | None:
        """Wall-clock time of stream time ``stream_s`` by :attr:`stream_epoch_s` (None before
        any event told it)."""
        return None if self.stream_epoch_s is None else self.stream_epoch_s + stream_s

    def pending_line(self) -> tuple[float | None, float | None]:
        """The work-in-progress line: ``(start_s, wall_s)`` of the first window being
        decoded, or of the open utterance's partial; ``(None, None)`` when there is neither."""
        if self.partial is not None:
            start = self.partial.start_s
        elif self.pending:
            start = self.pending[min(self.pending)][0]
        else:
            return None, None
        return start, self.wall_s(start)

    @property
    def last_latency_s(self) -> float | None:
        """Latency of the newest caption, seconds."""
        return self.latencies_s[-1] if self.latencies_s else None

    def transcript(self, header: bool = True) -> str:
        """The session's captions in the format of the session journal (the transcript,
        :mod:`streamer.output.journal`): a ``# livescribe session <time>, <input>`` line (with
        ``header``), then ``[HH:MM:SS.mmm --> HH:MM:SS.mmm] text`` per caption."""
        lines = [transcript_header(self.source, self.opened_epoch_s)] if header else []
        return "".join(lines + [transcript_line(c) for c in self.captions])


def default_transcript_path(now: float | None = None, directory: Path | None = None) -> Path:
    """What ``s`` proposes to export to: ``livescribe-YYYYmmdd-HHMMSS.txt``.

    In ``directory`` if given, else the current directory when writable, else the user data
    directory (``platformdirs.user_data_path("livescribe") / "transcripts"``).
    """
    name = time.strftime("livescribe-%Y%m%d-%H%M%S.txt", time.localtime(now))
    if directory is None:
        cwd = Path.cwd()
        if os.access(cwd, os.W_OK):
            directory = cwd
        else:
            import platformdirs

            directory = platformdirs.user_data_path("livescribe") / "transcripts"
    return directory / name


def save_transcript(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file then rename); return the path.

    Raises:
        OSError: the directory cannot be created or written.
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path.resolve()
