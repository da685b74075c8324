"""The OFD container (GB/T 33190 §7): a ZIP of XML parts and resources.

Shared format code: the verifier may use it too. Writing is deterministic — the same parts
and time give the same bytes — so unsigned files can be compared byte for byte.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from collections.abc import Mapping
from datetime import datetime

from lxml import etree

__all__ = [
    "DOC_ROOT",
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MAX_RATIO",
    "MAX_UNPACKED_BYTES",
    "OFD_NS",
    "ROOT_FILE",
    "PackageError",
    "ofd",
    "package_problem",
    "read_package",
    "serialize",
    "write_package",
]

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
# packages, and by bench/fuzz.py): a corrupt deflate, LZMA or bzip2 stream, a flipped
# compression method or encryption flag, a stream cut short.
_DAMAGED_ZIP = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    OSError,  # bz2: "Invalid data stream"
    NotImplementedError,
    RuntimeError,
    EOFError,
)


def ofd(
    tag: str,
    attrib: dict[str, str] | None = None,
    text: str | None = None,
    parent: etree._Element | None = None,
) -> etree._Element:
    """Make an element ``ofd:tag`` (as a child of ``parent`` when given; a child takes the
    ``ofd`` prefix its root declares)."""
    name = f"{{{OFD_NS}}}{tag}"
    element = (
        etree.SubElement(parent, name, attrib)
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


#: Bounds on what a package may unpack to. A certificate's OFD unpacks to some 200 kB and
#: the corpus's largest file to 345 kB (its best-compressed entry shrinks 11×); a ZIP bomb
#: declares far more, or an entry that shrinks by hundreds.
MAX_ENTRIES = 10_000
MAX_ENTRY_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200
# Entries smaller than this are not judged by their ratio (a tiny repetitive part may
# compress well; a bomb needs size).
_RATIO_FROM_BYTES = 1024 * 1024


class PackageError(ValueError):
    """A package that is refused unread: a name that leaves the package, or sizes beyond
    the bounds above."""


def _unsafe_name(name: str) -> bool:
    """Absolute (``/x``, ``C:x``), with a ``..`` step or a backslash, or holding NUL."""
    parts = name.split("/")
    return (
        name.startswith("/")
        or "\\" in name
        or "\0" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")
    )


def package_problem(infos: list[zipfile.ZipInfo]) -> str | None:
    """Why a package with these entries is refused before any entry is read (None: it is
    not). Judged by the central directory alone; :func:`read_package` also checks that no
    entry holds more than it declares."""
    if len(infos) > MAX_ENTRIES:
        return f"the package has {len(infos)} entries; at most {MAX_ENTRIES}"
    unsafe = [i.filename for i in infos if _unsafe_name(i.filename)]
    if unsafe:
        return (
            f"entry name {unsafe[0]!r} leaves the package (absolute, or a '..' step): "
            "refused unread"
        )
    for info in infos:
        if info.file_size > MAX_ENTRY_BYTES:
            return (
                f"entry {info.filename} says it unpacks to {info.file_size // (1024 * 1024)} "
                f"MB; at most {MAX_ENTRY_BYTES // (1024 * 1024)} MB: refused unread"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_FROM_BYTES and ratio > MAX_RATIO:
            return (
                f"entry {info.filename} shrinks {ratio:.0f}× (a ZIP bomb; at most "
                f"{MAX_RATIO}×): refused unread"
            )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        return (
            f"the package says it unpacks to {total // (1024 * 1024)} MB; at most "
            f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB: refused unread"
        )
    return None


def read_package(data: bytes) -> dict[str, bytes]:
    """The parts of an OFD package, path → raw bytes, within the bounds above: names and
    declared sizes are judged first, and no entry is read past the size it declares.

    Raises:
        PackageError: an unsafe name or a size beyond the bounds (nothing was unpacked).
        ValueError: not a ZIP, a damaged one, an entry larger than it declares, or no
            OFD.xml in it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            problem = package_problem(infos)
            if problem is not None:
                raise PackageError(problem)
            parts = {}
            for info in infos:
                with archive.open(info) as entry:
                    content = entry.read(info.file_size + 1)
                if len(content) != info.file_size:
                    raise ValueError(
                        f"entry {info.filename} holds other than the {info.file_size} bytes "
                        "it declares"
                    )
                parts[info.filename] = content
    except PackageError:
        raise
    except (*_DAMAGED_ZIP, ValueError, OverflowError) as exc:  # a seek before or far past it
        raise ValueError(f"damaged or not a ZIP package: {exc}") from exc
    if ROOT_FILE not in parts:
        raise ValueError("not an OFD package: no OFD.xml")
    return parts
