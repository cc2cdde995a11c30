"""The one configuration: defaults < config file < LIVESCRIBE_* < flags, the source of every
value, ``livescribe config [--json]``, and the errors of each layer."""

from __future__ import annotations

import json
import math

import pytest

from conftest import run_cli
from streamer.config import Config, build_config, parse_value, settings
from streamer.errors import ExitCode, LivescribeError
from tui.cli.parser import build_parser, flags_from

def built(flags=None, env=None, toml: str | None = None, tmp_path=None):
    """``build_config`` with a config file holding ``toml`` (None: the default file, which the
    session fixture keeps in an empty temporary config directory) and ``env``."""
    path = None
    if toml is not None:
        path = tmp_path / "config.toml"
        path.write_text(toml)
    return build_config(flags or {}, env=dict(env or {}), path=path)


def test_defaults_are_the_dataclass_defaults(tmp_path):
    b = built(tmp_path=tmp_path)
    assert b.config == Config()
    assert set(b.sources.values()) == {"default"} and not b.file_found
    keys = [s.key for s in settings()]
    assert len(keys) == len(set(keys)) and "decoding.beam_size" not in keys  # the plan sets it
    assert {"input.file", "model.name", "vad.detector.webrtc_mode", "filters.no_speech_threshold",
            "output.format", "ui.verbose"} <= set(keys)


def test_each_layer_overrides_the_one_before(tmp_path):
    toml = ('[model]\nname = "base"\nbeam_size = 2\nthreads = 1\n'
            '[decoding]\nlanguage = "fr"\n[vad.detector]\nwebrtc_mode = 2\n')
    env = {"LIVESCRIBE_MODEL_BEAM_SIZE": "3", "LIVESCRIBE_MODEL_THREADS": "auto",
           "LIVESCRIBE_DECODING_LANGUAGE": "de", "LIVESCRIBE_PULSE_DIR": "/not/a/setting"}
    b = built({"decoding.language": "en"}, env, toml, tmp_path)
    c = b.config
    assert (c.model.name, b.sources["model.name"]) == ("base", "file")
    assert (c.model.beam_size, b.sources["model.beam_size"]) == (3, "env")
    assert (c.model.threads, b.sources["model.threads"]) == (0, "env")  # "auto"
    assert (c.decoding.language, b.sources["decoding.language"]) == ("en", "flag")
    assert (c.vad.detector.webrtc_mode, b.sources["vad.detector.webrtc_mode"]) == (2, "file")
    assert b.sources["vad.pre_roll_ms"] == "default" and b.file_found


def test_the_config_file_comes_from_the_user_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # platformdirs' Linux rule
    (tmp_path / "livescribe").mkdir()
    (tmp_path / "livescribe" / "config.toml").write_text('[input]\nspeed = "max"\n')
    b = build_config({}, env={})
    assert b.file == tmp_path / "livescribe" / "config.toml" and b.file_found
    assert math.isinf(b.config.input.speed) and b.sources["input.speed"] == "file"
    other = tmp_path / "other.toml"
    other.write_text('[ui]\nverbose = 1\n')
    b = build_config({}, env={"LIVESCRIBE_CONFIG": str(other)})
    assert b.file == other and b.config.ui.verbose == 1 and b.config.input.speed == "auto"


@pytest.mark.parametrize("key,text,value", [
    ("input.speed", "max", math.inf), ("input.speed", "2", 2.0), ("input.speed", "auto", "auto"),
    ("model.threads", "auto", 0),
    ("model.beam_size", "auto", None), ("model.beam_size", "5", 5),
    ("filters.no_speech_threshold", "off", None), ("filters.no_speech_threshold", "0.3", 0.3),
    ("decoding.encoder_context_s", "none", None), ("output.journal", "no", False),
    ("model.strict", "true", True), ("decoding.language", "en", "en"),
    ("decoding.language", "none", None), ("output.partials", "on", True),
])
def test_text_values_parse_the_same_everywhere(key, text, value):
    assert parse_value(key, text) == value


@pytest.mark.parametrize("toml,needle", [
    ('[model]\nnmae = "base"\n', "unknown setting 'model.nmae'"),
    ('[model]\nthreads = "many"\n', "threads must be an integer"),
    ('[model\n', "config file"),
    ('[output]\njournal = 3\n', "output.journal cannot be 3"),
])
def test_a_bad_config_file_is_exit_78_naming_the_file(tmp_path, toml, needle):
    with pytest.raises(LivescribeError) as e:
        built(toml=toml, tmp_path=tmp_path)
    assert e.value.exit_code == ExitCode.CONFIG and needle in str(e.value)
    assert str(tmp_path / "config.toml") in str(e.value)


def test_a_missing_explicit_file_is_exit_66(tmp_path):
    with pytest.raises(LivescribeError) as e:
        build_config({}, env={}, path=tmp_path / "missing.toml")
    assert e.value.exit_code == ExitCode.NO_INPUT


