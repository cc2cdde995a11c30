"""Model resolution: offline model packs from PyPI, local directories, and hub names.

Offline choices (no network beyond the package registry) are the packs of
:mod:`streamer.decoding.packs` (``tiny.en``; ``base``, assembled once into the user cache
directory); :func:`resolve_model` finds a pack's files and has every one verified, failing
with one line naming the file and the package to reinstall.

A path to a CTranslate2 model directory is used as is. Any other Whisper name goes to
faster-whisper's download, which fails offline with one line listing the offline choices.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path

from streamer.decoding.packs import (OFFLINE_MODELS, DirPack, FileSum, SplitPack, assemble,
                                     cache_dir, verify_dir_pack, verify_split_pack)
from streamer.errors import ModelError

logger = logging.getLogger(__name__)

__all__ = ["OFFLINE_MODELS", "DirPack", "FileSum", "ModelSpec", "ResolvedModel", "SplitPack",
           "assemble", "cache_dir", "download", "offline_hint", "resolve_model"]


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


def _package_dir(package: str, pip_names: tuple[str, ...]) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model pack not installed: pip install {' '.join(pip_names)}")
    return Path(next(iter(spec.submodule_search_locations)))


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
