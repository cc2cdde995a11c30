"""Microphone capture (sounddevice). Placeholder until the live-capture issue lands."""

from __future__ import annotations

from streamer.errors import DeviceError


def make_mic_factory(args):
    """Return ``ring -> source`` for the microphone.

    Raises:
        DeviceError: always, for now: pass --file.
    """
    raise DeviceError("microphone capture is not built yet; pass --file PATH")


def devices_main(argv: list[str]) -> int:
    """``livescribe devices``."""
    raise DeviceError("device listing is not built yet")
