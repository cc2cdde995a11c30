"""livescribe's engine: capture, ring buffer, VAD segmenter, warm Whisper worker, sinks.

The engine never imports Textual; front ends (the CLI writers, ``tui``) consume its events.
"""

__version__ = "0.1.0"
