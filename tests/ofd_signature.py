"""Test helpers that read an OFD signature with the shared format code only."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from lxml import etree

from docgen.ofd import OFD_NS, read_package

NS = {"ofd": OFD_NS}


@dataclass(frozen=True)
class OFDSignature:
    parts: dict[str, bytes]
    signature_path: str
    signature_xml: bytes
    signed_value: bytes
    check_method: str
    references: dict[str, bytes]  # package path (no leading /) -> CheckValue
    sign_type: str


def read_signature(data: bytes, index: int = 0) -> OFDSignature:
    """Signature ``index`` (0-based, in Signatures.xml order) of an OFD file."""
    parts = read_package(data)
    body = etree.fromstring(parts["OFD.xml"]).find("ofd:DocBody", NS)
    signatures_loc = body.findtext("ofd:Signatures", namespaces=NS).lstrip("/")
    entry = etree.fromstring(parts[signatures_loc]).findall("ofd:Signature", NS)[index]
    path = entry.get("BaseLoc").lstrip("/")
    root = etree.fromstring(parts[path])
    refs = root.find("ofd:SignedInfo/ofd:References", NS)
    references = {
        ref.get("FileRef").lstrip("/"): base64.b64decode(
            ref.findtext("ofd:CheckValue", namespaces=NS)
        )
        for ref in refs.iterfind("ofd:Reference", NS)
    }
    value_loc = root.findtext("ofd:SignedValue", namespaces=NS).lstrip("/")
    return OFDSignature(
        parts,
        path,
        parts[path],
        parts[value_loc],
        refs.get("CheckMethod"),
        references,
        entry.get("Type"),
    )
