"""Frame-level speech detection: webrtcvad, confirmed by Silero VAD, against an adaptive floor.

Three measurements per 30 ms frame, each with a job (docs/tuning.md, "Speech detection"):

- **webrtcvad** (first stage, cheap, 30 ms resolution): high recall on every voice at mode 1
  (whispered, creaky, breathy, falsetto), but it also marks music, chimes and loud room noise
  voiced, and its decisions depend on the input level;
- **Silero VAD** (the model-based confirmation; the v6 ONNX model that ships inside
  faster-whisper, run with onnxruntime on 32 ms chunks): level-independent on ordinary speech and
  close to silent on music and effects, but it misses whispered speech and much of a creaky voice.
  Its probability for a short sound depends on where its 32 ms chunk grid falls, so it runs on
  two grids half a chunk apart (their mean opens an utterance, the surer of them holds it).
  Its LSTM state carries over between calls: over a whole meeting it adapts to the voices heard
  and then misses an unusual one (falsetto 17 % of frames above 0.5 after 2 minutes of other
  speakers, 79 % on the clip alone), so the state is reset after ``reset_after_silence_ms`` of
  non-speech, which restores the clip-alone recall (``scripts/vad_study.py``);
- **an adaptive noise floor**: a low percentile of recent frame energies; a frame's level above it
  (SNR, dB) is relative, so no absolute level threshold enters the speech path.

:class:`SpeechDetector` yields a :class:`FrameDecision` per frame; the segmenter
(:mod:`streamer.segmentation.segmenter`) turns them into utterances.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamer.capture.audio import SAMPLE_RATE, int16_to_float32

SILERO_CHUNK_SAMPLES = 512  #: Silero's chunk at 16 kHz (32 ms), fixed by the model
SILERO_CONTEXT_SAMPLES = 64  #: samples of the previous chunk the v5/v6 models look at
SILENCE_DBFS = -120.0  #: level given to digital silence (log of zero)


def silero_model_path() -> Path:
    """The Silero VAD v6 ONNX model bundled with faster-whisper (``faster_whisper/assets``)."""
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


@functools.cache
def _onnx_session(path: str):
    """One onnxruntime session per model file for the whole process: the state is the
    caller's (``h``, ``c``, context), and ``run`` may be called from several threads at once,
    so every session's detector shares it (loaded once: a server warms it at start)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 4
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"],
                                        sess_options=opts)


class SileroVad:
    """Streaming Silero VAD: one speech probability per 512-sample chunk, state kept between calls.

    The same network and input layout as faster-whisper's offline ``get_speech_timestamps``
    (which runs the whole file in one batch): each chunk is preceded by the last 64 samples of
    the previous one, and the LSTM state ``(h, c)`` flows from chunk to chunk. Fed a file chunk
    by chunk it matches the batch run to 1e-4 (``scripts/vad_study.py``). About 0.15 ms per
    chunk on one core (0.5 % of real time).

    Raises:
        RuntimeError: onnxruntime is missing or the model cannot be loaded.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._session = _onnx_session(str(path or silero_model_path()))
        self.reset()

    def reset(self) -> None:
        """Forget the LSTM state and the context samples (as at the start of a clip)."""
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(SILERO_CONTEXT_SAMPLES, np.float32)

    def __call__(self, chunk: np.ndarray) -> float:
        """Speech probability of one chunk.

        Args:
            chunk: ``float32 [512]`` in [-1, 1] at 16 kHz.

        Returns:
            Probability in [0, 1] that the chunk is speech.
        """
        x = np.concatenate([self._context, chunk]).astype(np.float32, copy=False)[None]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = chunk[-SILERO_CONTEXT_SAMPLES:].astype(np.float32)
        return float(out.reshape(-1)[0])


class NoiseFloor:
    """A running estimate of the background level: a low percentile of recent frame levels.

    The floor follows the room: a laptop microphone 20-30 dB quieter than a headset has a floor
    20-30 dB lower, and a frame's level *above* the floor means the same in both. Recomputed
    every ``update_frames`` frames from the last ``window_frames`` (10 s of 30 ms frames by
    default); the 10th percentile stays on the background as long as at least a tenth of the
    last 10 s is pauses, which every conversation has between sentences.

    Args:
        window_frames: frames remembered.
        percentile: the percentile taken as the floor, in [0, 100].
        update_frames: frames between recomputations.
    """

    def __init__(self, window_frames: int = 333, percentile: float = 10.0,
                 update_frames: int = 10) -> None:
        self._levels: deque[float] = deque(maxlen=window_frames)
        self._percentile = percentile
        self._update = update_frames
        self._n = 0
        self.floor_dbfs = SILENCE_DBFS  #: the current floor, dBFS

    def update(self, level_dbfs: float) -> float:
        """Add one frame's level (dBFS); return its SNR above the floor, dB."""
        self._levels.append(level_dbfs)
        if self._n % self._update == 0 or len(self._levels) < self._update:
            self.floor_dbfs = float(np.percentile(self._levels, self._percentile))
        self._n += 1
        return level_dbfs - self.floor_dbfs


