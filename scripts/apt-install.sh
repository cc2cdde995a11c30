#!/usr/bin/env bash
# Install the Debian packages named as arguments that are missing (as root, or through sudo).
# Exit 0 when all are present afterwards, 1 when they could not be installed.
set -uo pipefail
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo -n"
if command -v apt-get >/dev/null; then
    $sudo apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
        && exit 0
fi
if [ -n "$sudo" ]; then
    echo "apt-install: could not install ${missing[*]} (needs root or a password-less sudo);" \
        "run: sudo apt-get install ${missing[*]}" >&2
else
    echo "apt-install: could not install ${missing[*]}; run: apt-get install ${missing[*]}" >&2
fi
exit 1