def test_a_bad_environment_value_is_exit_78_naming_the_variable(tmp_path):
    with pytest.raises(LivescribeError) as e:
        built(env={"LIVESCRIBE_VAD_PRE_ROLL_MS": "lots"}, tmp_path=tmp_path)
    assert e.value.exit_code == ExitCode.CONFIG and "LIVESCRIBE_VAD_PRE_ROLL_MS" in str(e.value)


def test_values_that_do_not_fit_are_2_from_a_flag_78_from_a_file(tmp_path):
    with pytest.raises(LivescribeError) as e:
        built({"vad.max_utterance_s": 40.0}, tmp_path=tmp_path)
    assert e.value.exit_code == ExitCode.USAGE and "max_utterance_s" in str(e.value)
    with pytest.raises(LivescribeError) as e:
        built(toml="[vad]\nmax_utterance_s = 40\n", tmp_path=tmp_path)
    assert e.value.exit_code == ExitCode.CONFIG


def test_a_flag_that_names_no_setting_is_refused_not_ignored(tmp_path):
    # the command line passes only known keys; a caller's typo must not run on defaults
    with pytest.raises(KeyError, match="vad.speech_treshold"):
        built({"vad.speech_treshold": 0.3, "model.name": "base"}, tmp_path=tmp_path)


def test_a_raised_speech_threshold_takes_the_hysteresis_threshold_with_it(tmp_path):
    assert built({"vad.speech_threshold": 0.3}, tmp_path=tmp_path).config.vad.neg_threshold == 0.3
    assert built({"vad.speech_threshold": 0.7}, tmp_path=tmp_path).config.vad.neg_threshold == 0.35
    b = built({"vad.speech_threshold": 0.3}, {"LIVESCRIBE_VAD_NEG_THRESHOLD": "0.2"},
              tmp_path=tmp_path)
    assert b.config.vad.neg_threshold == 0.2


def test_flags_map_to_keys_and_only_given_ones_count():
    args = build_parser().parse_args(["--model", "tiny.en", "-vv", "--no-transcript", "--plain",
                                      "--speed", "max", "--vad-aggressiveness", "2"])
    assert flags_from(args) == {"model.name": "tiny.en", "ui.verbose": 2,
                                "output.journal": False, "ui.mode": "plain",
                                "input.speed": math.inf, "vad.detector.webrtc_mode": 2}
    assert flags_from(build_parser().parse_args([])) == {}


# -- the command --------------------------------------------------------------------------------

def test_livescribe_config_prints_every_value_and_its_source(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[model]\nname = "base"\n')
    r = run_cli("config", "--config", str(cfg), "--beam-size", "4",
                env={"LIVESCRIBE_DECODING_LANGUAGE": "en"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"# config file: {cfg} (read)")
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[1:]}
    assert len(rows) == len(settings())
    assert rows["model.name"] == ["base", "file"]
    assert rows["model.beam_size"] == ["4", "flag"]
    assert rows["decoding.language"] == ["en", "env"]
    assert rows["input.file"] == ["none", "default"]


def test_livescribe_config_json_and_flags_before_the_subcommand(tmp_path):
    r = run_cli("--model", "tiny.en", "-v", "config", "--json", "--speed", "max")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["file_found"] is False and doc["file"].endswith("config.toml")
    s = doc["settings"]
    assert set(s) == {x.key for x in settings()}
    assert s["model.name"] == {"value": "tiny.en", "source": "flag",
                               "env": "LIVESCRIBE_MODEL_NAME"}
    assert s["input.speed"]["value"] == "max" and s["ui.verbose"]["value"] == 1
    assert s["filters.no_speech_threshold"] == {"value": 0.45, "source": "default",
                                                "env": "LIVESCRIBE_FILTERS_NO_SPEECH_THRESHOLD"}


def test_a_bad_setting_is_one_line_and_its_exit_code(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[model]\nbeam = 5\n")
    r = run_cli("config", "--config", str(bad))
    assert r.returncode == 78 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "unknown setting 'model.beam'" in r.stderr
    r = run_cli("--file", "assets/jfk.flac", env={"LIVESCRIBE_INPUT_SPEED": "0"})
    assert r.returncode == 78 and "LIVESCRIBE_INPUT_SPEED" in r.stderr


def test_malloc_arenas_are_limited_once_and_never_against_the_environment(monkeypatch):
    """``pipeline.malloc_arena_max``: applied through glibc's mallopt on Linux; 0 or an explicit
    ``MALLOC_ARENA_MAX`` (which glibc read at start) leave glibc alone; a negative value is a
    configuration error."""
    import sys

    from streamer.config import PipelineOptions
    from tui.cli.memory import limit_malloc_arenas

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(0) is False
    assert limit_malloc_arenas(2) is sys.platform.startswith("linux")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False
    assert PipelineOptions().malloc_arena_max == 2
    with pytest.raises(ValueError):
        PipelineOptions(malloc_arena_max=-1)
