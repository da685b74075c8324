"""OFD signature parts (GB/T 33190 §18): paths, digests, Signatures.xml and Signature.xml.

Format code shared by the issuer and the verifier. What is signed is the raw bytes of
``Signature.xml``; every reference digest is over the raw bytes of a package file. Parts
are serialised once and never again after being digested.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from .. import __version__
from ..gm import OID_SM3, sm3
from .package import DOC_ROOT, ofd, serialize

__all__ = [
    "CHECK_METHODS",
    "OID_SHA256",
    "SIGNATURES_FILE",
    "Reference",
    "StampAnnot",
    "digest",
    "page_ids",
    "sign_dir",
    "signature_xml",
    "signatures_xml",
]

SIGNATURES_FILE = "Doc_0/Signs/Signatures.xml"
OID_SHA256 = "2.16.840.1.101.3.4.2.1"
#: Digest algorithms by every spelling seen in real files (OIDs and names).
CHECK_METHODS = {
    OID_SM3: "sm3",
    "SM3": "sm3",
    OID_SHA256: "sha256",
    "SHA-256": "sha256",
    "SHA256": "sha256",
}


def sign_dir(n: int) -> str:
    """Package folder of signature ``n`` (0-based)."""
    return f"Doc_0/Signs/Sign_{n}"


def digest(check_method: str, data: bytes) -> bytes:
    """Digest of ``data`` by a ``CheckMethod`` value.

    Raises:
        ValueError: the method is not a digest algorithm we know.
    """
    algorithm = CHECK_METHODS.get(check_method.strip())
    if algorithm == "sm3":
        return sm3(data)
    if algorithm == "sha256":
        return hashlib.sha256(data).digest()
    raise ValueError(f"unsupported digest method {check_method!r}")


def page_ids(parts: dict[str, bytes]) -> list[str]:
    """The page IDs of the document, in page order."""
    root = etree.fromstring(parts[DOC_ROOT])
    return [p.get("ID", "") for p in root.iterfind("{*}Pages/{*}Page")]


@dataclass(frozen=True)
class Reference:
    """A protected file: absolute package path and digest."""

    path: str
    digest: bytes


@dataclass(frozen=True)
class StampAnnot:
    """Where the seal is drawn: page ID and box in mm."""

    id: str
    page: str
    boundary: tuple[float, float, float, float]


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def signatures_xml(entries: Sequence[tuple[str, str, str]]) -> bytes:
    """``Signatures.xml`` listing ``(id, type, base_loc)`` entries."""
    root = ofd("Signatures")
    ofd("MaxSignId", text=entries[-1][0] if entries else "s0", parent=root)
    for sign_id, sign_type, loc in entries:
        ofd("Signature", {"ID": sign_id, "Type": sign_type, "BaseLoc": loc}, parent=root)
    return serialize(root)


def signature_xml(
    *,
    method: str,
    date_time: str,
    check_method: str,
    references: Sequence[Reference],
    stamps: Sequence[StampAnnot],
    seal_loc: str | None,
    signed_value_loc: str,
) -> bytes:
    """``Signature.xml`` in the XSD's element order: SignedInfo (Provider, SignatureMethod,
    SignatureDateTime, References, StampAnnot*, Seal?) then SignedValue."""
    root = ofd("Signature")
    info = ofd("SignedInfo", parent=root)
    ofd(
        "Provider",
        {"ProviderName": "docgen", "Version": __version__, "Company": "docgen"},
        parent=info,
    )
    ofd("SignatureMethod", text=method, parent=info)
    ofd("SignatureDateTime", text=date_time, parent=info)
    refs = ofd("References", {"CheckMethod": check_method}, parent=info)
    for ref in references:
        element = ofd("Reference", {"FileRef": ref.path}, parent=refs)
        ofd("CheckValue", text=base64.b64encode(ref.digest).decode("ascii"), parent=element)
    for stamp in stamps:
        ofd(
            "StampAnnot",
            {
                "ID": stamp.id,
                "PageRef": stamp.page,
                "Boundary": " ".join(_num(v) for v in stamp.boundary),
            },
            parent=info,
        )
    if seal_loc is not None:
        seal = ofd("Seal", parent=info)
        ofd("BaseLoc", text=seal_loc, parent=seal)
    ofd("SignedValue", text=signed_value_loc, parent=root)
    return serialize(root)
