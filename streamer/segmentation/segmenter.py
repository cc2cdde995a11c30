"""The segmenter: turns the 16 kHz stream into utterances, each decoded whole.

All speech/non-speech decisions live here and in :mod:`streamer.segmentation.vad`, which measures every
30 ms frame (webrtcvad voiced?, Silero speech probability, level above the noise floor). The
state machine:

- **onset**: an utterance starts when Silero's probability reaches ``speech_threshold`` on
  ``onset_frames`` consecutive frames, or 6 of the last 10 (300 ms) are speech to Silero (at
  ``neg_threshold``), to webrtcvad and above the floor at once (from the pattern's first
  frame); it reaches back ``onset_lookback_ms`` at most through the webrtcvad-voiced frames
  above the floor before it, and runs of them (``BRIDGED_RUN_FRAMES`` or more) across pauses
  shorter than ``end_silence_ms`` (an onset Silero is late on, a first word it missed), then
  ``pre_roll_ms`` more so the first phoneme is not clipped;
- **speech goes on** while Silero's hold probability (the surest of its chunk grids) stays
  above ``neg_threshold`` (hysteresis, as upstream; unlike upstream, any such frame ends a
  pause, not only one at ``speech_threshold``, which cut telephone speech into pieces:
  docs/benchmarks.md, "Short reads and retries"), and through frames webrtcvad marks voiced at
  ``extend_snr_db`` above the floor for up to ``extend_ms`` after Silero's last speech frame
  (creaky endings, breathy or whispered words inside an utterance Silero has confirmed);
- **end of utterance**: ``end_silence_ms`` after Silero's last speech frame and the voiced
  frames that follow it without a break ends it (and at least ``pause_snapshot_ms`` after the
  last speech frame of any kind): voiced frames after a break within the extension (a key
  click, a chime; a breathy word) stay in the window but do not hold the utterance open
  (docs/benchmarks.md, "The end of an utterance after a click"); the whole utterance is one
  ``SpeechWindow`` (reason ``"end"``) holding its speech and ``pause_snapshot_ms`` of the pause
  after it; the rest of the pause stays in reach of the next onset's look-back;
- **background talk**: a Silero frame far under the utterance's own level is another
  talker's (:mod:`streamer.segmentation.foreground`); once the utterance holds
  ``background_min_s`` of the talker, such frames hold it open at most ``background_hold_ms``
  after their last frame: the window ends ``pause_snapshot_ms`` after it and the frames after
  it are segmented again, as if they had come after an end (talk 20 dB under the speaker held
  utterances open for up to 15 s);
- **cap**: an utterance reaching ``max_utterance_s`` is cut at its best pause within the last
  ``cut_search_ms`` (reason ``"cap"``); speech goes on in the next window;
- **fragments**: a window with less than ``min_confirmed_ms`` of Silero-confirmed speech is
  dropped and counted (a jingle or an explosion Silero flickers on), never decoded;
- **snapshots**: while an utterance is open and holds at least ``partial_min_speech_ms`` of
  confirmed speech, its audio so far is emitted as a ``"partial"`` window on a speech frame
  (when ``partial_interval_ms`` is set: the first at once, then every ``partial_interval_ms``),
  and as a ``"pause"`` window after ``pause_snapshot_ms`` of non-speech (with partials, or
  ``pause_snapshots``): if the utterance ends there, the final window holds the same audio and
  that decode is its final text (:mod:`streamer.decoding.worker`): waiting ``end_silence_ms``
  costs no decode time; when background talk holds an utterance open past such a wait, a
  ``"pause"`` window of what its final holds, then no other snapshot while the talk holds it
  (:meth:`Segmenter._talker_paused`). Snapshots never change the utterance windows.

Utterances are decoded whole, not in 3-5 s pieces (docs/benchmarks.md, "Context across
windows"). Defaults and their measurements: docs/tuning.md, "Speech detection".
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from streamer.capture.audio import SAMPLE_RATE
from streamer.segmentation.foreground import ForegroundLevel
from streamer.segmentation.options import VadOptions
from streamer.segmentation.vad import SILENCE_DBFS, FrameDecision, SpeechDetector
from streamer.segmentation.window import SpeechWindow

logger = logging.getLogger(__name__)

LEVEL_FLOOR_DBFS = -96.0  #: :attr:`Segmenter.level_dbfs` of digital silence (int16 range)
#: frames (90 ms, a syllable) a voiced run before a pause needs for the look-back to reach it:
#: room tone crosses the floor by 6 dB in frames of one or two (`prompts`, docs/benchmarks.md)
BRIDGED_RUN_FRAMES = 3
TRACE_SPEECH_S = 1.0  #: ``-vv``: an utterance logs once on this much speech, s (tests/test_cli.py)


@dataclass
class _Frame:
    pcm: np.ndarray  # int16 [frame_samples]
    d: FrameDecision
    captured_wall: float


class Segmenter:
    """Turns a stream of frames into utterance windows. Not thread-safe: one feeder.

    Args:
        options: segmentation options.
        detector: the frame-level detector (default: a :class:`~streamer.segmentation.vad.SpeechDetector`
            built from ``options.detector``); tests inject a scripted one.
        on_fragment: called with ``(start_s, end_s, confirmed_s)`` (stream seconds) for each
            fragment dropped (the pipeline turns it into a
            :class:`~streamer.events.FragmentDropped` event).

    Counters: :attr:`windows` emitted, :attr:`fragments_dropped`.
    """

    def __init__(self, options: VadOptions = VadOptions(), detector=None,
                 on_fragment: Callable[[float, float, float], None] | None = None) -> None:
        o = self.options = options
        self._on_fragment = on_fragment
        self.detector = detector or SpeechDetector(o.detector, o.frame_ms)
        self._frame_s = o.frame_ms / 1000
        # enough for the look-back and pre-roll from the first frame of an onset run or pattern
        self._back: deque[_Frame] = deque(maxlen=o.frames(o.onset_lookback_ms) + o.frames(
            o.pre_roll_ms) + max(o.onset_frames, o.frames(o.soft_onset_window_ms)))
        self._lookback = o.frames(o.onset_lookback_ms) if o.onset_lookback_ms else 0
        self._pre_roll = o.frames(o.pre_roll_ms) if o.pre_roll_ms else 0
        self._end = o.frames(o.end_silence_ms)
        self._extend = o.frames(o.extend_ms) if o.extend_ms else 0
        self._max = o.frames(o.max_utterance_s * 1000)
        self._search = o.frames(o.cut_search_ms)
        self._cur: list[_Frame] = []
        self._speech: list[bool] = []  # per frame of _cur: counted as speech
        self._cur_start = 0  # stream sample index of _cur[0]
        self._onset_run = 0
        self._soft: deque[bool] = deque(maxlen=o.frames(o.soft_onset_window_ms))
        self._since_speech = 0  # frames since the last speech frame
        self._since_silero = 0  # frames since the last Silero speech frame
        self._since_tail = 0  # frames since the last of Silero's speech or its unbroken tail
        self._bg_hold = o.frames(o.background_hold_ms) if o.background_db is not None else 0
        self._fg_level = ForegroundLevel(o.background_db or 0.0, self._max)
        self._since_fg = 0  # frames since the last foreground frame (Silero's, near its level)
        self._fg_frames = 0  # foreground frames of the open utterance
        self._bg_talk = self._bg_snapped = False  # background since the talker; _talker_paused
        self._bg_min = o.frames(o.background_min_s * 1000) if o.background_min_s else 0
        self._speech_frames = 0  # speech frames of the open utterance, cuts included
        self._trace_frames = o.frames(TRACE_SPEECH_S * 1000)
        self._snap_every = o.frames(o.partial_interval_ms) if o.partial_interval_ms else 0
        self._snap_min = o.frames(max(o.partial_min_speech_ms, o.min_confirmed_ms))
        self._snap_pause = o.frames(o.pause_snapshot_ms)
        self._snap_pauses = bool(self._snap_every) or o.pause_snapshots
        self._since_snap = 0  # frames since the last snapshot (or the utterance's start)
        self._confirmed = 0  # Silero-confirmed speech frames of the open window
        self._in_speech = False
        self._pos = 0  # stream sample index after the last fed frame
        self._level = SILENCE_DBFS
        self.windows = 0
        self.fragments_dropped = 0

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._in_speech

    @property
    def level_dbfs(self) -> float:
        """RMS level of the last fed frame in dBFS (0 = full-scale int16), floored at -96 (also
        before the first frame). For meters: a UI thread may read it while the segmenter thread
        feeds (one float, replaced whole on each frame)."""
        return max(LEVEL_FLOOR_DBFS, self._level)

    def feed(self, pcm: np.ndarray, captured_wall: float) -> list[SpeechWindow]:
        """Classify one frame and return the windows it completes (usually none; after an
        end under background talk, also the snapshots or fragment of the talk's utterance that
        its replayed frames make, with their own stream times).

        Args:
            pcm: ``int16 [frame_samples]`` at 16 kHz.
            captured_wall: ``time.monotonic()`` when the frame's last sample was captured.

        Raises:
            ValueError: wrong frame length.
        """
        n = self.options.frame_samples
        if pcm.shape != (n,):
            raise ValueError(f"expected {n} samples per frame, got {pcm.shape}")
        d = self.detector.frame(pcm)
        self._level = d.level_dbfs
        self._pos += n
        return self._step(_Frame(pcm, d, captured_wall))

    def _step(self, frame: _Frame) -> list[SpeechWindow]:
        """The state machine on one measured frame (``_pos`` is the stream sample after it:
        the frame just fed, or one replayed after background talk, :meth:`_replay`)."""
        o, d = self.options, frame.d
        out: list[SpeechWindow] = []
        if not self._in_speech:
            self._onset_run = self._onset_run + 1 if d.speech_prob >= o.speech_threshold else 0
            self._soft.append(d.speech_prob >= o.neg_threshold and self._voiced(d))
            soft = 0 < o.soft_onset_frames <= sum(self._soft)
            if self._onset_run >= o.onset_frames or soft:
                self._open(frame, soft=self._onset_run < o.onset_frames)
            else:
                self._back.append(frame)
            return out
        silero = d.hold_prob >= o.neg_threshold
        extended = self._voiced(d) and self._extend and self._since_silero < self._extend
        speech = silero or bool(extended)
        # Silero's speech and the voiced frames that follow it without a break (a creaky
        # ending): voiced frames after a break (a key click, a chime) are kept in the window
        # but do not hold the utterance open
        tail = silero or (bool(extended) and self._since_tail == 0)
        self._since_tail = 0 if tail else self._since_tail + 1
        fg = silero and (not self._bg_hold or self._fg_level.is_foreground(d.level_dbfs))
        self._since_fg = 0 if fg else self._since_fg + 1
        self._fg_frames += fg
        if fg:
            self._bg_talk = self._bg_snapped = False
        elif silero:
            self._bg_talk = True
        if silero:  # a frame the surer grid holds: the talker's, unless far under their level
            self._fg_level.keep(d.level_dbfs)
        # Silero's speech far under the talker's level (background talk) holds it open no longer
        background = (bool(self._bg_hold) and self._since_fg >= self._bg_hold
                      and self._fg_frames >= self._bg_min)
        self._since_silero = 0 if silero else self._since_silero + 1
        self._since_speech = 0 if speech else self._since_speech + 1
        self._cur.append(frame)
        self._speech.append(speech)
        self._since_snap += 1
        if speech:
            self._speech_frames += 1
            self._confirmed += d.speech_prob >= o.neg_threshold  # confirmed on the grids' mean
            if self._speech_frames == self._trace_frames:
                logger.debug("utterance from %.2f s holds %.1f s of speech",
                             self._cur_start / SAMPLE_RATE, TRACE_SPEECH_S)
        ended = self._since_tail >= self._end and self._since_speech >= self._snap_pause
        if ended or background:
            if background and not ended:  # the talker's speech ended at its last foreground frame
                n_fg = max(0, len(self._cur) - self._since_fg)  # (before a cap cut: none)
                self._speech[n_fg:] = [False] * (len(self._cur) - n_fg)
                self._since_speech = len(self._cur) - n_fg
            # the window keeps pause_snapshot_ms after its speech: the pause snapshot's audio
            k = max(0, len(self._cur) - self._since_speech + self._snap_pause)
            if not any(self._speech[:k]):  # pause only (soon after a cap cut): keep all of it
                k = 0
            self._emit(k, "end", out, decided_wall=frame.captured_wall)
            rest = self._cur[k:]
            self._close()
            if background:  # the talk goes on: its frames are segmented afresh
                out += self._replay(rest)
            else:
                self._back.extend(rest)  # never sent: the next onset may reach back into them
        elif len(self._cur) >= self._max:
            k = self._best_cut()
            self._emit(k, "cap", out)
            self._cur, self._speech = self._cur[k:], self._speech[k:]
            self._cur_start += k * o.frame_samples
            self._confirmed, self._since_snap = self._confirmed_in(self._cur, self._speech), 0
            self._bg_snapped = False  # a snapshot of the talker's speech is of the cut window
        elif self._confirmed >= self._snap_min:
            if self._bg_snapped and self._since_fg - self._since_speech > self._end:
                pass  # talk holds it, its final's snapshot taken: no other for the worker to decode
            elif self._snap_every and speech and self._since_snap >= self._snap_every:
                self._snapshot("partial", out)
            elif self._snap_pauses and self._since_speech == self._snap_pause:
                self._bg_snapped |= self._since_fg == self._since_speech  # a background end's
                self._snapshot("pause", out)
            elif self._snap_pauses and self._talker_paused():
                self._bg_snapped, self._since_snap = True, 0
                n_fg = len(self._cur) - self._since_fg
                self._emit(n_fg + self._snap_pause, "pause", out, snapshot=True, talker=n_fg)
        return out

    def _talker_paused(self) -> bool:
        """True when background talk holds the utterance open past a pause that would have
        ended it (the talker silent ``end_silence_ms``, Silero or its voiced tail speech in the
        last ``pause_snapshot_ms``) and no pause snapshot holds the talker's speech yet: what a
        background end's final holds. Sooner (150 ms into the talker's pauses) such snapshots
        outnumbered the others on a clean meeting and delayed its finals (docs/benchmarks.md)."""
        return (self._bg_talk and not self._bg_snapped and bool(self._bg_hold)
                and self._fg_frames >= self._bg_min
                and self._end <= self._since_fg < len(self._cur)
                and self._since_tail < self._snap_pause)

    def flush(self) -> list[SpeechWindow]:
        """End of stream: emit the open utterance, if any, as a final window."""
        out: list[SpeechWindow] = []
        if self._in_speech and self._cur:
            self._emit(len(self._cur), "flush", out)
        self._close()
        return out

    # -- internals ------------------------------------------------------------------------
    def _open(self, frame: _Frame, soft: bool) -> None:
        """Start an utterance at ``frame`` (the last of the onset run or the soft pattern)."""
        o = self.options
        back = list(self._back)
        # back's first onset frame: of the run, or the soft pattern's first (_soft ends at frame)
        onset = max(0, len(back) + 1 - (len(self._soft) - self._soft.index(True) if soft
                                        else o.onset_frames))

        def voiced(f: _Frame) -> bool:
            return self._voiced(f.d)

        def run_from(i: int) -> int:  # the first frame of the voiced run ending at back[i - 1]
            while i > 0 and voiced(back[i - 1]) and onset - i < self._lookback:
                i -= 1
            return i

        # voiced frames above the floor just before the onset, then earlier runs of them at least
        # BRIDGED_RUN_FRAMES long across pauses shorter than end_silence_ms (a first word Silero
        # missed, then a pause; not a noise frame of the room), at most onset_lookback_ms back
        first = i = run_from(onset)
        while i > 0 and onset - i < self._lookback and first - i < self._end:
            k = run_from(i - 1) if voiced(back[i - 1]) else i - 1
            first, i = (k if i - k >= BRIDGED_RUN_FRAMES else first), k
        start = max(0, first - self._pre_roll)
        self._cur = back[start:] + [frame]
        # speech: the voiced frames the look-back kept, then the onset's frames that are voiced
        # or Silero's (all of a strict onset run; a soft pattern's gaps are not speech)
        self._speech = ([False] * (first - start) + [voiced(f) for f in back[first:onset]]
                        + [voiced(f) or f.d.speech_prob >= o.neg_threshold for f in back[onset:]]
                        + [True])
        self._cur_start = self._pos - len(self._cur) * o.frame_samples
        self._back.clear()
        self._in_speech = True
        self._since_speech = self._since_silero = self._since_tail = self._since_fg = 0
        self._fg_frames, self._bg_talk, self._bg_snapped = 0, False, False
        for f in back[onset:] + [frame]:
            if f.d.speech_prob >= o.neg_threshold:
                self._fg_level.keep(f.d.level_dbfs)
        self._speech_frames = sum(self._speech)
        self._confirmed = self._confirmed_in(self._cur, self._speech)
        self._since_snap = self._snap_every  # the first snapshot is due once speech suffices
        logger.debug("utterance open from %.2f s", self._cur_start / SAMPLE_RATE)

    def _replay(self, rest: list[_Frame]) -> list[SpeechWindow]:
        """After an utterance ended under background talk: its frames after the window
        (``rest``, the last one just fed) through the state machine again, as if the end had
        come before them: the talk may open the next utterance (or be a fragment)."""
        out, end, n = [], self._pos, self.options.frame_samples
        for i, f in enumerate(rest):
            self._pos = end - (len(rest) - 1 - i) * n
            out += self._step(f)
        self._pos = end
        return out

    def _voiced(self, d: FrameDecision) -> bool:
        """webrtcvad's voice at ``extend_snr_db`` above the floor: what extends an utterance,
        what its look-back reaches back through, and half of a soft onset."""
        return d.voiced and d.snr_db >= self.options.extend_snr_db

    def _confirmed_in(self, frames: list[_Frame], speech: list[bool]) -> int:
        """Frames of ``frames`` counted as speech that Silero confirms (at ``neg_threshold``)."""
        return sum(f.d.speech_prob >= self.options.neg_threshold for f, s in zip(frames, speech) if s)

    def _close(self) -> None:
        # the look-back starts empty: frames already sent in this window are never sent twice
        # (after an end, _step puts back the pause frames past the window, never sent, or
        # replays them after background talk)
        for held in (self._back, self._fg_level, self._soft):
            held.clear()
        self._cur, self._speech = [], []
        self._in_speech, self._onset_run = False, 0

    def _best_cut(self) -> int:
        """Frames to emit at the cap: up to the best pause in the last ``cut_search_ms``.

        The best pause is the longest run of non-speech frames (ties: the later one); with no
        pause, the quietest frame by Silero probability, then level.
        """
        n = len(self._cur)
        lo = max(1, n - self._search)
        best, best_len, run = None, 0, 0
        for i in range(lo, n):
            run = run + 1 if not self._speech[i] else 0
            if run and run >= best_len:
                best, best_len = i - run // 2, run  # the middle of the pause
        if best is None:
            best = min(range(lo, n), key=lambda i: (self._cur[i].d.speech_prob,
                                                     self._cur[i].d.level_dbfs))
        return best + 1

    def _snapshot(self, reason: str, out: list[SpeechWindow]) -> None:
        """Emit the open utterance so far as a snapshot window (it stays open)."""
        self._since_snap = 0
        self._emit(len(self._cur), reason, out, snapshot=True)

    def _emit(self, k: int, reason: str, out: list[SpeechWindow], snapshot: bool = False,
              decided_wall: float | None = None, talker: int | None = None) -> None:
        """Emit the first ``k`` frames of the open utterance (or count them as a fragment; pause
        frames alone are neither).
        ``decided_wall``: when the window was cut, if later than its last frame's capture.
        ``talker``: only its first ``talker`` frames are speech (:meth:`_talker_paused`)."""
        frames, speech = self._cur[:k], self._speech[:k]
        if talker is not None:
            speech = speech[:talker] + [False] * (k - talker)
        if not any(speech):  # pause only (an end soon after a cap cut): nothing to decode
            return
        fs, o = self._frame_s, self.options
        n, confirmed = o.frame_samples, self._confirmed_in(frames, speech)
        if confirmed * fs * 1000 < o.min_confirmed_ms and not snapshot:
            self.fragments_dropped += 1
            if self._on_fragment is not None:
                self._on_fragment(self._cur_start / SAMPLE_RATE,
                                  (self._cur_start + k * n) / SAMPLE_RATE, confirmed * fs)
            return
        first = next(i for i, s in enumerate(speech) if s)
        last = max(i for i, s in enumerate(speech) if s) if reason != "cap" else k - 1

        def at(i: int) -> float:  # stream time of frame i's start, from sample counts
            return (self._cur_start + i * n) / SAMPLE_RATE

        out.append(SpeechWindow(
            index=self.windows,
            audio=np.concatenate([f.pcm for f in frames]),
            start_s=at(0),
            end_s=at(k),
            voiced_s=sum(speech) * fs,
            captured_wall=frames[-1].captured_wall if decided_wall is None else decided_wall,
            reason=reason,
            speech_start_s=at(first),
            speech_end_s=at(last + 1),
            confirmed_s=confirmed * fs,
            speech_end_wall=frames[last].captured_wall,
            peak_speech_prob=max(f.d.speech_prob for f in frames),
            decided_s=self._pos / SAMPLE_RATE,
        ))
        if not snapshot:
            self.windows += 1
