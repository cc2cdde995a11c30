"""The ``livescribe`` command line: a front end of the engine, like the Textual app.

``main`` parses the command line (:mod:`tui.cli.parser`), builds the one configuration
(:func:`streamer.config.build_config`: defaults, config file, ``LIVESCRIBE_*``, flags), and runs
a command: a captioning session in the terminal UI (:mod:`tui.run`, Textual imported only then)
or as plain captions (:mod:`tui.cli.plain`), or ``info``, ``config``, ``devices``
(:mod:`tui.cli.commands`), or the transcription server, ``serve`` (:mod:`tui.cli.serve`).

stdout carries data only (captions, or a command's output); logs, warnings and errors go to
stderr, errors as one line. Exit codes are :class:`streamer.errors.ExitCode` (BSD sysexits):
an unexpected exception is one line and exit 70 (its traceback with ``-v``).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import traceback
from collections.abc import Callable

from streamer.config import Config, build_config
from streamer.errors import ExitCode, LivescribeError
from tui.cli.memory import limit_malloc_arenas
from tui.cli.parser import build_parser, flags_from

logger = logging.getLogger("tui")


def setup_logging(verbose: int) -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("livescribe: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("streamer").setLevel(level)
    logging.getLogger("tui").setLevel(level)


def isatty(stream=None) -> bool:
    """True when ``stream`` (default: ``sys.stdout``) is a terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def wants_tui(config: Config, stdout=None) -> bool:
    """True to show the Textual UI: ``ui.mode`` tui; or, in mode auto, when stdout is a
    terminal (not ``TERM=dumb``) and captions are not asked for on stdout in another format
    (``--format jsonl`` on a terminal prints JSON lines, no UI)."""
    mode = config.ui.mode
    if mode != "auto":
        return mode == "tui"
    o = config.output
    return (isatty(stdout) and os.environ.get("TERM") != "dumb"
            and (o.format == "text" or bool(o.path)))


def wants_partials(config: Config, ui: bool, stdout=None) -> bool:
    """Whether this front end shows partials: the UI does (unless ``output.partials`` is
    false); plain text and jsonl do when ``output.partials`` says so, and plain text on a
    terminal does by default. SRT/VTT hold finals only."""
    o = config.output
    if ui:
        return o.partials is not False
    if o.format not in ("text", "jsonl"):
        return False
    if o.partials is not None:
        return o.partials
    return o.format == "text" and not o.path and isatty(stdout)


def replay_speed(config: Config, ui: bool, stdout=None) -> float:
    """The replay speed of a session: ``input.speed``, with ``auto`` decided here: real time
    (1.0) when the captions are watched (the UI, or plain captions on a terminal), as fast as
    possible (``math.inf``) when they go to a file (``--output``) or a pipe."""
    speed = config.input.speed
    if speed != "auto":
        return speed
    watched = not config.output.path and (ui or isatty(stdout))
    return 1.0 if watched else math.inf


def keys_from_terminal() -> int | None:
    """For ``--file -`` in the UI: the audio comes on stdin, where Textual reads keys. Keep a
    copy of stdin for the audio and put the controlling terminal (``/dev/tty``) on fd 0.

    Returns:
        The copy of stdin to read the audio from, or None when there is no terminal to open
        (nothing changed).
    """
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    audio = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)
    return audio


def check_fit(config: Config) -> None:
    """Refuse settings that do not fit this front end together.

    Raises:
        LivescribeError: exit 2: a data format in the UI without ``--output``; ``--file -``
            with stdin on a terminal; a line count without word times.
    """
    o = config.output
    if config.input.file == "-" and isatty(sys.stdin):
        raise LivescribeError("--file -: stdin is a terminal, not audio; pipe audio in, e.g. "
                              "ffmpeg -i talk.mp4 -f wav - | livescribe --file -", ExitCode.USAGE)
    if o.max_line_count is not None and not config.decoding.word_timestamps:
        raise LivescribeError("--max-line-count splits captions into cues at word times: add "
                              "--word-timestamps", ExitCode.USAGE)


def run(args, config: Config) -> int:
    """A captioning session; returns the exit code."""
    from dataclasses import replace

    from streamer.pipeline import Pipeline, source_factory

    check_fit(config)
    ui = wants_tui(config)
    o = config.output
    if ui and o.format != "text" and not o.path:
        raise LivescribeError(f"--format {o.format}: the terminal UI shows captions as text; "
                              f"add --output FILE to write {o.format} there, or --plain to "
                              f"print it on stdout", ExitCode.USAGE)
    audio_fd = 0
    if ui and config.input.file == "-":  # the UI reads keys from the terminal, not stdin
        audio_fd = keys_from_terminal()
        if audio_fd is None:
            if config.ui.mode == "tui":
                raise LivescribeError("--tui with --file -: no terminal (/dev/tty) to read "
                                      "keys from; use --plain", ExitCode.USAGE)
            ui, audio_fd = False, 0
    config = replace(config, input=replace(config.input, speed=replay_speed(config, ui)),
                     output=replace(o, partials=wants_partials(config, ui)))
    if config.input.file:
        logger.info("replay speed: %s", "as fast as transcription goes" if math.isinf(
            config.input.speed) else f"{config.input.speed:g}x real time")
    limit_malloc_arenas(config.pipeline.malloc_arena_max)  # before the session's threads
    # plans (logged at -v; --strict may stop here), opens the input
    pipeline = Pipeline(config, source_factory(config.input, stdin_fd=audio_fd))
    if ui:
        from tui.run import run_tui  # Textual is imported only here

        return run_tui(pipeline, config)
    from tui.cli.plain import run_plain

    return run_plain(pipeline, config)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``livescribe`` console script (and ``python -m tui``)."""
    args = build_parser().parse_args(argv)  # a bad command line exits 2 here
    flags = flags_from(args)
    verbose = int(flags.get("ui.verbose", 0))
    setup_logging(verbose)

    def command() -> int:
        nonlocal verbose
        if args.command == "devices":
            from tui.cli.commands import devices

            return devices(json_out=args.json)
        built = build_config(flags, path=getattr(args, "config_file", None))
        verbose = built.config.ui.verbose
        setup_logging(verbose)
        if args.command == "config":
            from tui.cli.commands import show_config

            return show_config(built, json_out=args.json)
        if args.command == "info":
            from tui.cli.commands import info

            return info(built.config, json_out=args.json)
        if args.command == "serve":
            from tui.cli.serve import serve

            return serve(args, built)
        return run(args, built.config)

    return guard(command, lambda: verbose)


def guard(fn: Callable[[], int], verbose: Callable[[], int] = lambda: 0) -> int:
    """Run ``fn`` and turn what escapes it into an exit code and at most one line on stderr:
    a :class:`LivescribeError` its own code, Ctrl-C 130, a closed stdout 0, anything else 70
    (``ExitCode.SOFTWARE``; the traceback too with ``-v``)."""
    try:
        return int(fn())
    except LivescribeError as exc:
        print(f"livescribe: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return int(ExitCode.SIGINT)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        if verbose() > 0:
            traceback.print_exc(file=sys.stderr)
        hint = "" if verbose() > 0 else " (run with -v for the traceback)"
        print(f"livescribe: error: internal error: {type(exc).__name__}: {exc}{hint}",
              file=sys.stderr)
        return int(ExitCode.SOFTWARE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
