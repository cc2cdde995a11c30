"""The segmenter's options: one frozen dataclass, the ``vad`` group of the configuration.

Units are in the names; the source of every default is in docs/tuning.md, "Speech detection".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamer.capture.audio import SAMPLE_RATE
from streamer.segmentation.vad import DetectorOptions


@dataclass(frozen=True)
class VadOptions:
    """Segmentation options. Units are in the names; sources in docs/tuning.md.

    Attributes:
        detector: the frame-level detector (webrtcvad mode, Silero state reset).
        frame_ms: frame length; webrtcvad accepts 10, 20 or 30 ms.
        speech_threshold: Silero probability that starts an utterance (upstream default 0.5,
            faster-whisper ``VadOptions.threshold`` and silero-vad).
        neg_threshold: Silero probability below which a frame of an open utterance is not
            speech (upstream default: ``speech_threshold - 0.15``).
        onset_frames: consecutive frames at ``speech_threshold`` that start an utterance.
        soft_onset_frames, soft_onset_window_ms: an utterance also starts when this many of the
            frames in the last ``soft_onset_window_ms`` are speech to both detectors at once:
            Silero at ``neg_threshold`` (the level that keeps an utterance going), webrtcvad
            voiced, ``extend_snr_db`` above the floor (telephone-band speech, on which Silero
            stays at 0.2-0.49; docs/benchmarks.md "A soft onset, and short reads read again").
            ``soft_onset_frames`` 0: off.
        onset_lookback_ms: how far back from the onset voiced frames above the floor are kept
            (and runs of at least 90 ms across pauses shorter than ``end_silence_ms``: "press …
            one"; docs/benchmarks.md, "A look-back across short pauses").
        pre_roll_ms: audio kept before that, milliseconds.
        extend_ms: how long after Silero's last speech frame webrtcvad-voiced frames above the
            floor still count as speech (kept in the window), milliseconds; only those that
            follow Silero's speech without a break delay the end of the utterance.
        extend_snr_db: level above the noise floor such a frame needs, dB (relative: it means
            the same for a headset and a laptop microphone).
        end_silence_ms: non-speech that ends an utterance, milliseconds, counted from Silero's
            last speech frame or the unbroken voiced tail that follows it (and no sooner than
            ``pause_snapshot_ms`` after a voiced frame kept after a break). 600 by the
            robustness benchmark (``scripts/context_study.py --end-silence``, docs/benchmarks.md
            "End of utterance"): at 300 ms sentences were cut at their pauses and decoded in
            pieces (+1.8 to +2.9 WER points under noise, the telephone band and hesitant
            speech); 450 and 750 ms do worse in sum; 800 ms reads hesitant speech better but
            delays every final 0.2 s. The wait costs no latency on live input: the
            ``"pause"`` snapshot is decoded while it runs (``pause_snapshots``), and the piece
            after a longer pause is read after the one before it (``decoding.context_gap_s``).
        background_db, background_hold_ms, background_min_s: a frame Silero holds at
            ``neg_threshold`` that is more than ``background_db`` dB under the open
            utterance's foreground level (the 90th percentile of the levels of its Silero
            frames so far; past a cap, of the last ``max_utterance_s`` of them) is background,
            not the talker. Once the utterance holds ``background_min_s`` of foreground
            frames, background frames hold it open at most ``background_hold_ms`` after its
            last foreground frame: the window then ends ``pause_snapshot_ms`` after that frame,
            and the frames after it are segmented afresh (the talk may open the next
            utterance). Relative to the utterance's own level, so a quiet talker is measured
            against themself. Talk 20 dB under the speaker (``babble20``) kept utterances open
            for up to 15 s. 15 dB, 1200 ms and 2.0 s by our benchmark (docs/benchmarks.md,
            "Background talk: the foreground level"): ``babble20``'s utterances end p95 1.2 s
            after their speech instead of 9.9 s; elsewhere only applause and music that hold
            Silero after a sentence are cut off the same way (``pink10``, ``music20``); 12 dB
            and 10 dB did not reach ``babble10``'s talk (10 dB under); without the minimum,
            hesitant and register-shifting voices that drop 15 dB after a first loud word were
            split (``voices``: 5 utterances, two lost), none from 1.0 s of foreground, and
            ``babble20`` keeps its gain up to 3.0 s. ``background_db`` None: off.
        max_utterance_s: longest window; a longer utterance is cut at a pause (Whisper's window
            is 30 s; 20 s leaves room for the trailing context the decoder adds).
        cut_search_ms: how far back from the cap to look for the best cut, milliseconds.
        min_confirmed_ms: windows with less Silero-confirmed speech are dropped as fragments.
        partial_interval_ms: milliseconds of an open utterance between two ``"partial"``
            snapshots; None emits none (the pipeline sets it: 500 ms with partials on,
            :data:`streamer.pipeline.PARTIAL_INTERVAL_MS`).
        partial_min_speech_ms: confirmed speech an utterance holds before its first snapshot
            (and at least ``min_confirmed_ms``, so a snapshot is never of a fragment).
        pause_snapshot_ms: non-speech after speech at which the ``"pause"`` snapshot is taken,
            milliseconds (less than ``end_silence_ms``); also the non-speech an ``"end"`` window
            keeps after its speech, so that a final reuses its pause snapshot's decode. 150 ms
            keeps the fading end of the last word (docs/benchmarks.md, "Interim captions").
        pause_snapshots: emit a ``"pause"`` snapshot in every pause even without partials
            (a speculative decode of the final: on live input the pipeline sets it, so the final
            caption of an utterance is ready when ``end_silence_ms`` has passed).
    """

    detector: DetectorOptions = field(default_factory=DetectorOptions)
    frame_ms: int = 30
    speech_threshold: float = 0.5
    neg_threshold: float = 0.35
    onset_frames: int = 2
    soft_onset_frames: int = 6
    soft_onset_window_ms: int = 300
    onset_lookback_ms: int = 1000
    pre_roll_ms: int = 300
    extend_ms: int = 300
    extend_snr_db: float = 6.0
    end_silence_ms: int = 600
    background_db: float | None = 15.0
    background_hold_ms: int = 1200
    background_min_s: float = 2.0
    max_utterance_s: float = 20.0
    cut_search_ms: int = 3000
    min_confirmed_ms: int = 150
    partial_interval_ms: int | None = None
    partial_min_speech_ms: int = 300
    pause_snapshot_ms: int = 150
    pause_snapshots: bool = False

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30 (webrtcvad frame sizes)")
        if not 0 < self.neg_threshold <= self.speech_threshold < 1:
            raise ValueError("need 0 < neg_threshold <= speech_threshold < 1")
        if not 1.0 <= self.max_utterance_s <= 28.0:
            raise ValueError("max_utterance_s must be within 1..28 seconds")
        if self.cut_search_ms >= self.max_utterance_s * 1000:
            raise ValueError("cut_search_ms must be shorter than max_utterance_s")
        if self.onset_frames < 1 or not 0 <= self.soft_onset_frames <= max(
                1, self.soft_onset_window_ms // self.frame_ms):
            raise ValueError("need onset_frames >= 1, soft_onset_frames 0..its window's frames")
        if min(self.end_silence_ms, self.pre_roll_ms, self.extend_ms, self.onset_lookback_ms,
               self.min_confirmed_ms, self.partial_min_speech_ms, self.soft_onset_window_ms) < 0:
            raise ValueError("durations must be >= 0")
        if self.background_db is not None and (
                self.background_db <= 0 or self.background_min_s < 0
                or self.background_hold_ms < self.end_silence_ms + self.extend_ms + self.frame_ms):
            # a shorter hold would end an utterance on its voiced tail and silence alone
            raise ValueError("need background_db > 0, background_min_s >= 0 and "
                             "background_hold_ms > end_silence_ms + extend_ms")
        if self.partial_interval_ms is not None and self.partial_interval_ms < self.frame_ms:
            raise ValueError("partial_interval_ms must be at least one frame")
        if not 0 < self.pause_snapshot_ms < max(self.end_silence_ms, self.frame_ms + 1):
            raise ValueError("pause_snapshot_ms must be within (0, end_silence_ms)")

    @property
    def frame_samples(self) -> int:
        """Samples per frame at 16 kHz."""
        return SAMPLE_RATE * self.frame_ms // 1000

    def frames(self, ms: float) -> int:
        """Whole frames in ``ms`` milliseconds (at least 1)."""
        return max(1, int(round(ms / self.frame_ms)))
