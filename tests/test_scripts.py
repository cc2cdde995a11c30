"""scripts/install.sh, scripts/test.sh and .ci/run on a scripted system.

Each test copies the scripts into a temporary project and puts stub commands first on PATH
(``python3``, ``sudo``, ``id``, ``dpkg``, ``apt-get``...), so what the scripts would do to a
machine is recorded, never done: no package is installed and no venv is built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

REAL_PYTHON = sys.executable


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


@pytest.fixture
def project(tmp_path):
    """A copy of the scripts in ``tmp_path/proj`` and a stub directory ``tmp_path/bin``.

    The stubs: a non-root user whose ``sudo`` asks for a password (so fails with ``-n``),
    ``dpkg`` that knows no package, ``apt-get`` that records its call and fails. Everything the
    stubs are asked to do is appended to ``tmp_path/calls``.
    """
    proj = tmp_path / "proj"
    (proj / "scripts").mkdir(parents=True)
    (proj / ".ci").mkdir()
    for name in ("install.sh", "apt-install.sh", "test.sh"):
        shutil.copy2(ROOT / "scripts" / name, proj / "scripts" / name)
    shutil.copy2(ROOT / ".ci" / "run", proj / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    calls.touch()
    log = f'echo "$(basename "$0") $*" >> {calls}\n'
    _stub(bin_dir, "id", 'if [ "$1" = -u ]; then echo 1000; else echo "uid=1000(user)"; fi\n')
    _stub(bin_dir, "sudo", log + 'echo "sudo: a password is required" >&2; exit 1\n')
    _stub(bin_dir, "dpkg", "exit 1\n")
    _stub(bin_dir, "apt-get", log + "exit 100\n")
    for absent in ("dnf", "pacman", "zypper", "brew"):
        _stub(bin_dir, absent, "exit 127\n")
        (bin_dir / absent).unlink()  # absent: `command -v` must not find a real one
    return proj, bin_dir, calls


def _venv_python(body: str) -> str:
    """A stub ``.venv/bin/python``: pip works and records, the model check passes, and
    ``import sounddevice`` runs ``body`` (its exit status is PortAudio's presence)."""
    return ('case "$*" in\n'
            '  "-m pip --version"|"-m pytest --version") exit 0 ;;\n'
            '  "-m pip install"*) echo "venv-python $*" >> "$CALLS"; exit 0 ;;\n'
            '  "-m pytest"*) echo "pytest $* CI=${CI:-} REQUIRE=${LIVESCRIBE_REQUIRE_LIVE:-}"'
            ' >> "$CALLS"; exit 0 ;;\n'
            '  "-c import sounddevice") ' + body + ' ;;\n'
            '  -c*) exit 0 ;;\n'
            'esac\n'
            'exit 3\n')


def _python3(venv_ok: bool, sounddevice: str = "exit 1") -> str:
    """A stub ``python3``: ``-m venv DIR`` makes DIR as Debian's python3 does with
    (``venv_ok``) or without python3-venv (bin/python without pip, exit 1); anything else runs
    the real Python."""
    if venv_ok:
        make = (f'mkdir -p "$3/bin"; cat > "$3/bin/python" <<\'PY\'\n#!/usr/bin/env bash\n'
                f'{_venv_python(sounddevice)}PY\nchmod +x "$3/bin/python"; exit 0')
    else:
        make = ('mkdir -p "$3/bin"; printf "#!/bin/sh\\nexit 1\\n" > "$3/bin/python"; '
                'chmod +x "$3/bin/python"; '
                'echo "The virtual environment was not created successfully because ensurepip '
                'is not available." >&2; exit 1')
    return (f'if [ "$1" = -m ] && [ "$2" = venv ]; then\n  {make}\nfi\n'
            f'exec {REAL_PYTHON} "$@"\n')


def _run(proj: Path, bin_dir: Path, calls: Path, script: str, *args: str,
         env: dict | None = None) -> subprocess.CompletedProcess:
    e = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(proj), "CALLS": str(calls)}
    e.update(env or {})
    return subprocess.run(["bash", str(proj / script), *args], cwd=proj, env=e,
                          capture_output=True, text=True, timeout=60)


def _venv_package() -> str:
    return f"python3.{sys.version_info[1]}-venv"


# -- install.sh ---------------------------------------------------------------------------------

def test_install_without_python3_venv_explains_and_leaves_no_half_venv(project):
    proj, bin_dir, calls = project
    _stub(bin_dir, "python3", _python3(venv_ok=False))
    r = _run(proj, bin_dir, calls, "scripts/install.sh")
    assert r.returncode == 1, r.stderr
    assert "Python's venv support is missing (no ensurepip)" in r.stderr
    assert (f"run: sudo apt-get install {_venv_package()}   then scripts/install.sh again"
            in r.stderr)
    assert not (proj / ".venv").exists()  # nothing half-made for the next run to trust
    assert "sudo -n apt-get update" in calls.read_text()  # it tried, through sudo -n
    assert "apt-get update" not in calls.read_text().replace("sudo -n apt-get", "")


