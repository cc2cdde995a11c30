"""The subcommands: ``livescribe info``, ``livescribe config`` and ``livescribe devices``.

Each prints data on stdout (human-readable, or one JSON document with ``--json``) and returns
an exit code; errors are :class:`~streamer.errors.LivescribeError` s for :func:`tui.cli.guard`.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict

from streamer.config import BuiltConfig, Config, format_value, settings
from streamer.errors import DeviceError, ExitCode
from streamer.tuning.calibration import CalibrationOptions
from streamer.tuning.plan import Plan, plan_for
from streamer.tuning.probe import Probe


def _gib(n_bytes: int | None) -> str:
    return "?" if n_bytes is None else f"{n_bytes / 2**30:.1f} GiB"


def format_info(p: Probe, plan: Plan) -> str:
    """``livescribe info`` as human-readable text: the machine, then the plan with reasons."""
    lines = ["machine"]

    def row(label: str, value: str, why: str = "") -> None:
        lines.append(f"  {label:<14}{value}" + (f"\n  {'':<14}  {why}" if why else ""))

    row("os", f"{p.os} {p.os_release} ({p.arch})")
    cores = f"{p.physical_cores or '?'} physical / {p.logical_cores or '?'} logical cores"
    if p.performance_cores:
        cores += f", {p.performance_cores} performance"
    row("cpu", f"{p.cpu_brand}: {cores}")
    row("simd", " ".join(p.simd) or "unknown")
    row("memory", f"{_gib(p.ram_total_bytes)} total, {_gib(p.ram_available_bytes)} available")
    for g in p.gpus:
        row(f"gpu {g.index}", f"{g.name or '?'}, {g.memory_mib or '?'} MiB, compute "
                              f"capability {g.compute_capability or '?'} ({g.source})")
    row("cuda", f"{p.cuda_device_count} device(s) usable by CTranslate2")
    if p.apple_silicon:
        mps = {True: "available", False: "not available", None: "unknown"}[p.mps_available]
        row("apple silicon", f"{p.apple_silicon}, MPS {mps}")
    row("compute types", f"cpu: {' '.join(p.cpu_compute_types) or 'unknown'}"
        + "".join(f"; cuda:{g.index}: {' '.join(g.compute_types) or 'unknown'}" for g in p.gpus))
    for n in p.notes:
        row("note", n)
    lines.append("plan")
    keys = {"device": "device", "compute type": "compute_type", "threads": "cpu_threads",
            "model": "model", "beam size": "beam_size", "best of": "best_of"}
    for label, value in plan.rows().items():
        row(label, value, plan.reason(keys.get(label, "")))
    row("memory from", plan.memory_source)
    row("fallback", " -> ".join(a.describe() for a in plan.fallback))
    c = CalibrationOptions()
    if plan.calibration is None:
        row("calibration", f"at start-up: a {c.window_s:g} s warm-up must decode within "
                           f"{c.budget_s:.2f} s ({c.cadence_s:g} s cadence / margin "
                           f"{c.margin:g}), else beam, then model, step down")
    for w in plan.warnings:
        row("warning", w)
    return "\n".join(lines) + "\n"


def info(config: Config, json_out: bool = False,
         probe_fn: Callable[[], Probe] | None = None) -> int:
    """``livescribe info [--json]``: the hardware probe and the plan for ``config``, made as a
    session makes it (:func:`~streamer.tuning.plan.plan_for`: model, language and task).

    Args:
        config: the effective configuration.
        json_out: one JSON document ``{"probe", "plan"}`` instead of text.
        probe_fn: the hardware probe (tests inject one); None probes this machine.

    Raises:
        LivescribeError: ``model.strict`` and an impossible override (exit 78).
    """
    pr, plan = plan_for(config.model, config.decoding.language,
                        probe_fn() if probe_fn is not None else None, task=config.decoding.task)
    if json_out:
        json.dump({"probe": pr.to_dict(), "plan": plan.to_dict()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_info(pr, plan))
    return ExitCode.OK


def _json_value(value):
    return "max" if isinstance(value, float) and math.isinf(value) else value


def show_config(built: BuiltConfig, json_out: bool = False) -> int:
    """``livescribe config [--json]``: every setting's effective value and where it came from
    (``default``, ``file``, ``env`` or ``flag``), after a line naming the config file."""
    env = {s.key: s.env for s in settings()}
    if json_out:
        doc = {"file": str(built.file) if built.file else None, "file_found": built.file_found,
               "settings": {key: {"value": _json_value(value), "source": source,
                                  "env": env[key]}
                            for key, value, source in built.rows()}}
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return ExitCode.OK
    state = "read" if built.file_found else "not found"
    print(f"# config file: {built.file} ({state}); precedence: default < file < env "
          f"(LIVESCRIBE_<KEY>) < flag")
    rows = [(key, format_value(value), source) for key, value, source in built.rows()]
    width = max(len(k) for k, _, _ in rows)
    vwidth = min(40, max(len(v) for _, v, _ in rows))
    for key, value, source in rows:
        print(f"{key:<{width}}  {value:<{vwidth}}  {source}")
    return ExitCode.OK


def format_devices(devices) -> list[str]:
    """One line per device: default marker, index, name, host API, channels, default rate."""
    width = max((len(d.name) for d in devices), default=4)
    return [f"{'*' if d.is_default else ' '} {d.index:>3}  {d.name:<{width}}  {d.hostapi:<6}  "
            f"{d.channels:>3} ch  {d.default_rate_hz:>8.0f} Hz" for d in devices]


def devices(json_out: bool = False) -> int:
    """``livescribe devices [--json]``: input devices on stdout, the default marked ``*``
    (JSON: a list of objects with ``index``, ``name``, ``hostapi``, ``channels``,
    ``default_rate_hz``, ``is_default``).

    Raises:
        DeviceError: no PortAudio, or no input device (exit 69).
    """
    from streamer.capture.mic import import_sounddevice, list_input_devices

    found = list_input_devices(import_sounddevice())
    if not found:
        raise DeviceError("no audio input device found (no microphone, or no sound server "
                          "reachable)")
    if json_out:
        json.dump([asdict(d) for d in found], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in format_devices(found):
            print(line)
    return ExitCode.OK
