"""Check an exported bundle (a directory or a .zip): its files, its signature, its timestamp.

The manifest lists every file of the bundle with its sha256 and size. A file that is
missing, changed, or present but not listed is a problem, named one per line. The manifest
is signed (Ed25519, archiver/signing.py): a bad or missing signature is a problem, and the
signing key's fingerprint is reported; when the reviewer says which key to expect (a key
file, a fingerprint, or the archive that made the bundle), a bundle signed by any other key
is a problem too. A timestamp (manifest.json.tsr, RFC 3161) is checked when present.
SHA256SUMS must agree with the files, but it is never what verify trusts.
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
SIGNATURE = "manifest.json.sig"
TSR = "manifest.json.tsr"
SUMS = "SHA256SUMS"
VERIFY_TXT = "VERIFY.txt"
OUTSIDE_MANIFEST = {MANIFEST, SIGNATURE, TSR, SUMS}  # written after the manifest, about it
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
    fingerprint: str | None = None  # of the key that signed the manifest (when the signature is good)
    expected: str | None = None  # the fingerprint the reviewer expected, when they gave one
    timestamp: Any = None  # timestamp.TokenCheck, or None when the bundle has none

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


def hash_tree(root: Path, skip: set[str] = frozenset()) -> list[dict[str, Any]]:
    """Every file under root except those in skip: [{"path", "sha256", "bytes"}], sorted by path."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative in skip:
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
def open_bundle(path: Path) -> Iterator[_Bundle]:
    if path.is_dir():
        yield _directory(path)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            yield _zip(archive)
    else:
        raise ArchiverError(f"{path}: not a bundle directory or a .zip; give what `archiver export` wrote")


# ---------------------------------------------------------------- verify


def verify(path: str | Path, expected_key=None, tsa_ca: Path | None = None) -> VerifyReport:
    """expected_key: the Ed25519 public key (or its "sha256:..." fingerprint) the bundle must be signed with."""
    path = Path(path)
    if not path.exists():
        raise ArchiverError(f"{path}: no such file or directory")
    with open_bundle(path) as bundle:
        report, raw, hashes = _verify_files(bundle, path)
        _verify_signature(bundle, raw, report, expected_key)
        _verify_sums(bundle, hashes, report)
        _verify_timestamp(bundle, raw, report, tsa_ca)
        return report


def _read(bundle: _Bundle, name: str) -> bytes | None:
    if name not in bundle.names:
        return None
    with bundle.open(name) as f:
        return f.read()


def _verify_signature(bundle: _Bundle, manifest: bytes, report: VerifyReport, expected_key) -> None:
    from . import signing

    if isinstance(expected_key, str):
        report.expected = expected_key
    elif expected_key is not None:
        report.expected = signing.fingerprint(expected_key)
    signature, pem = _read(bundle, SIGNATURE), _read(bundle, signing.KEY_FILE)
    if signature is None:
        report.problems.append(f"unsigned: no {SIGNATURE} (who made this manifest cannot be checked)")
        return
    if pem is None:
        report.problems.append(f"unsigned: no {signing.KEY_FILE} to check {SIGNATURE} with")
        return
    try:
        key = signing.load_public_key(pem, signing.KEY_FILE)
    except ArchiverError as e:
        report.problems.append(f"signature: {e}")
        return
    fingerprint = signing.fingerprint(key)
    if len(signature) != 64 or not signing.signature_ok(key, signature, manifest):
        report.problems.append(f"signature: {SIGNATURE} is not a valid signature of {MANIFEST} by the key in "
                               f"{signing.KEY_FILE} ({fingerprint}); the manifest or the signature was changed")
        return
    report.fingerprint = fingerprint
    if report.expected and fingerprint != report.expected:
        report.problems.append(f"signed by another key: {fingerprint}, not the expected {report.expected} "
                               "(re-signed by someone else?)")


def _verify_sums(bundle: _Bundle, hashes: dict[str, str | None], report: VerifyReport) -> None:
    raw = _read(bundle, SUMS)
    if raw is None:
        report.problems.append(f"missing: {SUMS}")
        return
    for line in raw.decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        if not name:
            report.problems.append(f"changed: {SUMS} (a line is not '<sha256>  <path>': {line[:60]!r})")
            continue
        if name in hashes and hashes[name] is None:
            continue  # named already
        actual = hashes.get(name)
        if actual is None and name in bundle.names:
            with bundle.open(name) as f:
                actual = sha256_stream(f)[0]
                hashes[name] = actual
        if actual is not None and actual != digest:
            report.problems.append(f"changed: {SUMS} or {name} (the file's sha256 is {actual[:12]}..., "
                                   f"{SUMS} says {digest[:12]}...)")


def _verify_timestamp(bundle: _Bundle, manifest: bytes, report: VerifyReport, tsa_ca: Path | None) -> None:
    from .timestamp import check_token

    token = _read(bundle, TSR)
    if token is None:
        return
    report.timestamp = check_token(token, manifest, tsa_ca)
    if not report.timestamp.ok:
        report.problems.append(f"timestamp: {TSR}: {report.timestamp.problem}")


def _verify_files(bundle: _Bundle, path: Path) -> tuple[VerifyReport, bytes, dict[str, str | None]]:
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
    hashes: dict[str, str | None] = {}
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
        hashes[name] = sha256 if sha256 == entry.get("sha256") else None  # None: already named as changed
        if sha256 != entry.get("sha256"):
            report.problems.append(f"changed: {name} (sha256 {sha256[:12]}..., manifest says {str(entry.get('sha256'))[:12]}...)")
        report.files += 1
        report.bytes += size
    for name in sorted(present - listed - OUTSIDE_MANIFEST):
        report.problems.append(f"unexpected: {name} (not in {MANIFEST})")
    return report, raw, hashes
