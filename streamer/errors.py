"""Errors a user can act on, and the exit codes they map to.

Every error the command line reports is a :class:`LivescribeError`: one line of text for stderr
and an :class:`ExitCode`. Codes follow BSD ``sysexits.h`` where one fits, and the shell
convention 128 + signal number for signals.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes of the ``livescribe`` command."""

    OK = 0
    FAILURE = 1  #: unexpected runtime failure
    USAGE = 2  #: bad command line (argparse's own code)
    DATA_ERROR = 65  #: input exists but is not decodable audio (EX_DATAERR)
    NO_INPUT = 66  #: input file missing or unreadable (EX_NOINPUT)
    UNAVAILABLE = 69  #: model, model pack, audio device or PortAudio unavailable (EX_UNAVAILABLE)
    SOFTWARE = 70  #: internal error: an unexpected exception (EX_SOFTWARE)
    CANT_CREATE = 73  #: an output file (captions, transcript, recording) cannot be created (EX_CANTCREAT)
    IO_ERROR = 74  #: writing an output failed mid-session, e.g. disk full (EX_IOERR)
    CONFIG = 78  #: impossible configuration, e.g. a compute type the device lacks (EX_CONFIG)
    SIGINT = 130  #: stopped by Ctrl-C, after flushing
    SIGTERM = 143  #: stopped by SIGTERM, after flushing


class LivescribeError(Exception):
    """An error with a one-line message meant for the user and an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(LivescribeError):
    """Missing, unreadable or undecodable input (file or stream)."""

    exit_code = ExitCode.NO_INPUT


class ModelError(LivescribeError):
    """Unknown model name, missing model pack, failed download or failed verification."""

    exit_code = ExitCode.UNAVAILABLE


class LoadError(ModelError):
    """The weights were found but CTranslate2 could not load them on this device or compute
    type (a missing CUDA driver, too little memory): another step of the fallback chain may
    work, unlike for a :class:`ModelError` about the model itself."""


class LimitError(InputError):
    """Input over a limit the configuration sets (a server's upload size, audio duration)."""

    exit_code = ExitCode.DATA_ERROR


class DeviceError(LivescribeError):
    """No PortAudio, no input device, busy or vanished device."""

    exit_code = ExitCode.UNAVAILABLE


def first_line(exc: BaseException) -> str:
    """The first non-blank line of an error's message (its repr when it has none)."""
    return next((x for x in str(exc).splitlines() if x.strip()), repr(exc))
