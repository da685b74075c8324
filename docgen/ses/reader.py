"""Read seal signatures of either version (GB/T 38540 v4, GM/T 0031 v1) leniently.

What a verifier needs from ``SignedValue.dat``: the exact to-be-signed bytes as they are in
the file (never re-encoded), the data hash, the signer certificate, the algorithm and the
signature. The versions are told apart by shape: v4's ``SES_Signature`` has the signer
certificate and algorithm after ``toSign``; v1 keeps them inside ``TBS_Sign``.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import algos, core

__all__ = [
    "MALFORMED_DER",
    "MAX_VERSION",
    "SealSignature",
    "parse_seal_signature",
    "signature_to_der",
]

#: The largest version number read (the standards know 1 and 4); a larger one is refused
#: rather than carried along (a 4 300-digit integer cannot even be printed).
MAX_VERSION = 255
#: What asn1crypto raises on malformed DER, which it parses lazily, on access: besides
#: ValueError, a short BIT STRING gives IndexError, values nested past Python's recursion
#: limit RecursionError, a value of an unexpected type TypeError or AttributeError.
MALFORMED_DER = (ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError)


class _Items(core.SequenceOf):
    _child_spec = core.Any


@dataclass(frozen=True)
class SealSignature:
    """The parts of a seal signature a verifier checks."""

    version: int
    tbs: bytes  # DER of TBS_Sign exactly as in the file
    seal: bytes  # DER of the embedded SESeal
    time: str
    data_hash: bytes
    property_info: str
    signer_cert: bytes
    algorithm: str
    signature: bytes  # DER SEQUENCE { r, s }


def _items(data: bytes, what: str) -> list[core.Any]:
    """The fields of a DER SEQUENCE that is the whole of ``data``."""
    try:
        parsed = _Items.load(data, strict=True)  # nothing may follow it
        return list(parsed)
    except RecursionError as exc:
        raise ValueError(f"{what} is nested too deeply to read") from exc
    except MALFORMED_DER as exc:
        raise ValueError(f"{what} is not a DER SEQUENCE ({exc})") from exc


def _is_timestamp(value: core.Any) -> bool:
    """Whether a field is v4's timeStamp: a BIT STRING (or, leniently, an OCTET STRING)
    tagged ``[0]``, explicitly or implicitly."""
    for spec in (core.BitString, core.OctetString):
        for tagging in ("explicit", "implicit"):
            try:
                value.parse(spec=spec, spec_params={tagging: 0})
                return True
            except MALFORMED_DER:
                continue
    return False


def _bits(value: core.Any) -> bytes:
    """Octets of a BIT STRING (or, leniently, an OCTET STRING)."""
    if not value.contents:  # a BIT STRING has at least its count of unused bits
        raise ValueError("an empty BIT STRING")
    raw = value.parse()
    if isinstance(raw, core.OctetString):
        return bytes(raw.native)
    return bytes(core.OctetBitString.load(value.dump()).native)


def _text(value: core.Any) -> str:
    raw = value.parse()
    native = raw.native
    if isinstance(native, bytes):
        return native.decode("utf-8", "replace")
    return str(native)


def signature_to_der(signature: bytes) -> bytes:
    """An SM2/ECDSA signature as DER; raw 64-byte r ‖ s values are converted."""
    if len(signature) == 64 and signature[:1] != b"\x30":
        return bytes(algos.DSASignature.from_p1363(signature).dump())
    return signature


def parse_seal_signature(data: bytes) -> SealSignature:
    """Parse ``SignedValue.dat`` of a seal signature, v4 or v1.

    Raises:
        ValueError: not a seal signature of either version (the message says why).
    """
    outer = _items(data, "SES_Signature")
    if len(outer) < 2:
        raise ValueError("SES_Signature has too few fields")
    tbs_any = outer[0]
    tbs = _items(tbs_any.dump(), "TBS_Sign")
    if len(tbs) < 5:
        raise ValueError("TBS_Sign has too few fields")
    try:
        version = int(tbs[0].parse(spec=core.Integer).native)
        if not 0 <= version <= MAX_VERSION:
            raise ValueError(f"TBS_Sign's version is not a number from 0 to {MAX_VERSION}")
        if len(outer) >= 4:  # v4: toSign, cert, signatureAlgID, signature [, timeStamp]
            # Nothing but the timestamp may follow the signature: what is outside toSign
            # is not signed, and a field no one reads could carry anything.
            if len(outer) > 5 or (len(outer) == 5 and not _is_timestamp(outer[4])):
                raise ValueError(
                    f"SES_Signature has {len(outer)} fields: v4 has the signed part, the "
                    "certificate, the algorithm, the signature and at most a [0] timestamp"
                )
            cert = bytes(outer[1].parse(spec=core.OctetString).native)
            algorithm = outer[2].parse(spec=core.ObjectIdentifier).dotted
            signature = _bits(outer[3])
        elif len(tbs) >= 7:  # v1: toSign{..., cert, signatureAlgorithm}, signature
            if len(outer) != 2:
                raise ValueError(
                    f"SES_Signature has {len(outer)} fields: v1 has the signed part and the "
                    "signature"
                )
            cert = bytes(tbs[5].parse(spec=core.OctetString).native)
            algorithm = tbs[6].parse(spec=core.ObjectIdentifier).dotted
            signature = _bits(outer[1])
        else:
            raise ValueError("neither the v4 nor the v1 layout")
        return SealSignature(
            version=version,
            tbs=bytes(tbs_any.dump()),
            seal=bytes(tbs[1].dump()),
            time=_text(tbs[2]),
            data_hash=_bits(tbs[3]),
            property_info=_text(tbs[4]),
            signer_cert=cert,
            algorithm=algorithm,
            signature=signature_to_der(signature),
        )
    except RecursionError as exc:
        raise ValueError("malformed seal signature (nested too deeply to read)") from exc
    except MALFORMED_DER as exc:
        raise ValueError(f"malformed seal signature ({exc or type(exc).__name__})") from exc
