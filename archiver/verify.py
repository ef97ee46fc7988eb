"""Check an exported bundle (a directory or a .zip) against its manifest.json.

The manifest lists every file of the bundle with its sha256 and size. A file that is
missing, changed, or present but not listed is a problem, named one per line. The
manifest itself is not signed: compare its sha256 (printed on success) with the one the
sender gave you to know that the manifest is theirs.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from .errors import ArchiverError

MANIFEST = "manifest.json"
BUNDLE_FORMAT = "transcript-archiver-bundle"
BUNDLE_VERSION = 1


@dataclass
class VerifyReport:
    manifest_sha256: str
    files: int = 0
    bytes: int = 0
    articles: int = 0
    videos: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sha256_stream(f: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def safe_relative(path: str) -> bool:
    """A manifest path must stay inside the bundle: relative, POSIX, no '..', no backslash."""
    if not path or "\\" in path or "\x00" in path:
        return False
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and pure.as_posix() == path


def hash_tree(root: Path) -> list[dict[str, Any]]:
    """Every file under root except the manifest: [{"path", "sha256", "bytes"}], sorted by path."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == MANIFEST:
            continue
        with open(path, "rb") as f:
            sha256, size = sha256_stream(f)
        out.append({"path": relative, "sha256": sha256, "bytes": size})
    return out


# ---------------------------------------------------------------- reading a bundle


class _Bundle:
    """The files of a bundle, whether it is a directory or a zip (with or without a top folder)."""

    def __init__(self, names: list[str], opener: Callable[[str], BinaryIO], problems: list[str] | None = None):
        self.names = names
        self.open = opener
        self.problems = problems or []  # what is wrong with the container itself


def _directory(root: Path) -> _Bundle:
    names = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]
    return _Bundle(names, lambda name: open(root / name, "rb"))


def _zip(archive: zipfile.ZipFile) -> _Bundle:
    """DIR.zip holds DIR/manifest.json and the rest under DIR/; a zip of the files alone works too."""
    members = [i.filename for i in archive.infolist() if not i.is_dir()]
    manifests = [m for m in members if m == MANIFEST or (m.count("/") == 1 and m.endswith("/" + MANIFEST))]
    prefix = "" if MANIFEST in manifests or len(manifests) != 1 else manifests[0][: -len(MANIFEST)]
    problems = [f"duplicate: {m} (twice in the zip)" for m in sorted({m for m in members if members.count(m) > 1})]
    problems += [f"unexpected: {m} (outside the bundle folder {prefix})" for m in members if not m.startswith(prefix)]
    names = [m[len(prefix):] for m in dict.fromkeys(members) if m.startswith(prefix)]
    return _Bundle(names, lambda name: archive.open(prefix + name), problems)


@contextmanager
def _open(path: Path) -> Iterator[_Bundle]:
    if path.is_dir():
        yield _directory(path)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            yield _zip(archive)
    else:
        raise ArchiverError(f"{path}: not a bundle directory or a .zip; give what `archiver export` wrote")


# ---------------------------------------------------------------- verify


def verify(path: str | Path) -> VerifyReport:
    path = Path(path)
    if not path.exists():
        raise ArchiverError(f"{path}: no such file or directory")
    with _open(path) as bundle:
        return _verify(bundle, path)


def _verify(bundle: _Bundle, path: Path) -> VerifyReport:
    if MANIFEST not in bundle.names:
        raise ArchiverError(f"{path}: no {MANIFEST}; this is not a bundle written by `archiver export`")
    with bundle.open(MANIFEST) as f:
        raw = f.read()
    try:
        manifest = json.loads(raw)
        entries = manifest["files"]
        if manifest.get("format") != BUNDLE_FORMAT or not isinstance(entries, list):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ArchiverError(f"{path}: {MANIFEST} is not a valid bundle manifest") from None
    report = VerifyReport(hashlib.sha256(raw).hexdigest(), articles=len(manifest.get("articles", [])),
                          videos=len(manifest.get("videos", [])), problems=list(bundle.problems))
    present = set(bundle.names)
    listed: set[str] = set()
    for entry in entries:
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not safe_relative(name):
            report.problems.append(f"invalid: {name!r} in {MANIFEST} (paths must stay inside the bundle)")
            continue
        listed.add(name)
        if name not in present:
            report.problems.append(f"missing: {name}")
            continue
        with bundle.open(name) as f:
            sha256, size = sha256_stream(f)
        if sha256 != entry.get("sha256"):
            report.problems.append(f"changed: {name} (sha256 {sha256[:12]}..., manifest says {str(entry.get('sha256'))[:12]}...)")
        report.files += 1
        report.bytes += size
    for name in sorted(present - listed - {MANIFEST}):
        report.problems.append(f"unexpected: {name} (not in {MANIFEST})")
    return report
