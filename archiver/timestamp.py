"""Trusted timestamps (RFC 3161) for a bundle's manifest.json.

`request_token(manifest_bytes, tsa_url)` POSTs a DER TimeStampReq (SHA-256 imprint, a nonce,
certReq true so the token carries the TSA's certificate) with Content-Type
application/timestamp-query and returns the DER TimeStampResp, which the bundle keeps as
`manifest.json.tsr`. `check_token` verifies one: the imprint against manifest.json, the
CMS signature against the certificate the token carries, and, when the reviewer gives the
TSA's CA (`--tsa-ca`), the chain to it. Parsing and verifying are rfc3161-client's (Trail of
Bits; Rust ASN.1 and PKCS#7 underneath); without a CA, the signer's signature is checked
with asn1crypto (parsing) and cryptography (the signature). No ASN.1 of our own.

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
    if ca_file is not None:
        roots = _load_certificates(ca_file)  # a bad CA file is the reviewer's error, not the token's
    try:
        return _check(der, data, ca_file, roots if ca_file is not None else None)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:  # a damaged token, any layer
        return TokenCheck(False, f"not a readable RFC 3161 timestamp response ({type(e).__name__}: {e})")


def _check(der: bytes, data: bytes, ca_file: Path | None, roots) -> TokenCheck:
    import cryptography.x509
    from rfc3161_client import PKIStatus, VerificationError, VerifierBuilder

    response = _decode(der)
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
    if ca_file is None:  # the signature by the certificate the token carries; who the TSA is stays open
        problem = _signed_by(der, signer)
        if problem:
            return TokenCheck(False, f"the token's signature does not verify against its certificate ({subject}): "
                                     f"{problem}", when, subject)
        return TokenCheck(True, None, when, subject)
    # roots only: rfc3161-client trusts every certificate it is given (intermediates too), while
    # the certificates inside the token serve as untrusted chain material
    builder = VerifierBuilder(roots=roots)
    try:  # the CMS signature, the chain to the reviewer's CA at genTime, the critical timeStamping EKU
        builder.build().verify(response, imprint.message)
    except (VerificationError, ValueError) as e:
        return TokenCheck(False, f"the token's signature does not verify against the CA in {ca_file}: {e}",
                          when, subject)
    return TokenCheck(True, None, when, subject, chain_checked=True)


def _signed_by(der: bytes, certificate) -> str | None:
    """Check the token's CMS SignerInfo against one certificate, without a chain: the signed
    attributes carry the digest of the TSTInfo, and the signature covers those attributes
    (RFC 5652 5.4). asn1crypto parses, cryptography verifies; None when it holds."""
    from asn1crypto import tsp
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    signed = tsp.TimeStampResp.load(der)["time_stamp_token"]["content"]
    info = signed["signer_infos"][0]
    digest_name = info["digest_algorithm"]["algorithm"].native
    content = signed["encap_content_info"]["content"].contents
    attributes = {a["type"].native: a["values"][0].native for a in info["signed_attrs"]}
    if attributes.get("message_digest") != hashlib.new(digest_name, content).digest():
        return "the signed digest is not the digest of the token's content"
    signed_bytes = b"\x31" + info["signed_attrs"].dump()[1:]  # signed as a SET OF, stored [0] IMPLICIT
    chosen = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(digest_name)
    if chosen is None:
        return f"unsupported digest {digest_name}"
    key, signature = certificate.public_key(), info["signature"].native
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pss = info["signature_algorithm"].signature_algo == "rsassa_pss"
            key.verify(signature, signed_bytes, padding.PSS(padding.MGF1(chosen), padding.PSS.AUTO) if pss
                       else padding.PKCS1v15(), chosen)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(chosen))
        else:
            key.verify(signature, signed_bytes)  # Ed25519 / Ed448
    except InvalidSignature:
        return "the signature does not match"
    except (TypeError, ValueError) as e:
        return str(e)
    return None


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
