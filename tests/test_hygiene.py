"""Layering and size: the engine is headless and layered, every module is small.

- import-linter's contracts (``[tool.importlinter]`` in pyproject.toml): ``streamer`` never
  imports ``tui`` or Textual; its packages import downwards only (pipeline > tuning > config >
  output | decoding > segmentation > capture > events > errors), so there is no package-level
  cycle; the plain command line never imports Textual.
- every engine module, imported alone in a fresh interpreter where ``textual``, ``tui`` and
  ``sounddevice`` cannot be imported, imports (lazy imports included: it is executed), and
  leaves none of them in ``sys.modules``.
- no module of the engine or its front ends is over :data:`MAX_LINES` lines.

(stdout holding only captions is tests/test_cli.py::test_stdout_holds_only_captions_and_stderr_the_rest.)
"""

import pkgutil
import subprocess
import sys

import pytest

from conftest import ROOT

#: the issue's bound on a module's length ("no module over ~400 lines"): 400, give or take a
#: docstring paragraph
MAX_LINES = 410


def test_import_contracts_hold():
    """The contracts of pyproject.toml, checked by import-linter (what `lint-imports` runs), in
    a child process: import-linter configures logging, which this process's tests use."""
    pytest.importorskip("importlinter")
    code = ("import sys\nfrom importlinter.cli import lint_imports\n"
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def engine_modules() -> list[str]:
    """Every module of the ``streamer`` package, by name."""
    import streamer

    return sorted(["streamer"] + [m.name for m in pkgutil.walk_packages(streamer.__path__,
                                                                         "streamer.")])


def test_every_engine_module_imports_without_a_front_end():
    code = (
        "import importlib, sys\n"
        "for name in ('textual', 'tui', 'sounddevice'):\n"
        "    sys.modules[name] = None  # any import of it now fails\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        "assert not any(m.startswith(('textual.', 'tui.')) for m in sys.modules), 'front end'\n"
        "print('ok', len(sys.argv) - 1)\n"
    )
    modules = engine_modules()
    assert "streamer.pipeline" in modules and "streamer.config.build" in modules
    r = subprocess.run([sys.executable, "-c", code, *modules], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"ok {len(modules)}"


def test_the_engine_has_no_entry_point_into_a_front_end():
    """``python -m streamer`` would have to import the command line: it is ``python -m tui``."""
    assert not (ROOT / "streamer" / "__main__.py").exists()
    assert (ROOT / "tui" / "__main__.py").exists()
    assert 'livescribe = "tui.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_no_module_is_over_the_size_bound():
    long = {}
    for folder in ("streamer", "tui"):  # the packages (scripts/ are harnesses, not modules)
        for path in (ROOT / folder).rglob("*.py"):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long[str(path.relative_to(ROOT))] = n
    assert not long, long
