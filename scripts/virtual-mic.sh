#!/usr/bin/env bash
# A virtual microphone for tests and demos: a private PulseAudio daemon whose default source is
# the monitor of a null sink. Whatever `paplay` plays into the sink, PortAudio (and so
# `livescribe`) hears as microphone input, through the ALSA `pulse` plugin (libasound2-plugins):
# Debian's /etc/alsa/conf.d/99-pulse.conf makes `default` the pulse device whenever a server is
# reachable, and PULSE_SERVER (printed by `start` and `env`) tells the plugin where it is.
#
#   scripts/virtual-mic.sh start [RATE [CHANNELS]]   # default 16000 1; prints `export ...` lines
#   scripts/virtual-mic.sh stop | status | env
#   eval "$(scripts/virtual-mic.sh start)"; paplay assets/jfk.flac & livescribe
#
# Works as root (no system bus, no user session): the runtime dir lives under /tmp.
# Needs: apt-get install libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins
set -euo pipefail

DIR="${LIVESCRIBE_PULSE_DIR:-/tmp/livescribe-pulse}"
SOCKET="$DIR/native"
SINK="${LIVESCRIBE_SINK:-livescribe_mic}"

export PULSE_RUNTIME_PATH="$DIR" XDG_RUNTIME_DIR="$DIR" PULSE_STATE_PATH="$DIR/state"
export PULSE_SERVER="unix:$SOCKET" PULSE_COOKIE="$DIR/cookie"

die() { echo "virtual-mic: $*" >&2; exit 1; }

print_env() {
    echo "export PULSE_SERVER=unix:$SOCKET"
    echo "export PULSE_RUNTIME_PATH=$DIR"
}

running() { pactl info >/dev/null 2>&1; }

start() {
    local rate="${1:-16000}" channels="${2:-1}"
    command -v pulseaudio >/dev/null || die "pulseaudio not installed (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)"
    command -v pactl >/dev/null || die "pactl not installed (apt-get install pulseaudio-utils)"
    if running; then
        stop >/dev/null
    fi
    mkdir -p "$DIR/state" && chmod 700 "$DIR"
    # -n: no default.pa (no hardware detection, no X11/D-Bus modules); the modules we need only.
    pulseaudio --daemonize=yes --system=no --exit-idle-time=-1 --disallow-exit=no -n \
        --use-pid-file=yes --log-target="file:$DIR/pulse.log" --log-level=notice \
        --load="module-native-protocol-unix socket=$SOCKET auth-anonymous=1" \
        --load="module-null-sink sink_name=$SINK rate=$rate channels=$channels sink_properties=device.description=livescribe-virtual-mic" \
        2>>"$DIR/pulse.log" || die "pulseaudio failed to start (see $DIR/pulse.log)"
    for _ in $(seq 50); do running && break; sleep 0.1; done
    running || die "pulseaudio did not come up (see $DIR/pulse.log)"
    pactl set-default-sink "$SINK"
    pactl set-default-source "$SINK.monitor"
    print_env
}

stop() {
    if running; then
        pactl exit >/dev/null 2>&1 || true
    fi
    local pidfile="$DIR/pid"
    if [[ -f "$pidfile" ]]; then
        local pid; pid="$(cat "$pidfile")"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    fi
    echo "virtual-mic: stopped" >&2
}

status() {
    if running; then
        local spec; spec="$(pactl list short sinks | awk -v s="$SINK" '$2 == s {print $4, $5, $6}')"
        echo "running: server $PULSE_SERVER, sink $SINK ($spec), default source $(pactl get-default-source)"
    else
        echo "stopped"
        return 3
    fi
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    env) print_env ;;
    *) echo "usage: $0 start [RATE [CHANNELS]] | stop | status | env" >&2; exit 2 ;;
esac
