"""The ``livescribe`` command line.

stdout carries captions only; logs and warnings go to stderr. Exit codes are
:class:`streamer.errors.ExitCode`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from dataclasses import fields

from streamer import __version__
from streamer.decoding.decoder import DecodingOptions, ModelOptions
from streamer.errors import ExitCode, LivescribeError
from streamer.events import Caption, ModelReady, Partial, PipelineStats, WindowDropped
from streamer.decoding.filters import FilterOptions
from streamer.decoding.gate import GateOptions
from streamer.tuning.plan import Plan
from streamer.tuning.plan import add_arguments as add_plan_arguments
from streamer.segmentation.segmenter import VadOptions
from streamer.segmentation.vad import DetectorOptions
from streamer.output.sinks import FORMATS, make_sink

logger = logging.getLogger("streamer")

DEFAULT_MODEL = "auto"  #: the tuning plan picks (streamer.tuning.plan, docs/tuning.md)


def _speed(text: str) -> float:
    if text == "max":
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be a number > 0 or 'max', not {text!r}")
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError("speed must be a number > 0 or 'max'")
    return value


def _optional_float(text: str) -> float | None:
    return None if text.lower() in ("none", "off") else float(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the main command (captioning)."""
    p = argparse.ArgumentParser(
        prog="livescribe",
        description="Live speech-to-text in the terminal: captions the microphone, or replays "
                    "a recording as if it were live. Captions go to stdout, logs to stderr.",
        epilog="Subcommands: 'livescribe devices' lists input devices; 'livescribe info' "
               "shows the machine and the settings chosen for it.",
    )
    p.add_argument("--version", action="version", version=f"livescribe {__version__}")
    src = p.add_argument_group("input")
    src.add_argument("--file", "-f", metavar="PATH",
                     help="replay an audio/video file as if live (anything FFmpeg/PyAV decodes)")
    src.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                     help="replay speed: 1 = real time (default), 2 = twice as fast, "
                          "'max' = as fast as transcription goes")
    src.add_argument("--input-device", metavar="DEVICE",
                     help="microphone: index or part of the name from 'livescribe devices' "
                          "(default: the system's default input)")
    src.add_argument("--channel", type=int, metavar="N",
                     help="microphone: keep only input channel N (1-based) instead of the mix")
    src.add_argument("--input-rate", type=int, metavar="HZ",
                     help="microphone: open the device at HZ and resample to 16 kHz with soxr "
                          "(default: 16000 if the device takes it, else its default rate)")
    out = p.add_argument_group("output")
    out.add_argument("--format", choices=FORMATS, default="text",
                     help="caption format on stdout (default: text, one caption per line)")
    out.add_argument("--output", "-o", metavar="FILE", help="write captions to FILE instead of stdout")
    out.add_argument("--transcript", metavar="PATH",
                     help="append every caption, with stream times, to PATH, flushed to disk "
                          "per caption (default: a new file in the user data directory, e.g. "
                          "~/.local/share/livescribe/transcripts/<date-time>.txt)")
    out.add_argument("--no-transcript", action="store_true",
                     help="keep no transcript file")
    out.add_argument("--partials", action="store_true",
                     help="also write interim text of the utterance being spoken: text format "
                          "rewrites one line in place, jsonl adds \"type\": \"partial\" lines "
                          "(default: shown in the UI and in plain text on a terminal; never in "
                          "srt/vtt or the transcript)")
    out.add_argument("--record", metavar="PATH",
                     help="save the captured audio (16 kHz mono) to PATH: .flac or .wav")
    out.add_argument("-v", "--verbose", action="count", default=0,
                     help="more logging on stderr (-v: info and the tuning plan, -vv: debug)")
    ui = out.add_mutually_exclusive_group()
    ui.add_argument("--tui", action="store_true",
                    help="show the terminal UI: captions, status, device and latency panels "
                         "(default when stdout is a terminal)")
    ui.add_argument("--plain", action="store_true",
                    help="print plain captions, no UI (default when stdout is not a terminal)")
    out.add_argument("--benchmark", action="store_true",
                     help="print per-window timings (features, encode+decode, filters) on "
                          "stderr at exit")
    m = p.add_argument_group("model and decoding")
    add_plan_arguments(m)  # --model --device --compute-type --threads --beam-size --strict
    m.add_argument("--language", "-l", default=None,
                   help="language code (en, fr, ...); default: detect on the first windows")
    dd = DecodingOptions()
    m.add_argument("--encoder-context", type=_optional_float, default=dd.encoder_context_s,
                   metavar="SECONDS",
                   help=f"seconds of audio context given to the encoder (default "
                        f"{dd.encoder_context_s}; 'none' = Whisper's full 30 s)")
    m.add_argument("--prompt", default=None, help="initial prompt: names and vocabulary")
    fo = FilterOptions()
    m.add_argument("--no-speech-threshold", type=_optional_float, default=fo.no_speech_threshold,
                   help=f"drop captions above this no_speech_prob with low avg_logprob "
                        f"(default {fo.no_speech_threshold}; 'off' disables)")
    m.add_argument("--log-prob-threshold", type=_optional_float, default=fo.log_prob_threshold,
                   help=f"avg_logprob threshold of the no-speech rule (default {fo.log_prob_threshold})")
    m.add_argument("--compression-ratio-threshold", type=_optional_float,
                   default=fo.compression_ratio_threshold,
                   help=f"drop repetitive captions above this ratio (default "
                        f"{fo.compression_ratio_threshold})")
    h = p.add_argument_group("hallucination filters and gate (defaults measured: docs/tuning.md)")
    h.add_argument("--phrase-no-speech-threshold", type=_optional_float,
                   default=fo.phrase_no_speech_threshold, metavar="P",
                   help=f"a known hallucination phrase ('Thank you.', 'you') is dropped above "
                        f"this no_speech_prob (default {fo.phrase_no_speech_threshold})")
    h.add_argument("--phrase-log-prob-threshold", type=_optional_float,
                   default=fo.phrase_log_prob_threshold, metavar="LOGPROB",
                   help=f"... or below this avg_logprob (default {fo.phrase_log_prob_threshold})")
    h.add_argument("--phrase-min-words-per-voiced-s", type=_optional_float,
                   default=fo.phrase_min_words_per_voiced_s, metavar="RATE",
                   help=f"... or with fewer words per voiced second (default "
                        f"{fo.phrase_min_words_per_voiced_s})")
    h.add_argument("--language-prob-threshold", type=_optional_float,
                   default=fo.language_prob_threshold, metavar="P",
                   help=f"with --language, drop text detected as another language when the set "
                        f"language's probability is below this (default "
                        f"{fo.language_prob_threshold})")
    h.add_argument("--min-alnum-share", type=_optional_float, default=fo.min_alnum_share,
                   metavar="SHARE",
                   help=f"drop captions with a smaller share of letters and digits (default "
                        f"{fo.min_alnum_share})")
    h.add_argument("--repeat-within", type=_optional_float, default=fo.repeat_within_s,
                   metavar="SECONDS",
                   help=f"drop a caption repeating the previous one within this time (default "
                        f"{fo.repeat_within_s})")
    go = GateOptions()
    h.add_argument("--gate-max-zcr", type=_optional_float, default=go.max_zcr, metavar="RATE",
                   help=f"windows with a higher zero-crossing rate (broadband noise) never reach "
                        f"the model (default {go.max_zcr})")
    v = p.add_argument_group("speech detection (defaults measured: docs/tuning.md)")
    vo = VadOptions()
    v.add_argument("--vad-aggressiveness", type=int, choices=range(4),
                   default=vo.detector.webrtc_mode,
                   help=f"webrtcvad mode 0-3, the first stage (default {vo.detector.webrtc_mode})")
    v.add_argument("--speech-threshold", type=float, default=vo.speech_threshold, metavar="P",
                   help=f"Silero VAD probability that confirms speech (default "
                        f"{vo.speech_threshold}; it stays speech down to {vo.neg_threshold})")
    v.add_argument("--pre-roll-ms", type=int, default=vo.pre_roll_ms,
                   help=f"audio kept before speech onset (default {vo.pre_roll_ms})")
    v.add_argument("--end-silence-ms", type=int, default=vo.end_silence_ms,
                   help=f"silence that ends an utterance (default {vo.end_silence_ms})")
    v.add_argument("--max-utterance", type=float, default=vo.max_utterance_s, metavar="SECONDS",
                   help=f"longest window; longer speech is cut at a pause "
                        f"(default {vo.max_utterance_s:g})")
    v.add_argument("--min-speech-ms", type=int, default=vo.min_confirmed_ms,
                   help=f"windows with less confirmed speech are dropped as fragments "
                        f"(default {vo.min_confirmed_ms})")
    return p