def test_install_repairs_a_half_made_venv_and_names_the_portaudio_command(project):
    proj, bin_dir, calls = project
    (proj / ".venv" / "bin").mkdir(parents=True)  # what an earlier run without python3-venv left
    (proj / ".venv" / "bin" / "python").write_text("#!/bin/sh\nexit 1\n")
    (proj / ".venv" / "bin" / "python").chmod(0o755)
    _stub(bin_dir, "python3", _python3(venv_ok=True, sounddevice="exit 1"))
    r = _run(proj, bin_dir, calls, "scripts/install.sh")
    assert r.returncode == 0, r.stderr  # replaying files works
    assert "removing .venv: its pip does not run" in r.stderr
    assert "venv-python -m pip install -q -e .[dev]" in calls.read_text()
    assert "the microphone will not work" in r.stderr
    assert r.stderr.rstrip().endswith("for the microphone run: sudo apt-get install libportaudio2")
    r = _run(proj, bin_dir, calls, "scripts/install.sh")  # a re-run keeps the repaired venv
    assert r.returncode == 0 and "removing .venv" not in r.stderr


def test_install_with_portaudio_says_nothing_about_it(project):
    proj, bin_dir, calls = project
    _stub(bin_dir, "python3", _python3(venv_ok=True, sounddevice="exit 0"))
    r = _run(proj, bin_dir, calls, "scripts/install.sh")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "apt-get" not in calls.read_text()


def test_install_verifies_the_model_packs(project):
    """The model check runs in the venv and its one-line error stops the install."""
    proj, bin_dir, calls = project
    _stub(bin_dir, "python3", _python3(venv_ok=True, sounddevice="exit 0"))
    _run(proj, bin_dir, calls, "scripts/install.sh")
    venv_python = proj / ".venv" / "bin" / "python"
    failing = '  -c*) echo "install: model file x failed verification" >&2; exit 1 ;;'
    text = venv_python.read_text().replace("  -c*) exit 0 ;;", failing)
    venv_python.write_text(text)
    r = _run(proj, bin_dir, calls, "scripts/install.sh")
    assert r.returncode == 1 and "failed verification" in r.stderr


# -- test.sh and .ci/run ------------------------------------------------------------------------

def _with_venv(proj: Path, sounddevice: str = "exit 0") -> None:
    (proj / ".venv" / "bin").mkdir(parents=True)
    python = proj / ".venv" / "bin" / "python"
    python.write_text("#!/usr/bin/env bash\n" + _venv_python(sounddevice))
    python.chmod(0o755)


def test_tests_leave_the_audio_stack_alone_unless_asked(project):
    proj, bin_dir, calls = project
    _with_venv(proj)
    r = _run(proj, bin_dir, calls, "scripts/test.sh", "-m", "not live")
    assert r.returncode == 0, r.stderr
    text = calls.read_text()
    assert "apt-get" not in text  # no sound server installed
    assert "pytest -m pytest -q -m not live CI= REQUIRE=" in text


def test_tests_install_audio_when_asked_and_do_not_pass_the_flag_on(project):
    proj, bin_dir, calls = project
    _with_venv(proj)
    r = _run(proj, bin_dir, calls, "scripts/test.sh", "--install-audio", "-x")
    text = calls.read_text()
    assert ("sudo -n apt-get update -qq" in text
            and "--install-audio" not in text.split("pytest -m pytest")[1]), text
    assert "pytest -m pytest -q -x CI= REQUIRE=" in text
    assert "run: sudo apt-get install libportaudio2 pulseaudio pulseaudio-utils" in r.stderr


def test_ci_installs_audio_and_requires_the_live_tests(project):
    proj, bin_dir, calls = project
    _with_venv(proj)
    _run(proj, bin_dir, calls, "scripts/test.sh", env={"CI": "true"})
    text = calls.read_text()
    assert "sudo -n apt-get update -qq" in text
    assert "pytest -m pytest -q CI=true REQUIRE=1" in text


def test_ci_run_sets_ci_for_the_tests(project):
    """.ci/run works on a clean clone whose CI system may not set CI: it sets it."""
    proj, bin_dir, calls = project
    for name in ("install.sh", "test.sh"):
        _stub(proj / "scripts", name, f'echo "{name} CI=${{CI:-}}" >> {calls}\n')
    r = _run(proj, bin_dir, calls, ".ci/run", env={"CI": ""})
    assert r.returncode == 0, r.stderr
    assert calls.read_text().splitlines() == ["install.sh CI=true", "test.sh CI=true"]


def test_live_tests_skip_saying_how_to_install_or_fail_under_ci(monkeypatch):
    """Without PulseAudio the live tests skip with the way to install it; where they are
    required (LIVESCRIBE_REQUIRE_LIVE=1, set by scripts/test.sh under CI) they fail."""
    import test_live

    monkeypatch.delenv("LIVESCRIBE_REQUIRE_LIVE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no pulseaudio"):
        test_live._unavailable("no pulseaudio")
    assert "scripts/test.sh --install-audio" in test_live.INSTALL_HINT
    monkeypatch.setenv("LIVESCRIBE_REQUIRE_LIVE", "1")
    with pytest.raises(pytest.fail.Exception, match="live test cannot run under CI: no pulse"):
        test_live._unavailable("no pulseaudio")