@dataclass(frozen=True)
class DetectorOptions:
    """Options of :class:`SpeechDetector`. Units are in the names.

    Attributes:
        webrtc_mode: webrtcvad aggressiveness, 0 (least) to 3. 1 by our benchmark: modes 0-1
            keep 79-93 % of whispered and 42-83 % of creaky frames, mode 3 under a third, and
            none of them at -30 dB; the confirmation by Silero, not the mode, rejects noise.
        reset_after_silence_ms: reset Silero's state after this much non-speech (probability
            below ``reset_below``), so that each utterance is judged as on a clip alone.
            1000 ms by ``scripts/vad_study.py``: after two minutes of the meeting with the state
            kept, Silero marks 17 % of a falsetto's frames and 14 % of a breathy voice's
            speech (79 % and 60 % on the clips alone); a reset after 0.5, 1 or 2 s of
            non-speech restores 84 % and 59 %. 1 s sits in the middle of that plateau and is
            shorter than the 0.3-2 s gaps between speakers we build conditions with.
        reset_below: Silero probability counted as non-speech for the reset.
        silero_phases: Silero runs on this many chunk grids, offset from each other by
            ``512 / silero_phases`` samples, each with its own state and reset, and a frame's
            ``speech_prob`` is their mean (what opens an utterance, its peak and its confirmed
            speech). Silero's probability for a short or unusual sound depends on where its
            32 ms grid falls: the telephone prompt "Calling." peaks at 0.62 on one grid and at
            0.23 on the grid half a chunk later. 2 by our benchmark (docs/benchmarks.md,
            "Silero on two chunk grids"; ``scripts/onset_study.py R2:6:10 --phases 1 2 4``):
            the sounds of ``../shared/nonspeech`` that open an utterance fell from 14 to 8 at
            their level (8 to 7 at -20 dB), two more telephone prompts opened, and over the
            non-speech bench's default, arcade and clips sets windows fell from 481 to 262;
            4 grids opened fewer sounds still (6 and 5) and one utterance fewer than 2 on
            seven conditions, and were not run through the whole benchmark. 1: one grid
            (upstream's way). About 0.15 ms of one core per grid and chunk.
        silero_hold: what holds an open utterance (its confirmed speech, which the filters
            read, is always counted on the mean): ``"max"``, the surest grid
            (``FrameDecision.surest_prob``), or ``"mean"``. With the mean, quiet speech under
            noise dipped below ``neg_threshold`` for 1.2 s where a single grid had stayed above
            it, and a sentence of ``levels_fan20`` was split in two; the surest grid keeps it
            whole and never opens an utterance; utterances end 0.00-0.04 s later at the median
            than on a single grid (docs/benchmarks.md, "Silero on two chunk grids").
    """

    webrtc_mode: int = 1
    reset_after_silence_ms: int | None = 1000
    reset_below: float = 0.1
    silero_phases: int = 2
    silero_hold: str = "max"

    def __post_init__(self) -> None:
        if not 0 <= self.webrtc_mode <= 3:
            raise ValueError("webrtcvad mode must be 0..3")
        if self.reset_after_silence_ms is not None and self.reset_after_silence_ms < 0:
            raise ValueError("reset_after_silence_ms must be >= 0")
        if not 1 <= self.silero_phases <= 4 or self.silero_hold not in ("mean", "max"):
            raise ValueError("silero_phases must be 1..4, silero_hold 'mean' or 'max'")


