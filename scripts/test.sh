#!/usr/bin/env bash
# Run the test suite. Installs livescribe first if .venv is missing. Extra arguments go to pytest.
#
# The live-microphone tests need system packages (PortAudio and PulseAudio for a private virtual
# microphone). test.sh installs them only under CI (CI=true) or when asked with --install-audio
# (not passed to pytest): running the tests never changes your audio stack otherwise, and the
# live tests skip, saying why. Under CI a live test that cannot run fails instead of skipping
# (LIVESCRIBE_REQUIRE_LIVE=1), so CI cannot pass without them.
set -euo pipefail
cd "$(dirname "$0")/.."
install_audio=0
case "${CI:-}" in
    true | TRUE | True | 1) install_audio=1; export LIVESCRIBE_REQUIRE_LIVE=1 ;;
esac
args=()
for arg in "$@"; do
    if [ "$arg" = "--install-audio" ]; then install_audio=1; else args+=("$arg"); fi
done
.venv/bin/python -m pytest --version >/dev/null 2>&1 || scripts/install.sh
if [ "$install_audio" = 1 ]; then
    scripts/apt-install.sh libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins \
        || echo "test: the live microphone tests cannot run" >&2
fi
exec .venv/bin/python -m pytest -q ${args[@]+"${args[@]}"}
