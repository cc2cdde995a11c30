"""The session's configuration: one frozen tree (:mod:`~streamer.config.schema`) built once from
defaults, the config file, ``LIVESCRIBE_*`` variables and flags (:mod:`~streamer.config.build`).

Every front end (the ``livescribe`` command, the terminal UI, the benchmark scripts) builds its
:class:`Config` with :func:`build_config` and hands it to :class:`streamer.pipeline.Pipeline`.
"""

from streamer.config.build import BuiltConfig, build_config, default_config_path, parse_value
from streamer.config.schema import (Config, InputOptions, ModelRequest, OutputOptions,
                                    PipelineOptions, ServerOptions, Setting, UiOptions,
                                    format_value, get, settings)

__all__ = ["BuiltConfig", "Config", "InputOptions", "ModelRequest", "OutputOptions",
           "PipelineOptions", "ServerOptions", "Setting", "UiOptions", "build_config",
           "default_config_path", "format_value", "get", "parse_value", "settings"]
