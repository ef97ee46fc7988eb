"""The archive's Ed25519 key: who made a bundle.

One key pair per archive, created on first use as `<archive>/keys/signing-key.pem` (PKCS#8
PEM, mode 0600 in a 0700 directory), or the PEM file that config `[evidence] key` names.
A bundle's manifest.json is signed as it is, bytes for bytes: `manifest.json.sig` holds the
raw 64-byte Ed25519 signature and `signing-key.pem` the public key (SubjectPublicKeyInfo
PEM), so `openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in manifest.json
-sigfile manifest.json.sig` checks it without our tool.

The fingerprint of a key is `sha256:` and the hex SHA-256 of its SubjectPublicKeyInfo in
DER, which `openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum` prints too.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ArchiverError
from .store.files import atomic_open

KEY_FILE = "signing-key.pem"


def key_path(archive_root: Path, config: dict) -> Path:
    configured = (config.get("evidence") or {}).get("key") or ""
    return Path(configured).expanduser() if configured else Path(archive_root) / "keys" / KEY_FILE


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ArchiverError(f"{path}: not a readable unencrypted PEM private key ({e}); "
                            "fix [evidence] key in the config or remove the file") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ArchiverError(f"{path}: not an Ed25519 key; make one with `openssl genpkey -algorithm ed25519`")
    return key


def private_key(archive_root: Path, config: dict) -> Ed25519PrivateKey:
    """The archive's key; created (0600) when the archive has none and config names no file."""
    path = key_path(archive_root, config)
    if path.exists() or (config.get("evidence") or {}).get("key"):
        return load_private_key(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        with atomic_open(path, exclusive=True) as f:  # created 0600
            f.write(pem)
    except FileExistsError:
        pass  # another process made the key first: use theirs
    return load_private_key(path)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def load_public_key(data: bytes, label: str) -> Ed25519PublicKey:
    """A public key from PEM (SPKI), or the public half of a private key PEM."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as e:
            raise ArchiverError(f"{label}: not a PEM public key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise ArchiverError(f"{label}: not an Ed25519 key")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def signature_ok(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return False


def normalize_fingerprint(text: str) -> str:
    """'sha256:AB:CD...', 'SHA256:abcd...' or bare hex -> 'sha256:abcd...'."""
    hexed = text.strip().lower().removeprefix("sha256:").replace(":", "").replace(" ", "")
    if len(hexed) != 64 or any(c not in "0123456789abcdef" for c in hexed):
        raise ArchiverError(f"{text!r}: not a key fingerprint; give the sha256:… that `archiver keys show` prints")
    return "sha256:" + hexed
