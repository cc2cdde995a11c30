"""Subtitle cues from captions: lines of at most ``max_line_width`` characters, cues of at most
``max_line_count`` lines, split at word times (``output.max_line_width``,
``output.max_line_count``; the idea of openai/whisper's ``SubtitlesWriter``).

A caption (an utterance, or the part of one an early final holds) never shares a cue with
another. With its words
(``decoding.word_timestamps``) a caption is cut into cues wherever the next word would not fit
(a new line past the width, a new cue past the line count), each cue timed from its first
word's start to its last word's end. Without words a caption stays one cue, its text wrapped at
the width (a line count needs word times: the front end refuses it without them).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from streamer.events import Caption


@dataclass(frozen=True)
class Cue:
    """One subtitle cue.

    Attributes:
        start_s, end_s: stream time, seconds.
        text: its lines joined by ``"\\n"``.
    """

    start_s: float
    end_s: float
    text: str


def caption_cues(caption: Caption, max_line_width: int | None = None,
                 max_line_count: int | None = None) -> list[Cue]:
    """The cues of one caption.

    Args:
        caption: a final caption (its ``words`` used when present).
        max_line_width: most characters per line (a longer single word gets a line of its
            own); None: no limit.
        max_line_count: most lines per cue; None: no limit (one cue per caption).

    Returns:
        At least one cue (one for a caption without words), in time order.
    """
    if not caption.words or (max_line_width is None and max_line_count is None):
        text = caption.text
        if max_line_width is not None:
            text = "\n".join(textwrap.wrap(text, max_line_width, break_long_words=False)) or text
        return [Cue(caption.start_s, caption.end_s, text)]
    width = max_line_width if max_line_width is not None else 10**9
    cues: list[Cue] = []
    lines: list[str] = []  # the open cue's lines, the last one being filled
    first = last = caption.words[0]
    for word in caption.words:
        text = word.text.strip()
        if not text:
            continue
        if lines and len(lines[-1]) + 1 + len(text) <= width:
            lines[-1] += " " + text
        elif lines and (max_line_count is None or len(lines) < max_line_count):
            lines.append(text)
        else:
            if lines:
                cues.append(Cue(first.start_s, last.end_s, "\n".join(lines)))
            lines, first = [text], word
        last = word
    if lines:
        cues.append(Cue(first.start_s, last.end_s, "\n".join(lines)))
    return cues or [Cue(caption.start_s, caption.end_s, caption.text)]