def options_from_args(args: argparse.Namespace, plan: Plan | None = None):
    """Build :class:`~streamer.pipeline.PipelineOptions` from parsed arguments.

    With ``plan`` (:func:`streamer.tuning.plan.plan_from_args`), device, compute type, threads and beam
    size come from the plan and the worker loads through its fallback chain.

    Raises:
        LivescribeError: an option out of range (exit 2).
    """
    from streamer.pipeline import PipelineOptions

    try:
        vad = VadOptions(detector=DetectorOptions(webrtc_mode=args.vad_aggressiveness),
                         speech_threshold=args.speech_threshold,
                         neg_threshold=min(VadOptions().neg_threshold, args.speech_threshold),
                         pre_roll_ms=args.pre_roll_ms, end_silence_ms=args.end_silence_ms,
                         max_utterance_s=args.max_utterance,
                         min_confirmed_ms=args.min_speech_ms)
        beam = plan.beam_size if plan else args.beam_size or DecodingOptions().beam_size
        decoding = DecodingOptions(language=args.language, beam_size=beam,
                                   encoder_context_s=args.encoder_context,
                                   initial_prompt=args.prompt)
        filters = FilterOptions(no_speech_threshold=args.no_speech_threshold,
                                log_prob_threshold=args.log_prob_threshold,
                                compression_ratio_threshold=args.compression_ratio_threshold,
                                phrase_no_speech_threshold=args.phrase_no_speech_threshold,
                                phrase_log_prob_threshold=args.phrase_log_prob_threshold,
                                phrase_min_words_per_voiced_s=args.phrase_min_words_per_voiced_s,
                                language_prob_threshold=args.language_prob_threshold,
                                min_alnum_share=args.min_alnum_share,
                                repeat_within_s=args.repeat_within)
        gate = GateOptions(max_zcr=args.gate_max_zcr)
    except ValueError as exc:
        raise LivescribeError(str(exc), ExitCode.USAGE) from None
    if plan is not None:
        model = plan.model_options()
    else:
        model = ModelOptions(device="cpu" if args.device == "auto" else args.device,
                             compute_type="int8" if args.compute_type == "auto"
                             else args.compute_type, cpu_threads=max(0, args.threads))
    return PipelineOptions(vad=vad, model=model, decoding=decoding, filters=filters, plan=plan,
                           gate=gate, record_path=getattr(args, "record", None),
                           partials=wants_partials(args))


