#!/usr/bin/env bash
# Run the test suite. Installs livescribe first if .venv is missing, and what the live-microphone
# tests need (PortAudio, a PulseAudio virtual microphone); without those the live tests skip,
# saying why. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/install.sh
scripts/apt-install.sh libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins \
    || echo "test: the live microphone tests will skip" >&2
exec .venv/bin/python -m pytest -q "$@"
