"""livescribe's engine: configuration, capture, segmentation, decoding, tuning, outputs, and the
pipeline that wires them (docs/architecture.md for the tour).

Headless: the engine never imports a front end (``tui``) or Textual, which import-linter checks
(``tests/test_hygiene.py``). Front ends build a :class:`streamer.config.Config`, run
:class:`streamer.pipeline.Pipeline` and consume its :data:`streamer.events.Event` s.
"""

__version__ = "0.1.0"
