"""GB/T 36903 core metadata of an electronic licence, derived from a validated certificate."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .validation import Certificate

__all__ = [
    "HOLDER",
    "IDENTIFIER",
    "ISSUE_DATE",
    "METADATA_PREFIX",
    "NUMBER",
    "VALID_TO",
    "core_metadata",
]

#: Prefix of metadata keys in the PDF document information dictionary.
METADATA_PREFIX = "GBT36903"
#: Items a verifier compares, as ``(key, name)``: the PDF/XMP key and the OFD CustomData name.
IDENTIFIER = ("LicenceIdentifier", "证照标识")
NUMBER = ("LicenceNumber", "证照编号")
HOLDER = ("Holder", "持证主体")
ISSUE_DATE = ("IssueDate", "颁发日期")
VALID_TO = ("ValidTo", "有效期截止")
_LONG_TERM = "长期"


def core_metadata(cert: Certificate) -> tuple[tuple[str, str, str], ...]:
    """The core metadata items in the standard's order, as ``(key, name, value)`` triples.

    ``key`` is an ASCII name for PDF and XMP, ``name`` the standard's Chinese item name (used
    as the OFD ``CustomData`` name). Field names used by a kind can be overridden in its
    ``[metadata]`` table (``issuer``, ``valid_from``, ``valid_to``); without a validity end
    the licence is 长期 (no expiry).
    """
    values, kind = cert.values, cert.kind
    start_field = kind.metadata.get("valid_from", "valid_from")
    end_field = kind.metadata.get("valid_to", "valid_to")
    valid_from = values.get(start_field) or values["issue_date"]
    valid_to = values.get(end_field)
    printed = json.dumps(
        dict(cert.display), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    items = (
        (*IDENTIFIER, cert.identifier),
        ("LicenceTypeName", "证照类型名称", kind.type_name),
        ("LicenceTypeCode", "证照类型代码", kind.type_code),
        ("LicenceName", "证照名称", kind.title),
        (*NUMBER, cert.number),
        ("IssuingAuthority", "颁发机构", str(values[kind.issuer_field])),
        ("IssuingAuthorityCode", "颁发机构代码", str(values["issuer_code"])),
        (*ISSUE_DATE, values["issue_date"].isoformat()),
        (*HOLDER, str(values["name"])),
        ("HolderCode", "持证主体代码", str(values["id_number"])),
        ("HolderCodeType", "持证主体代码类型", str(values["id_type"])),
        ("ValidFrom", "有效期起始", valid_from.isoformat()),
        (*VALID_TO, valid_to.isoformat() if valid_to else _LONG_TERM),
        ("PrintedFields", "照面信息", printed),
    )
    return items
