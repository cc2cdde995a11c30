"""Building the one :class:`~streamer.config.schema.Config` of a session, and saying where each
value came from.

Four layers, each overriding the one before (:func:`build_config`):

1. **default**: the dataclass defaults (sources in docs/tuning.md);
2. **file**: ``config.toml`` in the user config directory (platformdirs: on Linux
   ``$XDG_CONFIG_HOME/livescribe/config.toml`` or ``~/.config/livescribe/config.toml``), or the
   file ``LIVESCRIBE_CONFIG`` / ``--config`` names; TOML tables are the groups::

       [model]
       name = "base"
       [decoding]
       language = "en"
       [vad.detector]
       webrtc_mode = 1

3. **env**: ``LIVESCRIBE_<KEY>`` with the dotted key in upper case and dots as underscores
   (``LIVESCRIBE_MODEL_NAME=tiny.en``, ``LIVESCRIBE_VAD_DETECTOR_WEBRTC_MODE=2``); other
   ``LIVESCRIBE_*`` names are not settings and are left alone;
4. **flag**: values the command line gave (a mapping from key to value; the front end owns its
   flags and passes only those given).

Text (environment, flags, strings in the file) is parsed by :func:`parse_value`: ``none`` or
``off`` is None for an optional field, ``true``/``false`` (also ``1/0``, ``yes/no``, ``on/off``)
a boolean, ``max`` an infinite speed, ``auto`` the front end's choice of speed and the plan's
for threads and beam size.
"""

from __future__ import annotations

import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path

from streamer.config.schema import Config, Setting, get, settings
from streamer.errors import ExitCode, LivescribeError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: environment variable naming the config file (instead of the user config directory's)
CONFIG_ENV = "LIVESCRIBE_CONFIG"
#: the layers, lowest first
SOURCES = ("default", "file", "env", "flag")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def default_config_path() -> Path:
    """``config.toml`` in the user config directory (``platformdirs.user_config_path``)."""
    import platformdirs

    return platformdirs.user_config_path("livescribe", appauthor=False) / "config.toml"


def _parse_speed(text: str) -> float | str:
    if text == "max":
        return math.inf
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"speed must be a number > 0, 'max' or 'auto', not {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise ValueError("speed must be a number > 0, 'max' or 'auto'")
    return value


def _parse_threads(text: str) -> int:
    if text == "auto":
        return 0
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"threads must be an integer >= 0 or 'auto', not {text!r}") from None
    if n < 0:
        raise ValueError("threads must be >= 0 (0 = auto)")
    return n


def _parse_beam(text: str) -> int | None:
    if text in ("auto", "none"):
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"beam size must be an integer >= 1 or 'auto', not {text!r}") from None
    if n < 1:
        raise ValueError("beam size must be >= 1")
    return n


#: settings whose text form is not just their type's
SPECIAL = {"input.speed": _parse_speed, "model.threads": _parse_threads,
           "model.beam_size": _parse_beam}


def _setting(key: str) -> Setting:
    for s in settings():
        if s.key == key:
            return s
    raise KeyError(key)


def _base_types(tp) -> tuple[tuple[type, ...], bool]:
    """``(non-None types, optional)`` of a field type such as ``float | None``."""
    args = typing.get_args(tp) if isinstance(tp, types.UnionType) or \
        typing.get_origin(tp) is typing.Union else (tp,)
    return tuple(a for a in args if a is not type(None)), type(None) in args


def parse_value(key: str, text: str):
    """The value of setting ``key`` written as ``text`` (an environment variable, a flag).

    Raises:
        KeyError: ``key`` is not a setting.
        ValueError: ``text`` is not a value of its type, with a one-line reason.
    """
    setting = _setting(key)
    text = text.strip()
    if key in SPECIAL:
        return SPECIAL[key](text.lower())
    kinds, optional = _base_types(setting.type)
    if optional and text.lower() in ("none", "off", ""):
        return None
    kind = kinds[0]
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{key} must be true or false, not {text!r}")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{key} must be {'an integer' if kind is int else 'a number'}"
                             f"{' or none' if optional else ''}, not {text!r}") from None
    return text


def _from_toml(key: str, value):
    """Check a value read from TOML (already typed) against setting ``key``."""
    if isinstance(value, str):
        return parse_value(key, value)
    kinds, _ = _base_types(_setting(key).type)
    if isinstance(value, bool):
        if bool in kinds:
            return value
    elif isinstance(value, int) and (int in kinds or float in kinds):
        return value if int in kinds else float(value)
    elif isinstance(value, float) and float in kinds:
        return value
    raise ValueError(f"{key} cannot be {value!r}")


def _flatten(table: Mapping, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, key + "."))
        else:
            out[key] = value
    return out


