"""Trusted timestamps (RFC 3161) for a bundle's manifest.json.

`request_token(manifest_bytes, tsa_url)` POSTs a DER TimeStampReq (SHA-256 imprint, a nonce,
certReq true so the token carries the TSA's certificate) with Content-Type
application/timestamp-query and returns the DER TimeStampResp, which the bundle keeps as
`manifest.json.tsr`. `check_token` verifies one: the imprint against manifest.json, the
CMS signature against the certificate the token carries, and, when the reviewer gives the
TSA's CA (`--tsa-ca`), the chain to it. Parsing and verifying are rfc3161-client's (Trail of
Bits; Rust ASN.1 and PKCS#7 underneath), never our own ASN.1.

Whether a TSA is trustworthy is the reviewer's call: without --tsa-ca we say which
certificate signed and that its chain was not checked.
"""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import ArchiverError

TSR = "manifest.json.tsr"
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


@dataclass
class TokenCheck:
    ok: bool
    problem: str | None = None  # one line, when not ok
    time: str | None = None  # genTime, ISO 8601 UTC
    tsa: str | None = None  # the signing certificate's subject
    chain_checked: bool = False


def request_token(data: bytes, tsa_url: str, timeout: float = 30) -> bytes:
    """Ask the TSA at tsa_url for a token over sha256(data); the DER response, checked."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    if not tsa_url.startswith(("http://", "https://")):
        raise ArchiverError(f"{tsa_url}: a TSA address is an http(s) URL (give --tsa or config [evidence] tsa)")
    request = (TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256)
               .cert_request(cert_request=True).nonce(nonce=True).build())
    http_request = urllib.request.Request(tsa_url, data=request.as_bytes(), method="POST",
                                          headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE})
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as e:
        raise ArchiverError(f"{tsa_url}: the TSA answered HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise ArchiverError(f"{tsa_url}: cannot reach the TSA ({reason}); check the address and the network") from e
    check = check_token(body, data)
    if not check.ok:
        raise ArchiverError(f"{tsa_url}: the TSA's answer is not a valid token for the manifest ({check.problem})")
    if _decode(body).tst_info.nonce != request.nonce:
        raise ArchiverError(f"{tsa_url}: the TSA's token does not carry our nonce (a replayed answer?)")
    return body


def _decode(der: bytes):
    from rfc3161_client import decode_timestamp_response

    return decode_timestamp_response(der)


def check_token(der: bytes, data: bytes, ca_file: Path | None = None) -> TokenCheck:
    """Is `der` an RFC 3161 response granting a token over `data`, validly signed?"""
    import cryptography.x509
    from rfc3161_client import PKIStatus, VerificationError, VerifierBuilder

    try:
        response = _decode(der)
    except ValueError as e:
        return TokenCheck(False, f"not an RFC 3161 timestamp response ({e})")
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        return TokenCheck(False, f"the TSA refused the request (status {response.status}: "
                                 f"{' '.join(response.status_string) or 'no reason given'})")
    info = response.tst_info
    when = info.gen_time.isoformat().replace("+00:00", "Z")
    imprint = info.message_imprint
    digest = {"2.16.840.1.101.3.4.2.1": hashlib.sha256, "2.16.840.1.101.3.4.2.2": hashlib.sha384,
              "2.16.840.1.101.3.4.2.3": hashlib.sha512}.get(imprint.hash_algorithm.dotted_string)
    if digest is None:
        return TokenCheck(False, f"the token uses a hash we do not check ({imprint.hash_algorithm.dotted_string})",
                          when)
    if imprint.message != digest(data).digest():
        return TokenCheck(False, f"the token is for other data (imprint {imprint.message.hex()[:16]}..., "
                                 f"manifest.json {digest(data).hexdigest()[:16]}...)", when)
    certificates = [cryptography.x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    signer = _signer(response, certificates)
    if signer is None:
        return TokenCheck(False, "the token carries no certificate of its signer (requested with certReq)", when)
    subject = signer.subject.rfc4514_string()
    if ca_file is not None:
        roots = _load_certificates(ca_file)
        builder = VerifierBuilder(roots=roots, intermediates=[c for c in certificates if c != signer and c not in roots])
    else:  # the token's own certificate as the only anchor: checks the signature, not who the TSA is
        builder = VerifierBuilder(roots=[signer])
    try:
        builder.build().verify(response, imprint.message)
    except (VerificationError, ValueError) as e:
        where = f"the CA in {ca_file}" if ca_file else f"its certificate ({subject})"
        return TokenCheck(False, f"the token's signature does not verify against {where}: {e}", when, subject)
    return TokenCheck(True, None, when, subject, chain_checked=ca_file is not None)


def _signer(response, certificates):
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        return None
    return next((c for c in certificates if c.issuer == infos[0].issuer and c.serial_number == infos[0].serial_number),
                None)


def _load_certificates(path: Path):
    import cryptography.x509

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ArchiverError(f"{path}: cannot read the CA file ({e.strerror})") from e
    try:
        return cryptography.x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data \
            else [cryptography.x509.load_der_x509_certificate(data)]
    except ValueError as e:
        raise ArchiverError(f"{path}: not a PEM or DER certificate ({e})") from e
