"""The front ends of livescribe: the ``livescribe`` command line (:mod:`tui.cli`, plain captions
and the subcommands) and the Textual app (:mod:`tui.run`, :mod:`tui.app`).

They build the configuration (:func:`streamer.config.build_config`), run
:class:`streamer.pipeline.Pipeline` and render its events; they own no audio or model logic and
read no engine attribute. Textual is imported only when the UI is shown.
"""