def read_file(path: Path) -> dict[str, object]:
    """The settings in the TOML file at ``path``, by key.

    Raises:
        LivescribeError: unreadable (exit 66), not TOML, an unknown key or a bad value
            (exit 78, ``ExitCode.CONFIG``), naming the file.
    """
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise LivescribeError(f"cannot read config file {path}: {exc.strerror or exc}",
                              ExitCode.NO_INPUT) from None
    except tomllib.TOMLDecodeError as exc:
        raise LivescribeError(f"config file {path}: {exc}", ExitCode.CONFIG) from None
    known = {s.key for s in settings()}
    out: dict[str, object] = {}
    for key, value in _flatten(data).items():
        if key not in known:
            raise LivescribeError(f"config file {path}: unknown setting {key!r} (see "
                                  f"'livescribe config')", ExitCode.CONFIG)
        try:
            out[key] = _from_toml(key, value)
        except ValueError as exc:
            raise LivescribeError(f"config file {path}: {exc}", ExitCode.CONFIG) from None
    return out


def read_env(env: Mapping[str, str]) -> dict[str, object]:
    """The settings in ``LIVESCRIBE_*`` variables of ``env``, by key (others are ignored).

    Raises:
        LivescribeError: a bad value (exit 78), naming the variable.
    """
    out: dict[str, object] = {}
    for s in settings():
        if s.env in env:
            try:
                out[s.key] = parse_value(s.key, env[s.env])
            except ValueError as exc:
                raise LivescribeError(f"{s.env}: {exc}", ExitCode.CONFIG) from None
    return out


@dataclass(frozen=True)
class BuiltConfig:
    """A configuration and where each of its values came from.

    Attributes:
        config: the effective configuration.
        sources: key -> ``"default"``, ``"file"``, ``"env"`` or ``"flag"``.
        file: the config file consulted (it may not exist).
        file_found: whether it existed and was read.
    """

    config: Config
    sources: Mapping[str, str]
    file: Path | None
    file_found: bool

    def rows(self) -> list[tuple[str, object, str]]:
        """``(key, value, source)`` for every setting, in tree order."""
        return [(s.key, get(self.config, s.key), self.sources[s.key]) for s in settings()]


class _GroupError(ValueError):
    """A group's own check failed; ``prefix`` names the group (``"vad."``)."""

    def __init__(self, prefix: str, message: str) -> None:
        super().__init__(message)
        self.prefix = prefix


def _assemble(values: Mapping[str, object], base=None, prefix: str = ""):
    """Rebuild the dataclass tree from ``values`` (key -> value), defaults elsewhere.

    Raises:
        _GroupError: a group's ``__post_init__`` refused its values.
    """
    base = Config() if base is None else base
    changes = {}
    for f in fields(base):
        key = prefix + f.name
        current = getattr(base, f.name)
        if is_dataclass(current):
            changes[f.name] = _assemble(values, current, key + ".")
        elif key in values:
            changes[f.name] = values[key]
    try:
        return replace(base, **changes)
    except _GroupError:
        raise
    except ValueError as exc:
        raise _GroupError(prefix, str(exc)) from None


def build_config(flags: Mapping[str, object] | None = None,
                 env: Mapping[str, str] | None = None,
                 path: str | os.PathLike | None = None) -> BuiltConfig:
    """Build the configuration: defaults < file < environment < flags.

    Args:
        flags: key -> value for what the command line gave (already typed).
        env: the environment (default ``os.environ``).
        path: the config file; None uses ``LIVESCRIBE_CONFIG`` if set, else
            :func:`default_config_path`. An explicit file must exist; the default one may not.

    Returns:
        The :class:`BuiltConfig`.

    Raises:
        LivescribeError: a bad file (66, 78), a bad environment value (78), or values that do
            not fit together (2 when a flag took part in the group that failed, else 78).
        KeyError: a key of ``flags`` is not a setting (the caller's mistake: the command
            line only passes keys of :func:`settings`).
    """
    flags = dict(flags or {})
    unknown = sorted(set(flags) - {s.key for s in settings()})
    if unknown:
        raise KeyError(f"not a setting: {', '.join(unknown)}")
    env = os.environ if env is None else env
    explicit = path is not None or bool(env.get(CONFIG_ENV))
    file = Path(path if path is not None else env.get(CONFIG_ENV) or default_config_path())
    file = file.expanduser()
    found = file.is_file()
    layers = {"default": {}, "file": read_file(file) if (found or explicit) else {},
              "env": read_env(env), "flag": flags}
    values: dict[str, object] = {}
    sources = {s.key: "default" for s in settings()}
    for name in SOURCES:
        for key, value in layers[name].items():
            values[key] = value
            sources[key] = name
    # the neg threshold follows a speech threshold set below it, unless set itself (as
    # upstream: Silero's hysteresis stays at or below its onset threshold)
    if "vad.speech_threshold" in values and "vad.neg_threshold" not in values:
        default_neg = Config().vad.neg_threshold
        values["vad.neg_threshold"] = min(default_neg, values["vad.speech_threshold"])
    try:
        config = _assemble(values)
    except _GroupError as exc:
        usage = any(src == "flag" and key.startswith(exc.prefix) for key, src in sources.items())
        raise LivescribeError(str(exc), ExitCode.USAGE if usage else ExitCode.CONFIG) from None
    return BuiltConfig(config, sources, file, found)
