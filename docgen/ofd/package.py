"""The OFD container (GB/T 33190 §7): a ZIP of XML parts and resources.

Shared format code: the verifier may use it too. Writing is deterministic — the same parts
and time give the same bytes — so unsigned files can be compared byte for byte.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Mapping
from datetime import datetime

from lxml import etree

__all__ = ["DOC_ROOT", "OFD_NS", "ROOT_FILE", "ofd", "read_package", "serialize", "write_package"]

#: The OFD namespace; every element of every part lives in it.
OFD_NS = "http://www.ofdspec.org/2016"
#: The entry point of every OFD package.
ROOT_FILE = "OFD.xml"
#: Where the single document of our packages lives.
DOC_ROOT = "Doc_0/Document.xml"
_NSMAP = {"ofd": OFD_NS}
_FILE_MODE = 0o644 << 16
# Entries whose bytes are compressed already (pictures, and the seal and signature parts that
# carry the seal picture): stored, since deflating them again costs time and saves nothing.
_STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".esl", ".dat")
# zlib level for XML and fonts: level 1 takes a third of the default's time, files 3 % larger.
_DEFLATE_LEVEL = 1
# What zipfile raises on damaged input besides BadZipFile (seen flipping bits of real
# packages): a corrupt deflate stream, a flipped compression method or encryption flag, a
# stream cut short.
_DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError)


def ofd(
    tag: str,
    attrib: dict[str, str] | None = None,
    text: str | None = None,
    parent: etree._Element | None = None,
) -> etree._Element:
    """Make an element ``ofd:tag`` (as a child of ``parent`` when given)."""
    name = f"{{{OFD_NS}}}{tag}"
    element = (
        etree.SubElement(parent, name, attrib or {}, nsmap=_NSMAP)
        if parent is not None
        else etree.Element(name, attrib or {}, nsmap=_NSMAP)
    )
    if text is not None:
        element.text = text
    return element


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes of a part, with an XML declaration; never re-serialise after signing."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def write_package(parts: Mapping[str, bytes], at: datetime) -> bytes:
    """Zip ``parts`` (path → bytes) in the given order, every entry stamped ``at``; XML and
    fonts deflated, pictures and signature values stored."""
    if ROOT_FILE not in parts:
        raise ValueError("an OFD package needs OFD.xml")
    stamp = at.timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in parts.items():
            info = zipfile.ZipInfo(path, date_time=stamp)
            stored = path.lower().endswith(_STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = _FILE_MODE
            info.create_system = 3
            archive.writestr(info, data, compresslevel=_DEFLATE_LEVEL)
    return out.getvalue()


def read_package(data: bytes) -> dict[str, bytes]:
    """The parts of an OFD package, path → raw bytes (leading ``/`` stripped).

    Raises:
        ValueError: not a ZIP, a damaged one, or no OFD.xml in it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {
                info.filename.lstrip("/"): archive.read(info)
                for info in archive.infolist()
                if not info.is_dir()
            }
    except _DAMAGED_ZIP as exc:
        raise ValueError(f"damaged or not a ZIP package: {exc}") from exc
    if ROOT_FILE not in parts:
        raise ValueError("not an OFD package: no OFD.xml")
    return parts
