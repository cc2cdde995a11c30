"""Which terminals take a clipboard write by OSC 52 (``App.copy_to_clipboard``).

A terminal cannot be asked whether it honours OSC 52, and many ignore it silently (GNOME's VTE
terminals, macOS Terminal, xterm and iTerm2 in their default settings, tmux with its default
``set-clipboard external``, GNU screen). So ``y`` always sends it, and when the terminal is not
one known to accept it by default, also says where the transcript is: the session journal, or
without one a file it saves then.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: (environment variable, value or None for "set at all", terminal name): known to accept
#: OSC 52 clipboard writes with their default settings.
OSC52_TERMINALS: tuple[tuple[str, str | None, str], ...] = (
    ("TERM", "xterm-kitty", "kitty"),
    ("KITTY_WINDOW_ID", None, "kitty"),
    ("TERM_PROGRAM", "WezTerm", "WezTerm"),
    ("TERM", "alacritty", "Alacritty"),
    ("ALACRITTY_WINDOW_ID", None, "Alacritty"),
    ("TERM", "foot", "foot"),
    ("TERM", "foot-extra", "foot"),
    ("TERM", "xterm-ghostty", "Ghostty"),
    ("TERM_PROGRAM", "ghostty", "Ghostty"),
    ("WT_SESSION", None, "Windows Terminal"),
)


def osc52_terminal(environ: Mapping[str, str] | None = None) -> str | None:
    """The name of the terminal when it is known to accept OSC 52 clipboard writes, else None.

    Inside tmux or GNU screen (``TMUX``, ``STY``) the answer is None: the multiplexer decides,
    and by default neither passes an application's OSC 52 on.

    Args:
        environ: the environment to read (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    if env.get("TMUX") or env.get("STY"):
        return None
    for name, value, terminal in OSC52_TERMINALS:
        got = env.get(name)
        if got and (value is None or got == value):
            return terminal
    return None
