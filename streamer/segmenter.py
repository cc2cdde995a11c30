"""The VAD segmenter: cuts the 16 kHz stream into voiced windows of about 3-5 s.

All speech/non-speech decisions live here. webrtcvad classifies each 10/20/30 ms ``int16``
frame; a small state machine turns frames into :class:`~streamer.events.SpeechWindow` s:

- **onset**: speech starts when ``onset_frames`` of the last ``onset_window_frames`` frames are
  voiced; the ``pre_roll_ms`` before it are kept so the first phoneme is not clipped;
- **end of utterance**: ``hangover_ms`` of non-speech ends the window;
- **pause cut**: once a window is ``min_window_s`` long, a shorter pause (``pause_ms``) is
  enough to cut it, so long turns are decoded in 3-5 s pieces that end between words;
- **cap**: at ``max_window_s`` the window is cut at the quietest frame of the last
  ``cut_search_ms`` (unvoiced frames first, then lowest energy); the rest starts the next window;
- **fragments**: a window with less than ``min_speech_ms`` of voiced frames is dropped and counted
  (clicks, coughs, VAD flicker), never sent to the model.

Defaults are from our benchmark on ``meeting_dev`` (docs/tuning.md).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from streamer.audio import SAMPLE_RATE
from streamer.events import SpeechWindow

LEVEL_FLOOR_DBFS = -96.0  #: :attr:`Segmenter.level_dbfs` of digital silence (int16 range)
FULL_SCALE_SQ = 32768.0 ** 2  #: mean square of a full-scale int16 signal


@dataclass(frozen=True)
class VadOptions:
    """Segmentation options. Units are in the names.

    Attributes:
        aggressiveness: webrtcvad mode, 0 (least) to 3 (most aggressive in rejecting non-speech).
            3 by our benchmark: on meeting_dev's -58 dBFS room-noise gaps modes 0-2 mark 31-46 %
            of frames voiced, so utterances never end and run to the 5 s cap (base latency p95
            3.8 s); mode 3 marks 0 % and still 88 % of speech frames (p95 0.9 s, same WER).
        frame_ms: VAD frame length; webrtcvad accepts 10, 20 or 30 ms.
        onset_frames: voiced frames needed among the last ``onset_window_frames`` to start speech.
        onset_window_frames: look-back for the onset decision, frames.
        pre_roll_ms: audio kept before the onset, milliseconds.
        hangover_ms: non-speech that ends an utterance, milliseconds.
        pause_ms: non-speech that cuts a window already ``min_window_s`` long, milliseconds.
        min_window_s: window length after which a short pause is enough to cut, seconds.
        max_window_s: hard cap on window length, seconds.
        cut_search_ms: how far back from the cap to look for the quietest frame, milliseconds.
        min_speech_ms: windows with less voiced audio are dropped as fragments, milliseconds.
    """

    aggressiveness: int = 3
    frame_ms: int = 30
    onset_frames: int = 2
    onset_window_frames: int = 3
    pre_roll_ms: int = 300
    hangover_ms: int = 300
    pause_ms: int = 150
    min_window_s: float = 3.0
    max_window_s: float = 5.0
    cut_search_ms: int = 1000
    min_speech_ms: int = 200

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30 (webrtcvad frame sizes)")
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError("VAD aggressiveness must be 0..3")
        if not 0 < self.min_window_s <= self.max_window_s:
            raise ValueError("need 0 < min_window_s <= max_window_s")
        if self.cut_search_ms >= self.max_window_s * 1000:
            raise ValueError("cut_search_ms must be shorter than max_window_s")
        if not 1 <= self.onset_frames <= self.onset_window_frames:
            raise ValueError("need 1 <= onset_frames <= onset_window_frames")

    @property
    def frame_samples(self) -> int:
        """Samples per VAD frame at 16 kHz."""
        return SAMPLE_RATE * self.frame_ms // 1000

    def frames(self, ms: float) -> int:
        """Whole frames in ``ms`` milliseconds (at least 1)."""
        return max(1, int(round(ms / self.frame_ms)))


@dataclass
class _Frame:
    pcm: np.ndarray  # int16 [frame_samples]
    voiced: bool
    energy: float  # mean square, int16 units
    captured_wall: float


class Segmenter:
    """Turns a stream of VAD frames into speech windows. Not thread-safe: one feeder.

    Args:
        options: segmentation options.

    Counters: :attr:`windows` emitted, :attr:`fragments_dropped`, :attr:`frames_seen`.
    """

    def __init__(self, options: VadOptions = VadOptions()) -> None:
        import webrtcvad

        self.options = options
        self._vad = webrtcvad.Vad(options.aggressiveness)
        o = options
        self._pre: deque[_Frame] = deque(maxlen=o.frames(o.pre_roll_ms))
        self._recent: deque[bool] = deque(maxlen=o.onset_window_frames)
        self._hangover = o.frames(o.hangover_ms)
        self._pause = o.frames(o.pause_ms)
        self._min_frames = o.frames(o.min_window_s * 1000)
        self._max_frames = o.frames(o.max_window_s * 1000)
        self._search = o.frames(o.cut_search_ms)
        self._cur: list[_Frame] = []
        self._cur_start = 0  # stream sample index of _cur[0]
        self._silence_run = 0
        self._in_speech = False
        self._pos = 0  # stream sample index after the last fed frame
        self.windows = 0
        self.fragments_dropped = 0
        self.frames_seen = 0
        self._last_energy = 0.0  # mean square of the last frame, int16 units

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._in_speech

    @property
    def level_dbfs(self) -> float:
        """RMS level of the last fed frame in dBFS (0 = full-scale int16), floored at -96.

        For meters: a UI thread may read it while the segmenter thread feeds (one float,
        replaced whole on each frame). Before the first frame it is the floor, -96.
        """
        return max(LEVEL_FLOOR_DBFS, 10.0 * math.log10(max(self._last_energy, 1e-12) / FULL_SCALE_SQ))

    def feed(self, pcm: np.ndarray, captured_wall: float) -> list[SpeechWindow]:
        """Classify one frame and return the windows it completes (usually none).

        Args:
            pcm: ``int16 [frame_samples]`` at 16 kHz.
            captured_wall: ``time.monotonic()`` when the frame's last sample was captured.

        Raises:
            ValueError: wrong frame length.
        """
        n = self.options.frame_samples
        if pcm.shape != (n,):
            raise ValueError(f"expected {n} samples per frame, got {pcm.shape}")
        voiced = self._vad.is_speech(pcm.tobytes(), SAMPLE_RATE)
        x = pcm.astype(np.float32)
        frame = _Frame(pcm, voiced, float(np.dot(x, x)) / n, captured_wall)
        self._last_energy = frame.energy
        self._pos += n
        self.frames_seen += 1
        out: list[SpeechWindow] = []
        if not self._in_speech:
            self._pre.append(frame)
            self._recent.append(voiced)
            if voiced and sum(self._recent) >= self.options.onset_frames:
                self._in_speech = True
                self._cur = list(self._pre)
                self._cur_start = self._pos - len(self._cur) * n
                self._pre.clear()
                self._silence_run = 0
            return out
        self._cur.append(frame)
        self._silence_run = 0 if voiced else self._silence_run + 1
        limit = self._pause if len(self._cur) >= self._min_frames else self._hangover
        if self._silence_run >= limit:
            self._emit(self._cur, "pause", out)
            # trailing silence seeds the next pre-roll so a quick restart keeps its onset
            tail = self._cur[-min(self._silence_run, self._pre.maxlen):]
            self._pre.clear()
            self._pre.extend(tail)
            self._recent.clear()
            self._cur = []
            self._in_speech = False
        elif len(self._cur) >= self._max_frames:
            lo = len(self._cur) - self._search
            k = min(range(lo, len(self._cur)),
                    key=lambda i: (self._cur[i].voiced, self._cur[i].energy))
            head, rest = self._cur[:k + 1], self._cur[k + 1:]
            self._emit(head, "cap", out)
            self._cur_start += len(head) * n
            self._cur = rest
            self._silence_run = 0
            for f in reversed(rest):
                if f.voiced:
                    break
                self._silence_run += 1
        return out

    def flush(self) -> list[SpeechWindow]:
        """End of stream: emit the open utterance, if any, as a final window."""
        out: list[SpeechWindow] = []
        if self._in_speech and self._cur:
            self._emit(self._cur, "flush", out)
        self._cur = []
        self._in_speech = False
        return out

    def _emit(self, frames: list[_Frame], reason: str, out: list[SpeechWindow]) -> None:
        fs = self.options.frame_ms / 1000
        voiced_s = sum(f.voiced for f in frames) * fs
        if voiced_s * 1000 < self.options.min_speech_ms:
            self.fragments_dropped += 1
            return
        start_s = self._cur_start / SAMPLE_RATE
        out.append(SpeechWindow(
            index=self.windows,
            audio=np.concatenate([f.pcm for f in frames]),
            start_s=start_s,
            end_s=start_s + len(frames) * fs,
            voiced_s=voiced_s,
            captured_wall=frames[-1].captured_wall,
            reason=reason,
        ))
        self.windows += 1
