"""Microphone capture with sounddevice (PortAudio), and the input devices it sees.

sounddevice is imported here only, inside functions, so the engine and file replay work on a
machine without PortAudio.

Capture design (one callback, at most one helper thread)::

    PortAudio callback ──write(int16 block, captured_wall)──▶ RingBuffer
        16 kHz mono device:  straight into the pipeline's ring (nothing else runs)
        any other format:    into a "raw" RingBuffer of interleaved int16 frames at the device
                             rate; the capture thread reads whole blocks, downmixes (or picks
                             ``channel``), resamples to 16 kHz with soxr's ResampleStream and writes
                             the pipeline's ring.

The callback, after python-sounddevice's ``examples/rec_unlimited.py``, only counts status flags
and copies the block into a preallocated ring (non-blocking; a full ring refuses the block and
counts an overrun). It never logs, waits or resamples: soxr allocates its output, so it runs on
the capture thread. The capture thread also watches the stream and turns a device that stops
(unplugged, sound server gone) into a :class:`DeviceError` kept in :attr:`MicSource.error`.

Capture times: the callback's ``time.inputBufferAdcTime`` (PortAudio stream clock, the moment the
block's first sample hit the converter) plus an offset to ``time.monotonic()`` that the capture
thread re-measures, so a caption's latency counts from when the sound was captured.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from streamer.capture.audio import SAMPLE_RATE, float32_to_int16, INT16_SCALE
from streamer.errors import DeviceError, ExitCode, LivescribeError
from streamer.capture.ringbuffer import RingBuffer

logger = logging.getLogger(__name__)

BLOCK_MS = 20  #: PortAudio callback block, milliseconds
RAW_RING_S = 10.0  #: capacity of the device-rate ring, seconds of audio
STALL_S = 2.0  #: seconds without a callback after which the device counts as gone
PORTAUDIO_HINT = "install it with 'apt-get install libportaudio2' (Debian/Ubuntu)"


def import_sounddevice():
    """Import and return the ``sounddevice`` module.

    Raises:
        DeviceError: PortAudio (``libportaudio2``) or sounddevice is missing (exit 69).
    """
    try:
        import sounddevice
    except OSError:  # sounddevice raises OSError('PortAudio library not found')
        raise DeviceError(f"PortAudio library not found: {PORTAUDIO_HINT}") from None
    except ImportError:
        raise DeviceError("the sounddevice package is missing: pip install sounddevice") from None
    return sounddevice


# -- devices -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputDevice:
    """One PortAudio device with input channels.

    Attributes:
        index: PortAudio device index (what ``--input-device N`` takes).
        name: device name (``--input-device`` also takes a substring of it).
        hostapi: host API name (ALSA, JACK, ...).
        channels: maximum input channels.
        default_rate_hz: the device's default sample rate, Hz.
        is_default: True for the system's default input device.
    """

    index: int
    name: str
    hostapi: str
    channels: int
    default_rate_hz: float
    is_default: bool


def list_input_devices(sd) -> list[InputDevice]:
    """The input devices PortAudio sees, in index order.

    Args:
        sd: the sounddevice module (from :func:`import_sounddevice`).
    """
    hostapis = sd.query_hostapis()
    default_in = sd.default.device[0]
    out = []
    for d in sd.query_devices():
        if d["max_input_channels"] > 0:
            out.append(InputDevice(index=d["index"], name=d["name"],
                                   hostapi=hostapis[d["hostapi"]]["name"],
                                   channels=d["max_input_channels"],
                                   default_rate_hz=float(d["default_samplerate"]),
                                   is_default=d["index"] == default_in))
    return out


def select_device(spec: str | None, devices: list[InputDevice]) -> InputDevice:
    """Pick the input device ``--input-device`` names.

    Args:
        spec: None for the default input; an index (``"3"``); or a case-insensitive name,
            matched exactly first, then as a substring.
        devices: from :func:`list_input_devices`.

    Raises:
        DeviceError: no input device at all, or none matches (exit 69).
        LivescribeError: the substring matches several devices (exit 2).
    """
    if not devices:
        raise DeviceError("no audio input device found (no microphone, or no sound server "
                          "reachable); see 'livescribe devices'")
    if spec is None or spec == "":
        return next((d for d in devices if d.is_default), devices[0])
    if spec.strip().isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                return d
        raise DeviceError(f"no input device with index {index}; see 'livescribe devices'")
    key = spec.lower()
    exact = [d for d in devices if d.name.lower() == key]
    matches = exact or [d for d in devices if key in d.name.lower()]
    if not matches:
        raise DeviceError(f"no input device matches {spec!r}; see 'livescribe devices'")
    if len(matches) > 1:
        names = ", ".join(f"{d.index}: {d.name}" for d in matches)
        raise LivescribeError(f"--input-device {spec!r} is ambiguous ({names}); give the index",
                              ExitCode.USAGE)
    return matches[0]


def choose_format(sd, device: InputDevice, channel: int | None = None,
                  rate_hz: int | None = None) -> tuple[int, int]:
    """The ``(sample rate in Hz, channel count)`` to open ``device`` with, as int16.

    16 kHz mono when the device takes it (no conversion at all); otherwise the device's default
    rate and the fewest channels it takes (1, 2, then all). ``channel`` (1-based) needs at least
    that many channels; ``rate_hz`` forces a rate.

    Raises:
        LivescribeError: ``channel`` beyond the device's channels (exit 78).
        DeviceError: the device takes none of these formats (exit 69).
    """
    if channel is not None and not 1 <= channel <= device.channels:
        raise LivescribeError(f"--channel {channel}: {device.name!r} has {device.channels} input "
                              f"channel(s)", ExitCode.CONFIG)
    rates = [rate_hz] if rate_hz else [SAMPLE_RATE, int(round(device.default_rate_hz))]
    counts = [channel] if channel else [1, 2]
    counts = [c for c in dict.fromkeys(counts + [device.channels]) if c <= device.channels]
    last = None
    for rate in dict.fromkeys(rates):
        for ch in counts:
            try:
                sd.check_input_settings(device=device.index, channels=ch, dtype="int16",
                                        samplerate=rate)
                return rate, ch
            except (sd.PortAudioError, ValueError) as exc:
                last = exc
    raise DeviceError(f"input device {device.name!r} accepts no usable format ({last})")


# -- conversion --------------------------------------------------------------------------------

class ToMono16k:
    """Streaming conversion of device audio to the pipeline's format.

    Args:
        rate_hz: device sample rate, Hz.
        channels: device channels.
        channel: 1-based channel to keep; None averages all channels.

    :meth:`process` takes ``int16 [frames, channels]`` at ``rate_hz`` and returns ``int16 [n]``
    at 16 kHz mono; soxr's ``ResampleStream`` (HQ) keeps its filter state between blocks, so
    block boundaries leave no trace. Allocates: call it outside the audio callback.
    """

    def __init__(self, rate_hz: int, channels: int, channel: int | None = None) -> None:
        import soxr

        self.rate_hz = rate_hz
        self.channels = channels
        self.channel = channel
        self._soxr = (None if rate_hz == SAMPLE_RATE else
                      soxr.ResampleStream(rate_hz, SAMPLE_RATE, 1, dtype="float32", quality="HQ"))

    @property
    def delay_s(self) -> float:
        """Seconds of output the resampler holds back (its algorithmic delay)."""
        return 0.0 if self._soxr is None else self._soxr.delay() / SAMPLE_RATE

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """Convert ``int16 [frames, channels]`` (or ``[frames * channels]`` interleaved).

        Args:
            block: device samples.
            last: True on the final call, to flush the resampler.

        Returns:
            ``int16 [n]`` at 16 kHz mono (n may be 0 while the resampler fills).
        """
        frames = block.reshape(-1, self.channels)
        if self.channel is not None:
            mono = frames[:, self.channel - 1].astype(np.float32)
        else:
            mono = frames.mean(axis=1, dtype=np.float32)
        mono /= INT16_SCALE
        if self._soxr is not None:
            mono = self._soxr.resample_chunk(mono, last=last)
        return float32_to_int16(mono)


# -- the source --------------------------------------------------------------------------------

class MicSource:
    """Capture a microphone into the pipeline's :class:`RingBuffer` (satisfies ``Source``).

    Args:
        ring: the pipeline's ring of ``int16`` 16 kHz mono; closed when capture ends.
        device: ``--input-device``: None (default input), an index or a name substring.
        channel: 1-based channel to keep; None mixes all channels down.
        rate_hz: force this device rate (resampled with soxr); None: 16 kHz if the device
            takes it, else its default rate.
        sd: the sounddevice module (tests pass a fake); None imports it.

    Raises:
        DeviceError: no PortAudio, no (matching) input device, or the device cannot be opened,
            e.g. busy (exit 69). Raised here, so the session fails before the model loads.

    The stream opens here and starts in :meth:`start`; ``start_before_model`` tells the pipeline
    to start capture while the model loads, so nothing said meanwhile is lost. A device that
    stops mid-session ends capture with :attr:`error` set; what was captured is still decoded.

    Counters (read from any thread): :attr:`callbacks`, :attr:`input_overflows` (PortAudio lost
    input before the callback ran), :attr:`input_underflows`, :attr:`raw_overruns` (blocks the
    device-rate ring refused; also added to the pipeline ring's overrun counters).
    """

    start_before_model = True
    live = True  #: paced by the device clock (a backlog waits in the ring, never blocks it)

    def __init__(self, ring: RingBuffer, device: str | None = None, channel: int | None = None,
                 rate_hz: int | None = None, sd=None) -> None:
        sd = sd if sd is not None else import_sounddevice()
        self._sd = sd
        self.ring = ring
        try:
            self.device = select_device(device, list_input_devices(sd))
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot list audio devices: {exc}") from None
        self.rate_hz, self.channels = choose_format(sd, self.device, channel, rate_hz)
        self.block_frames = self.rate_hz * BLOCK_MS // 1000
        self.error: LivescribeError | None = None
        self.callbacks = 0
        self.input_overflows = 0
        self.input_underflows = 0
        self.raw_overruns = 0
        self._paused = False
        self._clock_offset = 0.0  # time.monotonic() - PortAudio stream time
        self._stop = threading.Event()
        self._finished = threading.Event()
        direct = self.rate_hz == SAMPLE_RATE and self.channels == 1
        if direct:
            self._raw, self._convert = ring, None
        else:
            # capacity_s counts 16 kHz mono samples: scale so it holds RAW_RING_S of device audio
            scale = self.rate_hz * self.channels / SAMPLE_RATE
            self._raw = RingBuffer(RAW_RING_S * scale)
            self._convert = ToMono16k(self.rate_hz, self.channels, channel)
        try:
            self._stream = sd.InputStream(device=self.device.index, samplerate=self.rate_hz,
                                          channels=self.channels, dtype="int16",
                                          blocksize=self.block_frames, callback=self._callback,
                                          finished_callback=self._finished.set)
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot open input device {self.device.name!r}: {exc} "
                              f"(busy or unplugged?)") from None
        self._thread = threading.Thread(target=self._run, name="capture-mic", daemon=True)
        how = (f"channel {channel} " if channel else "downmixed " if self.channels > 1 else "")
        conv = "" if direct else f", {how}resampled to 16 kHz with soxr"
        self.description = (f"microphone {self.device.index}: {self.device.name} "
                            f"({self.device.hostapi}) at {self.rate_hz} Hz, "
                            f"{self.channels} ch{conv}")

    # -- the audio callback (PortAudio's thread): count, copy, return -----------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        if status:
            if status.input_overflow:
                self.input_overflows += 1
            if status.input_underflow:
                self.input_underflows += 1
        self.callbacks += 1
        if self._paused:
            return
        adc = time_info.inputBufferAdcTime or time_info.currentTime
        captured_wall = adc + self._clock_offset + (frames - 1) / self.rate_hz
        self._raw.write(indata.reshape(-1), captured_wall)  # copies; refuses when full

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the stream and the capture thread.

        Raises:
            DeviceError: the stream cannot start (exit 69).
        """
        self._measure_offset()
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self._stream.close(ignore_errors=True)
            raise DeviceError(f"cannot start input device {self.device.name!r}: {exc}") from None
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing; audio already captured still reaches the ring, which is then closed."""
        self._stop.set()
        if not self._thread.is_alive() and self._thread.ident is None:  # never started
            self._stream.close(ignore_errors=True)
            self.ring.close()

    def pause(self, paused: bool) -> None:
        """Pause or resume: while paused, blocks are discarded (stream time stops)."""
        self._paused = paused

    def join(self, timeout: float | None = None) -> None:
        """Wait for the capture thread to end."""
        if self._thread.ident is not None:
            self._thread.join(timeout)

    # -- the capture thread -----------------------------------------------------------------
    def _measure_offset(self) -> None:
        try:
            self._clock_offset = time.monotonic() - self._stream.time
        except self._sd.PortAudioError:
            pass  # stream gone: the watchdog reports it

    def _run(self) -> None:
        seen, seen_at = -1, time.monotonic()
        try:
            while not self._stop.is_set():
                if self._convert is not None:
                    self._pump(timeout=0.1)
                else:
                    self._stop.wait(0.1)
                if self._stop.is_set():
                    break
                self._measure_offset()
                now = time.monotonic()
                if self._finished.is_set() or not self._stream.active:
                    raise DeviceError(f"input device {self.device.name!r} stopped delivering "
                                      f"audio (unplugged, or the sound server went away)")
                if self.callbacks != seen:
                    seen, seen_at = self.callbacks, now
                elif now - seen_at > STALL_S:
                    raise DeviceError(f"no audio from input device {self.device.name!r} for "
                                      f"{STALL_S:g} s (unplugged, or the sound server went away)")
        except DeviceError as exc:
            self.error = exc
        except Exception as exc:  # pragma: no cover - unexpected
            logger.exception("microphone capture failed")
            self.error = LivescribeError(f"microphone capture failed: {exc}", ExitCode.SOFTWARE)
        finally:
            self._close()

    def _close(self) -> None:
        try:
            self._stream.stop(ignore_errors=True)
        finally:
            self._stream.close(ignore_errors=True)
        if self._convert is not None:
            self._raw.close()
            while self._pump(timeout=None):
                pass
            self.ring.write(self._convert.process(np.zeros(0, np.int16), last=True))
        self.ring.close()
        logger.info("microphone: %d callbacks, %d input overflows, %d input underflows, "
                    "%d blocks dropped before resampling", self.callbacks, self.input_overflows,
                    self.input_underflows, self.raw_overruns)
        if self.input_overflows or self.raw_overruns:
            logger.warning("microphone: %d input overflows, %d blocks dropped before resampling",
                           self.input_overflows, self.raw_overruns)

    def _pump(self, timeout: float | None) -> bool:
        """Move one device block from the raw ring to the pipeline's ring; False at the end."""
        dropped = self._raw.overruns - self.raw_overruns
        if dropped:  # make drops before resampling visible in the pipeline's stats
            self.raw_overruns += dropped
            self.ring.overruns += dropped
            self.ring.overrun_samples += dropped * self.block_frames * SAMPLE_RATE // self.rate_hz
        item = self._raw.read(self.block_frames * self.channels, timeout=timeout)
        if item is None:
            return False
        block, captured_wall = item
        out = self._convert.process(block)
        if out.size:
            # the last output sample left the resampler delay_s before the last input sample
            self.ring.write(out, captured_wall - self._convert.delay_s)
        return True