def wants_partials(args: argparse.Namespace, stdout=None) -> bool:
    """True when a front end shows partials: the UI; plain text on a terminal; ``--partials``
    (text or jsonl). SRT/VTT hold finals only."""
    if wants_tui(args, stdout):
        return True
    if args.format not in ("text", "jsonl"):
        return False
    if getattr(args, "partials", False):
        return True
    return args.format == "text" and not args.output and _isatty(stdout)


def _isatty(stdout=None) -> bool:
    """True when ``stdout`` (default: ``sys.stdout``) is a terminal."""
    stdout = sys.stdout if stdout is None else stdout
    try:
        return bool(stdout.isatty())
    except (AttributeError, ValueError):
        return False


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


def make_source_factory(args: argparse.Namespace):
    """Return ``ring -> source`` for the chosen input.

    Raises:
        LivescribeError: the file is missing or not audio; no microphone is usable.
    """
    if args.file:
        from streamer.capture.sources import FileSource

        return lambda ring: FileSource(args.file, ring, speed=args.speed)
    from streamer.capture.mic import make_mic_factory

    return make_mic_factory(args)


def run(args: argparse.Namespace) -> int:
    """Run a captioning session; return the exit code."""
    from streamer.decoding.models import resolve_model
    from streamer.pipeline import Pipeline

    from streamer.tuning.plan import plan_from_args
    from streamer.tuning.probe import probe

    machine = probe()  # kept for the TUI's device panel (CPU features)
    plan = plan_from_args(args, probe_fn=lambda: machine)  # -v logs it; --strict may stop here (78)
    options = options_from_args(args, plan)
    model = resolve_model(plan.model)
    pipeline = Pipeline(model, make_source_factory(args), options)  # opens the input now
    if wants_tui(args):
        return _run_tui(args, pipeline, plan, machine.simd)

    out_stream = sys.stdout
    if args.output:
        try:
            out_stream = open(args.output, "w", encoding="utf-8")
        except OSError as exc:
            raise LivescribeError(f"cannot write {args.output}: {exc.strerror}",
                                  ExitCode.NO_INPUT) from None
    sink = make_sink(args.format, out_stream, partials=options.partials)
    journal = _open_journal(args, pipeline.source.description)

    stop_signal: list[int] = []

    def on_signal(signum, frame):
        if stop_signal:  # second signal: leave now
            os._exit(128 + signum)
        stop_signal.append(signum)
        logger.warning("stopping: transcribing what is queued (press Ctrl-C again to quit now)")
        pipeline.stop()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    logger.info("input: %s", pipeline.source.description)
    try:
        for ev in pipeline.events():
            if isinstance(ev, (Caption, Partial)):
                if journal is not None and isinstance(ev, Caption):
                    journal.write(ev)  # on disk before it is shown: a kill loses nothing shown
                try:
                    sink.write(ev) if isinstance(ev, Caption) else sink.write_partial(ev)
                except BrokenPipeError:
                    # the reader went away (e.g. `| head`): stop quietly
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())
                    pipeline.stop()
                    return ExitCode.OK
            elif isinstance(ev, ModelReady):
                logger.info("model %s ready on %s/%s, beam %d (load %.2f s, warm-up %.2f s)",
                            ev.model, ev.device, ev.compute_type, ev.beam_size, ev.load_s,
                            ev.warmup_s)
            elif isinstance(ev, PipelineStats) and ev.final:
                _report(ev)
            elif isinstance(ev, WindowDropped):
                pass  # logged by the worker at -v
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        sink.close()
        if out_stream is not sys.stdout:
            out_stream.close()
        if journal is not None:
            journal.close()
    if args.benchmark:
        _benchmark(pipeline.worker.timings)
    if pipeline.error is not None:
        raise pipeline.error
    if stop_signal:
        return ExitCode.SIGINT if stop_signal[0] == signal.SIGINT else ExitCode.SIGTERM
    return ExitCode.OK


