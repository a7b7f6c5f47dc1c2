"""OCMF signature verification: is this record what the meter signed?

What the S.A.F.E. Transparency Software does (``OCMFVerifier``), reproduced with
``cryptography``: the digest of the payload section's bytes (exactly as it stands between
the bars) is checked against the ECDSA signature ``SD`` on the curve named in ``SA``
(default ``ECDSA-secp256r1-SHA256``) with the meter's public key. Keys are delivered out
of band (per meter, from the operator), so the caller supplies them.

The verdict is one of ``valid``, ``invalid`` (the signature does not match, cannot be
decoded, or uses an algorithm we cannot check), ``unsigned`` (no signature section, an
empty one, or no ``SD``) and ``no_key`` (signed, but no key is known for the meter).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from shared.inbound.ocmf import Ocmf

__all__ = ["DEFAULT_ALGORITHM", "Verdict", "Verification", "decode_key", "verify"]

Verdict = Literal["valid", "invalid", "unsigned", "no_key"]
DEFAULT_ALGORITHM = "ECDSA-secp256r1-SHA256"  # OCMF: when SA is absent
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "secp192r1": ec.SECP192R1,
    "secp224r1": ec.SECP224R1,
    "secp256r1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
    "secp521r1": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
    "brainpoolp256r1": ec.BrainpoolP256R1,
    "brainpoolp384r1": ec.BrainpoolP384R1,
    "brainpoolp512r1": ec.BrainpoolP512R1,
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class Verification:
    verdict: Verdict
    detail: str
    algorithm: str | None = None


def verify(ocmf: Ocmf, key_text: str | None) -> Verification:
    """Verify an OCMF record with the meter's public key (``None``: no key known)."""
    sig = ocmf.signature or {}
    sd = sig.get("SD")
    if not isinstance(sd, str) or not sd.strip():
        return Verification("unsigned", "no signature (SD) in the OCMF record")
    algorithm = sig.get("SA") if isinstance(sig.get("SA"), str) else DEFAULT_ALGORITHM
    try:
        curve, digest = _algorithm(str(algorithm))
        raw = _decode(sd, str(sig.get("SE") or "hex"))
    except ValueError as exc:
        return Verification("invalid", str(exc), algorithm)
    if key_text is None:
        return Verification("no_key", "no public key configured for the meter", algorithm)
    try:
        key = decode_key(key_text, curve)
    except ValueError as exc:
        return Verification("invalid", f"public key unusable: {exc}", algorithm)
    signature = _der_signature(raw, curve)
    sections = [ocmf.payload_text]
    if ocmf.payload_text.strip() != ocmf.payload_text:
        sections.append(ocmf.payload_text.strip())  # whitespace added around the section
    for section in sections:
        try:
            key.verify(signature, section.encode("utf-8"), ec.ECDSA(digest()))
        except InvalidSignature:
            continue
        return Verification("valid", f"signature verified ({algorithm})", algorithm)
    return Verification("invalid", f"signature does not match ({algorithm})", algorithm)


def decode_key(text: str, curve: type[ec.EllipticCurve] | None = None) -> ec.EllipticCurvePublicKey:
    """A public key as meters and operators write it: DER SubjectPublicKeyInfo in hex
    (spaces and colons allowed) or base64, or a bare point (``04‖X‖Y`` or ``X‖Y``) on
    ``curve``. ValueError when it is none of these."""
    compact = re.sub(r"[\s:]", "", text)
    candidates: list[bytes] = []
    if re.fullmatch(r"[0-9A-Fa-f]+", compact) and len(compact) % 2 == 0:
        candidates.append(bytes.fromhex(compact))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(compact, validate=True))
    for blob in candidates:
        try:
            key = load_der_public_key(blob)
        except (ValueError, UnsupportedAlgorithm):
            key = None
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key
        if curve is not None:
            point = blob if blob[:1] == b"\x04" else b"\x04" + blob
            try:
                return ec.EllipticCurvePublicKey.from_encoded_point(curve(), point)
            except ValueError:
                continue
    raise ValueError("not an EC public key (DER in hex or base64, or a curve point)")


def _algorithm(name: str) -> tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]:
    parts = name.strip().split("-")
    if len(parts) != 3 or parts[0].upper() != "ECDSA":
        raise ValueError(f"signature algorithm {name!r} is not ECDSA-<curve>-<hash>")
    curve_name = parts[1].lower()
    if curve_name.startswith("brainpool") and not curve_name.startswith("brainpoolp"):
        curve_name = "brainpoolp" + curve_name[len("brainpool") :]
    curve = _CURVES.get(curve_name)
    digest = _HASHES.get(parts[2].lower().replace("-", ""))
    if curve is None:
        raise ValueError(f"curve {parts[1]} cannot be verified here")
    if digest is None:
        raise ValueError(f"hash {parts[2]} cannot be verified here")
    return curve, digest


def _decode(sd: str, encoding: str) -> bytes:
    text = re.sub(r"\s", "", sd)
    try:
        if encoding.lower() == "base64":
            return base64.b64decode(text, validate=True)
        return bytes.fromhex(text)
    except (binascii.Error, ValueError):
        raise ValueError(f"signature SD is not {encoding.lower()}") from None


def _der_signature(raw: bytes, curve: type[ec.EllipticCurve]) -> bytes:
    """DER as OCMF's default ``SM`` says; a bare ``r‖s`` of twice the curve size (as some
    meters send) is wrapped into DER."""
    size = (curve().key_size + 7) // 8
    if raw[:1] != b"\x30" and len(raw) == 2 * size:
        r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
        return encode_dss_signature(r, s)
    return raw