@dataclass(frozen=True)
class FrameDecision:
    """What the detector measured on one frame.

    Attributes:
        voiced: webrtcvad marked the frame as speech.
        speech_prob: Silero's probability for each grid's latest chunk ended by the frame's
            end (chunks are 32 ms, frames 30 ms), averaged over the chunk grids, [0, 1].
        level_dbfs: the frame's RMS level, dBFS (0 = full-scale int16).
        snr_db: level above the adaptive noise floor, dB.
        surest_prob: the highest of the chunk grids' probabilities where it, not their mean,
            holds an open utterance (``DetectorOptions.silero_hold`` "max"); None: the mean.
    """

    voiced: bool
    speech_prob: float
    level_dbfs: float
    snr_db: float
    surest_prob: float | None = None

    @property
    def hold_prob(self) -> float:
        """The probability that holds an open utterance, [0, 1]."""
        return self.speech_prob if self.surest_prob is None else self.surest_prob


class SpeechDetector:
    """Per-frame measurements for the segmenter. Not thread-safe: one feeder.

    Args:
        options: detector options.
        frame_ms: frame length fed to :meth:`frame` (webrtcvad takes 10, 20 or 30 ms).

    Raises:
        ValueError: a frame of the wrong length.
    """

    def __init__(self, options: DetectorOptions = DetectorOptions(), frame_ms: int = 30) -> None:
        import webrtcvad

        self.options = options
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000
        self._webrtc = webrtcvad.Vad(options.webrtc_mode)
        self._floor = NoiseFloor()
        chunk_ms = SILERO_CHUNK_SAMPLES * 1000 / SAMPLE_RATE
        reset_chunks = (None if options.reset_after_silence_ms is None
                        else math.ceil(options.reset_after_silence_ms / chunk_ms))
        n = options.silero_phases
        self._grids = [_SileroGrid(k * SILERO_CHUNK_SAMPLES // n, reset_chunks,
                                   options.reset_below) for k in range(n)]

    def frame(self, pcm: np.ndarray) -> FrameDecision:
        """Measure one frame.

        Args:
            pcm: ``int16 [frame_samples]`` at 16 kHz mono.
        """
        if pcm.shape != (self.frame_samples,):
            raise ValueError(f"expected {self.frame_samples} samples per frame, got {pcm.shape}")
        voiced = self._webrtc.is_speech(pcm.tobytes(), SAMPLE_RATE)
        x = int16_to_float32(pcm)
        energy = float(np.dot(x, x)) / x.size
        level = 10.0 * math.log10(energy) if energy > 0 else SILENCE_DBFS
        snr = self._floor.update(level)
        probs = [g.feed(x) for g in self._grids]
        hold = max(probs) if self.options.silero_hold == "max" else None
        return FrameDecision(voiced, sum(probs) / len(probs), level, snr, hold)


class _SileroGrid:
    """Silero VAD on one 512-sample chunk grid: the stream delayed by ``offset`` samples (zeros
    first), its state reset after ``reset_chunks`` chunks under ``reset_below`` (None: never)."""

    def __init__(self, offset: int, reset_chunks: int | None, reset_below: float) -> None:
        self._silero = SileroVad()
        self._pending = np.zeros(offset, np.float32)  # samples not yet given to Silero
        self._reset_chunks, self._reset_below = reset_chunks, reset_below
        self._prob = 0.0
        self._quiet = 0

    def feed(self, x: np.ndarray) -> float:
        """Take ``float32 [n]`` samples; return the probability of the latest full chunk."""
        self._pending = np.concatenate([self._pending, x])
        while self._pending.size >= SILERO_CHUNK_SAMPLES:
            chunk = self._pending[:SILERO_CHUNK_SAMPLES]
            self._pending = self._pending[SILERO_CHUNK_SAMPLES:]
            self._prob = self._silero(chunk)
            self._quiet = self._quiet + 1 if self._prob < self._reset_below else 0
            if self._reset_chunks is not None and self._quiet >= self._reset_chunks:
                self._silero.reset()
                self._quiet = 0
        return self._prob