def wants_tui(args: argparse.Namespace, stdout=None) -> bool:
    """True to show the Textual UI: ``--tui``; or, unless ``--plain``, when stdout is a
    terminal (not ``TERM=dumb``) and captions are not asked for on stdout in another format."""
    if getattr(args, "plain", False):
        return False
    if getattr(args, "tui", False):
        return True
    return (_isatty(stdout) and os.environ.get("TERM") != "dumb"
            and (args.format == "text" or bool(args.output)))


def _run_tui(args: argparse.Namespace, pipeline, plan, cpu_features) -> int:
    """The session in the terminal UI (:mod:`tui.run`, imported only here)."""
    from tui.run import run_tui

    out_stream = None
    sinks = []
    if args.output:
        try:
            out_stream = open(args.output, "w", encoding="utf-8")
        except OSError as exc:
            raise LivescribeError(f"cannot write {args.output}: {exc.strerror}",
                                  ExitCode.NO_INPUT) from None
        sinks.append(make_sink(args.format, out_stream))
    try:
        return run_tui(pipeline, model_name=plan.model, plan=plan, cpu_features=cpu_features,
                       sinks=sinks,
                       open_extra_sinks=lambda: [_open_journal(args, pipeline.source.description)])
    finally:
        if out_stream is not None:
            out_stream.close()


