"""The ``livescribe`` argument parser: argparse subparsers over the engine's configuration keys.

Every session flag stores into its configuration key (``--beam-size`` into ``model.beam_size``,
``--vad-aggressiveness`` into ``vad.detector.webrtc_mode``) and has no default of its own
(``argparse.SUPPRESS``): only the flags given reach :func:`streamer.config.build_config`, which
puts them over the defaults, the config file and the environment and can say where each value
came from. Text is parsed by the engine's :func:`streamer.config.parse_value`, so a flag, a
``LIVESCRIBE_*`` variable and the config file accept the same spellings.

Commands: ``livescribe [flags]`` captions; ``livescribe info``, ``livescribe config``,
``livescribe devices`` and ``livescribe serve`` are subparsers, so flags may come before or
after them (``livescribe -v info``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from streamer import __version__
from streamer.config import Config, format_value, get, parse_value
from streamer.config.schema import DEVICES, LOG_FORMATS
from streamer.output.sinks import FORMATS

SUPPRESS = argparse.SUPPRESS


def typed(key: str) -> Callable[[str], object]:
    """An argparse ``type`` for setting ``key`` (:func:`streamer.config.parse_value`)."""
    def parse(text: str):
        try:
            return parse_value(key, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = key  # argparse names the type in some messages
    return parse


def _default(key: str) -> str:
    return format_value(get(Config(), key))


def _setting(group, *names: str, key: str, help: str, **kw) -> None:
    """A flag storing a parsed value into ``key`` (help says its default)."""
    kw.setdefault("type", typed(key))
    if "choices" not in kw:
        name = key.rsplit(".", 1)[-1]
        kw.setdefault("metavar", "MS" if name.endswith("_ms") else name.upper())
    group.add_argument(*names, dest=key, default=SUPPRESS,
                       help=f"{help} (default: {_default(key)}; setting {key})", **kw)


def _switch(group, *names: str, key: str, value, help: str) -> None:
    """A flag without a value storing ``value`` into ``key``."""
    group.add_argument(*names, dest=key, action="store_const", const=value, default=SUPPRESS,
                       help=f"{help} (setting {key})")


def session_flags() -> argparse.ArgumentParser:
    """The flags of a captioning session, as a parent parser (shared by the main command,
    ``info``, ``config`` and ``serve``)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", dest="config_file", metavar="PATH", default=SUPPRESS,
                   help="the config file (default: $LIVESCRIBE_CONFIG, else config.toml in "
                        "the user config directory, e.g. ~/.config/livescribe/config.toml)")
    src = p.add_argument_group("input")
    _setting(src, "--file", "-f", key="input.file", metavar="PATH",
             help="replay an audio/video file as if live (anything FFmpeg/PyAV decodes); '-' "
                  "reads stdin (ffmpeg ... -f wav - | livescribe --file -)")
    _setting(src, "--speed", key="input.speed", metavar="X",
             help="replay speed: auto = real time when the captions are watched (the UI, "
                  "or plain text on a terminal) and max when they go to a file or a pipe; "
                  "1 = real time, 2 = twice as fast, max = as fast as transcription goes")
    _setting(src, "--input-format", key="input.format", metavar="FORMAT",
             help="the input's format as FFmpeg names it, for data PyAV cannot probe: raw "
                  "PCM (s16le, f32le...; with --input-rate and --input-channels) or a "
                  "container (wav, mp3...); none: probe")
    _setting(src, "--input-channels", key="input.channels", metavar="N",
             help="raw PCM input: interleaved channels, mixed down to mono (none: 1)")
    _setting(src, "--input-device", key="input.device", metavar="DEVICE",
             help="microphone: index or part of the name from 'livescribe devices'")
    _setting(src, "--channel", key="input.channel", metavar="N",
             help="microphone: keep only input channel N (1-based) instead of the mix")
    _setting(src, "--input-rate", key="input.rate_hz", metavar="HZ",
             help="microphone: open the device at HZ and resample to 16 kHz with soxr; raw "
                  "PCM input: its sample rate (none: 16000)")
    out = p.add_argument_group("output")
    _setting(out, "--format", key="output.format", choices=FORMATS,
             help="caption format: text (one caption per line), jsonl, tsv (start and end in "
                  "ms, text), srt, vtt")
    _setting(out, "--output", "-o", key="output.path", metavar="FILE",
             help="write captions to FILE instead of stdout")
    _switch(out, "--timestamps", key="output.timestamps", value=True,
            help="text: prefix each caption with its start and end, [00:00:01.200 --> "
                 "00:00:04.650]")
    _setting(out, "--max-line-width", key="output.max_line_width", metavar="N",
             help="srt/vtt: at most N characters per line")
    _setting(out, "--max-line-count", key="output.max_line_count", metavar="N",
             help="srt/vtt: at most N lines per cue, longer captions split into cues at word "
                  "times (needs --word-timestamps)")
    _setting(out, "--transcript", key="output.transcript", metavar="PATH",
             help="append every caption, with stream times, to PATH, fsync'd per caption "
                  "(none: a new file in the user data directory, e.g. "
                  "~/.local/share/livescribe/transcripts/<date-time>.txt)")
    _switch(out, "--no-transcript", key="output.journal", value=False,
            help="keep no transcript (the journal; 's' in the UI exports it)")
    _switch(out, "--partials", key="output.partials", value=True,
            help="also write interim text of the utterance being spoken: text rewrites one "
                 "line in place, jsonl adds \"type\": \"partial\" lines (shown anyway in the "
                 "UI and in plain text on a terminal; never in srt/vtt or the transcript)")
    _setting(out, "--record", key="output.record", metavar="PATH",
             help="save the captured audio (16 kHz mono) to PATH: .flac or .wav")
    out.add_argument("-v", "--verbose", dest="ui.verbose", action="count", default=SUPPRESS,
                     help="more logging (-v: info and the tuning plan, -vv: debug); on stderr, "
                          "or in a log panel in the UI (setting ui.verbose)")
    ui = out.add_mutually_exclusive_group()
    _switch(ui, "--tui", key="ui.mode", value="tui",
            help="show the terminal UI (default when stdout is a terminal)")
    _switch(ui, "--plain", key="ui.mode", value="plain",
            help="print plain captions, no UI (default when stdout is not a terminal)")
    _switch(out, "--wall-clock", key="ui.wall_clock", value=True,
            help="the UI's time column shows wall-clock times (14:05:12) instead of stream "
                 "times (M:SS); w toggles")
    _switch(out, "--benchmark", key="ui.benchmark", value=True,
            help="print per-window timings (features, encode+decode, filters) on stderr at "
                 "exit")
    m = p.add_argument_group("model and decoding")
    _setting(m, "--model", "-m", key="model.name",
             help="auto (the plan's choice, see 'livescribe info'), tiny.en or base "
                  "(offline, bundled), a CTranslate2 model directory, or a faster-whisper "
                  "name to download")
    _setting(m, "--device", key="model.device", choices=DEVICES,
             help="inference device (auto: CUDA when CTranslate2 sees a GPU)")
    _setting(m, "--compute-type", key="model.compute_type", metavar="TYPE",
             help="CTranslate2 compute type: auto, int8, float32, float16, int8_float16...")
    _setting(m, "--threads", key="model.threads", metavar="N", help="CPU threads for inference (0 = auto)")
    _setting(m, "--beam-size", key="model.beam_size", metavar="N", help="beam size of finals, 1 = greedy (none = auto)")
    _switch(m, "--strict", key="model.strict", value=True,
            help="an impossible device/compute type is an error (exit 78), not a fallback")
    _setting(m, "--language", "-l", key="decoding.language", metavar="CODE",
             help="language code (en, fr, ...); none: detect on the first windows")
    _setting(m, "--encoder-context", key="decoding.encoder_context_s", metavar="SECONDS",
             help="seconds of audio context given to the encoder ('none' = Whisper's full 30 s)")
    _setting(m, "--prompt", key="decoding.initial_prompt", metavar="TEXT",
             help="initial prompt: names and vocabulary")
    _setting(m, "--task", key="decoding.task", choices=("transcribe", "translate"),
             help="translate: speech in any language captioned in English (a multilingual "
                  "model such as base)")
    _setting(m, "--hotwords", key="decoding.hotwords", metavar="TEXT",
             help="words to favour, e.g. names and jargon (faster-whisper's hotwords)")
    _switch(m, "--word-timestamps", key="decoding.word_timestamps", value=True,
            help="time every word: \"words\" with start, end and probability in jsonl; "
                 "srt/vtt cues split at word times")
    _setting(m, "--no-speech-threshold", key="filters.no_speech_threshold", metavar="P",
             help="drop captions above this no_speech_prob with low avg_logprob ('off' "
                  "disables)")
    _setting(m, "--log-prob-threshold", key="filters.log_prob_threshold", metavar="LOGPROB",
             help="avg_logprob threshold of the no-speech rule")
    _setting(m, "--compression-ratio-threshold", key="filters.compression_ratio_threshold",
             metavar="RATIO",
             help="drop repetitive captions above this gzip ratio")
    h = p.add_argument_group("hallucination filters and gate (defaults measured: "
                             "docs/tuning.md)")
    _setting(h, "--phrase-no-speech-threshold", key="filters.phrase_no_speech_threshold",
             metavar="P", help="a known hallucination phrase ('Thank you.', 'you') is dropped "
                               "above this no_speech_prob")
    _setting(h, "--phrase-log-prob-threshold", key="filters.phrase_log_prob_threshold",
             metavar="LOGPROB", help="... or below this avg_logprob")
    _setting(h, "--phrase-min-words-per-voiced-s", key="filters.phrase_min_words_per_voiced_s",
             metavar="RATE", help="... or with fewer words per voiced second")
    _setting(h, "--language-prob-threshold", key="filters.language_prob_threshold",
             metavar="P", help="with --language, drop text detected as another language when "
                               "the set language's probability is below this")
    _setting(h, "--min-alnum-share", key="filters.min_alnum_share", metavar="SHARE",
             help="drop captions with a smaller share of letters and digits")
    _setting(h, "--repeat-within", key="filters.repeat_within_s", metavar="SECONDS",
             help="drop a caption repeating the previous one within this time")
    _setting(h, "--gate-max-zcr", key="gate.max_zcr", metavar="RATE",
             help="windows with a higher zero-crossing rate (broadband noise) never reach "
                  "the model")
    v = p.add_argument_group("speech detection (defaults measured: docs/tuning.md)")
    _setting(v, "--vad-aggressiveness", key="vad.detector.webrtc_mode", choices=range(4),
             help="webrtcvad mode 0-3, the first stage")
    _setting(v, "--speech-threshold", key="vad.speech_threshold", metavar="P",
             help="Silero VAD probability that confirms speech (the hysteresis threshold "
                  "follows it down)")
    _setting(v, "--pre-roll-ms", key="vad.pre_roll_ms", help="audio kept before speech onset")
    _setting(v, "--end-silence-ms", key="vad.end_silence_ms",
             help="silence that ends an utterance")
    _setting(v, "--max-utterance", key="vad.max_utterance_s", metavar="SECONDS",
             help="longest window; longer speech is cut at a pause")
    _setting(v, "--min-speech-ms", key="vad.min_confirmed_ms",
             help="windows with less confirmed speech are dropped as fragments")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``livescribe`` parser: session flags, and the ``info``, ``config`` and ``devices``
    subcommands (``args.command`` is None for a captioning session)."""
    flags = session_flags()
    p = argparse.ArgumentParser(
        prog="livescribe", parents=[flags],
        description="Live speech-to-text in the terminal: captions the microphone, or replays "
                    "a recording as if it were live. Captions go to stdout, logs to stderr. "
                    "Every option is also a setting of the config file and a LIVESCRIBE_* "
                    "variable ('livescribe config' shows them all and where each comes from).")
    p.add_argument("--version", action="version", version=f"livescribe {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND",
                           title="commands (none: caption the input)")
    info = sub.add_parser("info", parents=[flags], help="this machine and the settings "
                                                        "livescribe would use, with reasons",
                          description="Print what this machine offers and the tuning plan for "
                                      "it, with reasons.")
    info.add_argument("--json", action="store_true", help="one JSON object for machines")
    config = sub.add_parser("config", parents=[flags], help="the effective settings and where "
                                                            "each comes from",
                            description="Print every setting's effective value and its source: "
                                        "default, file (the config file), env (LIVESCRIBE_*) or "
                                        "flag.")
    config.add_argument("--json", action="store_true", help="one JSON object for machines")
    devices = sub.add_parser("devices", help="list audio input devices",
                             description="List audio input devices: index, name, host API, "
                                         "input channels, default sample rate; '*' marks the "
                                         "default. Pass the index or a unique part of the name "
                                         "to 'livescribe --input-device'.")
    devices.add_argument("--json", action="store_true", help="one JSON array for machines")
    devices.add_argument("-v", "--verbose", dest="ui.verbose", action="count", default=SUPPRESS,
                         help="more logging on stderr")
    serve_flags(sub, flags)
    return p


def serve_flags(sub, flags: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand: the session flags (model, decoding, VAD, filters) and the
    server's own (docs/server.md)."""
    serve = sub.add_parser(
        "serve", parents=[flags], help="run the transcription server (HTTP and WebSocket)",
        description="Serve transcription over HTTP and WebSocket on one warm model: the OpenAI "
                    "transcription REST API (POST /v1/audio/transcriptions), the OpenAI "
                    "Realtime transcription protocol (/v1/realtime), livescribe's JSON-lines "
                    "stream (/v1/stream), /health, /v1/sessions, /performance. Logs on stderr "
                    "as JSON lines. Binds loopback unless told otherwise; any other address "
                    "needs an API key. See docs/server.md.")
    g = serve.add_argument_group("server")
    _setting(g, "--host", key="server.host", help="address to listen on (not loopback: needs "
                                                 "--api-key)")
    _setting(g, "--port", key="server.port", help="TCP port (0: any free port)")
    g.add_argument("--api-key", dest="api_key", metavar="KEY", default=None,
                   help="require 'Authorization: Bearer KEY' on every route but /health "
                        "(default: $LIVESCRIBE_API_KEY; never a setting, so 'livescribe "
                        "config' cannot show it)")
    _setting(g, "--max-sessions", key="server.max_sessions", metavar="N",
             help="concurrent sessions; more are answered 429 with Retry-After")
    _setting(g, "--max-upload-mb", key="server.max_upload_mb", metavar="MB",
             help="largest upload (413 beyond)")
    _setting(g, "--max-audio", key="server.max_audio_s", metavar="SECONDS",
             help="longest audio of an upload or a stream (413, or the stream is closed)")
    _setting(g, "--idle-timeout", key="server.idle_timeout_s", metavar="SECONDS",
             help="close a stream that sends nothing for this long (408 for a stalled upload)")
    _setting(g, "--batch-size", key="server.batch_size", metavar="N",
             help="finals of different sessions decoded in one call (0: 1 on CPU, 8 on CUDA)")
    _setting(g, "--partial-share", key="server.partial_share", metavar="SHARE",
             help="most of the model's time partial decodes may take (the rest is kept for "
                  "finals)")
    _setting(g, "--log-format", key="server.log_format", choices=LOG_FORMATS,
             help="stderr logs as JSON lines or text")


def flags_from(args: argparse.Namespace) -> dict[str, object]:
    """The configuration keys the command line gave, with their values."""
    return {k: v for k, v in vars(args).items() if "." in k}


def argv_for(flags: dict[str, object]) -> list[str]:
    """The command line that gives ``flags`` (key -> value) back, e.g. to run ``livescribe``
    as a child process with a script's settings (``scripts/bench.py --mode live``)."""
    out: list[str] = []
    for action in session_flags()._actions:
        if action.dest not in flags or not action.option_strings:
            continue
        value, opt = flags[action.dest], max(action.option_strings, key=len)
        if isinstance(action, argparse._CountAction):
            out += [opt] * int(value)
        elif isinstance(action, argparse._StoreConstAction):
            if value == action.const:
                out.append(opt)
        else:
            out.append(f"{opt}={format_value(value)}")
    return out