def _open_journal(args: argparse.Namespace, description: str):
    """The session transcript (:func:`streamer.output.sinks.open_journal`), or None.

    Its path is logged once at start: at warning level when stderr is a terminal (seen without
    ``-v``), at info level otherwise (pipes and scripts keep a quiet stderr).

    Raises:
        LivescribeError: an explicit ``--transcript`` path cannot be written (exit 66); a
            default path that cannot be written only warns.
    """
    if getattr(args, "no_transcript", False):
        return None
    from streamer.output.sinks import open_journal

    try:
        journal = open_journal(args.transcript, description)
    except LivescribeError as exc:
        if args.transcript:
            raise
        logger.warning("%s; continuing without a transcript", exc)
        return None
    level = logging.WARNING if sys.stderr.isatty() else logging.INFO
    logger.log(level, "transcript: %s", journal.path)
    return journal


def _benchmark(timings: list[tuple[float, float, float, float]]) -> None:
    """``--benchmark``: per-window wall seconds on stderr (features, encode+decode, filters)."""
    import numpy as np

    err = sys.stderr
    print(f"benchmark: {len(timings)} windows, wall seconds per window", file=err)
    print(f"{'window':>8} {'features':>9} {'enc+dec':>9} {'filters':>9} {'total':>9}", file=err)
    rows = np.array([(f, e + d, fl, f + e + d + fl) for f, e, d, fl in timings]).reshape(-1, 4)
    for i, (f, ed, fl, tot) in enumerate(rows):
        print(f"{i:>8} {f:>9.3f} {ed:>9.3f} {fl:>9.4f} {tot:>9.3f}", file=err)
    if len(rows):
        for name, fn in (("mean", np.mean), ("p50", np.median),
                         ("p95", lambda a, axis: np.percentile(a, 95, axis=axis)),
                         ("max", np.max)):
            f, ed, fl, tot = fn(rows, axis=0)
            print(f"{name:>8} {f:>9.3f} {ed:>9.3f} {fl:>9.4f} {tot:>9.3f}", file=err)


def _report(st: PipelineStats) -> None:
    logger.info("%.1f s of audio, %d windows, %d captions, RTF %.3f, %d fragments dropped, "
                "%d windows gated, filtered %s", st.stream_s, st.windows, st.captions, st.rtf,
                st.fragments_dropped, st.windows_gated, st.filtered or "none")
    if st.overruns:
        logger.warning("ring buffer overruns: %d blocks (%.2f s of audio) were lost",
                       st.overruns, st.overrun_samples / 16000)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``livescribe`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "devices":
        from streamer.capture.mic import devices_main

        return _guard(lambda: devices_main(argv[1:]))
    if argv and argv[0] == "info":
        from streamer.tuning.plan import info_main

        return _guard(lambda: info_main(argv[1:]))
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    return _guard(lambda: run(args))


def _guard(fn) -> int:
    try:
        return int(fn())
    except LivescribeError as exc:
        print(f"livescribe: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return int(ExitCode.SIGINT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
