"""Fonts and images as PDF objects.

Fonts are embedded as the same TrueType subsets the OFD carries (``Face.subset`` keeps the
last few, so one layout's subset is built once for both files): a ``Type0`` font with
``Identity-H`` encoding over a ``CIDFontType2`` whose CIDs are the subset's glyph indices,
with widths from the layout's metrics and a ToUnicode CMap (UTF-16BE, so characters beyond
the BMP extract correctly).

Images become image XObjects: a JPEG is copied as it is (``DCTDecode``), and so is the
compressed data of an opaque grey or RGB PNG (its zlib stream with PNG predictors is a
``FlateDecode`` stream with ``/Predictor 15``, §7.4.4.4) — the QR picture is never decoded.
Any other picture is decoded and compressed, its alpha channel as a soft mask. Prepared
pictures are kept by content, so the seal picture every certificate of an issuer shares is
prepared once per process.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from PIL import Image

from ..fonts import Face, Subset
from .objects import Name, Ref, Stream, Text, Writer, deflate

__all__ = ["EmbeddedFont", "PreparedImage", "embed_font", "embed_image", "prepare_image"]

_CMAP_HEAD = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
)
_CMAP_TAIL = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
# /DW of our CID fonts: the full-width advance of CJK glyphs, in thousandths of an em.
_DEFAULT_WIDTH = 1000
# bfchar entries per block (the CMap format allows at most 100).
_CMAP_BLOCK = 100


@dataclass(frozen=True)
class EmbeddedFont:
    """A font written into a document: its object and how its characters are encoded."""

    ref: Ref
    gids: dict[str, int]

    def encode(self, text: str) -> bytes:
        """``text`` as the two-byte glyph codes of a ``Tj`` hex string."""
        return "".join(f"{self.gids.get(c, 0):04X}" for c in text).encode()


def _subset_tag(face: Face, chars: str) -> str:
    digest = hashlib.sha256(f"{face.key}\0{chars}".encode()).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


def _to_unicode(gids: dict[str, int]) -> bytes:
    pairs = sorted((gid, char) for char, gid in gids.items())
    lines = [_CMAP_HEAD]
    for start in range(0, len(pairs), _CMAP_BLOCK):
        block = pairs[start : start + _CMAP_BLOCK]
        lines.append(f"{len(block)} beginbfchar\n")
        lines += [
            f"<{gid:04X}> <{char.encode('utf-16-be').hex().upper()}>\n" for gid, char in block
        ]
        lines.append("endbfchar\n")
    lines.append(_CMAP_TAIL)
    return "".join(lines).encode("ascii")


def _widths(face: Face, gids: dict[str, int]) -> list[object]:
    """The ``/W`` array (§9.7.4.3): the widths that differ from ``/DW``, in runs of
    consecutive glyphs (``first [w w …]``); most CJK glyphs take the default."""
    out: list[object] = []
    last = -2
    for gid, char in sorted((gid, char) for char, gid in gids.items()):
        width = face.advance(char) * 1000
        if width == _DEFAULT_WIDTH:
            continue
        if gid == last + 1:
            cast(list[float], out[-1]).append(width)
        else:
            out += [gid, [width]]
        last = gid
    return out


def embed_font(writer: Writer, face: Face, chars: str) -> EmbeddedFont:
    """Write ``face``'s subset for ``chars`` into the document."""
    subset: Subset = face.subset(chars)
    gids = dict(subset.gids)
    metrics = face.metrics()
    base = Name(f"{_subset_tag(face, chars)}+{face.rl_name}")
    file = writer.add(
        Stream(
            {"Filter": Name("FlateDecode"), "Length1": len(subset.data)},
            deflate(subset.data),
        )
    )
    descriptor = writer.add(
        {
            "Type": Name("FontDescriptor"),
            "FontName": base,
            "Flags": metrics["flags"],
            "FontBBox": [round(v) for v in metrics["bbox"]],
            "ItalicAngle": metrics["italic_angle"],
            "Ascent": round(metrics["ascent"]),
            "Descent": round(metrics["descent"]),
            "CapHeight": round(metrics["cap_height"]),
            "StemV": metrics["stem_v"],
            "FontFile2": file,
        }
    )
    widths = _widths(face, gids)
    cid_font = writer.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("CIDFontType2"),
            "BaseFont": base,
            "CIDSystemInfo": {
                "Registry": Text("Adobe"),
                "Ordering": Text("Identity"),
                "Supplement": 0,
            },
            "FontDescriptor": descriptor,
            "DW": _DEFAULT_WIDTH,
            "W": widths,
            "CIDToGIDMap": Name("Identity"),
        }
    )
    to_unicode = writer.add(Stream({"Filter": Name("FlateDecode")}, deflate(_to_unicode(gids))))
    ref = writer.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("Type0"),
            "BaseFont": base,
            "Encoding": Name("Identity-H"),
            "DescendantFonts": [cid_font],
            "ToUnicode": to_unicode,
        }
    )
    return EmbeddedFont(ref, gids)


@dataclass(frozen=True)
class PreparedImage:
    """An image XObject's dictionary and data, and its soft mask's, ready to copy."""

    entries: dict[str, object]
    data: bytes
    mask: tuple[dict[str, object], bytes] | None


_COLOURS = {"1": ("DeviceGray", 1), "L": ("DeviceGray", 8), "RGB": ("DeviceRGB", 8)}


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types copied as they are, grey (0) and RGB (2): colour space, channels.
_PNG_COLOURS = {0: ("DeviceGray", 1), 2: ("DeviceRGB", 3)}


def _png_as_is(data: bytes) -> PreparedImage | None:
    """The image XObject of an opaque, non-interlaced grey or RGB PNG, its IDAT data
    unchanged; None for any other PNG (palette, alpha, interlace, transparency key)."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    at, idat, header = len(_PNG_SIGNATURE), bytearray(), None
    while at + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        elif tag == b"tRNS":
            return None
        elif tag == b"IEND":
            break
        at += 12 + length
    if header is None or not idat:
        return None
    width, height, bits, colour, _, _, interlace = header
    if colour not in _PNG_COLOURS or interlace or bits not in (1, 2, 4, 8):
        return None
    space, channels = _PNG_COLOURS[colour]
    entries = _image_entries((width, height), space, bits, "FlateDecode")
    entries["DecodeParms"] = {
        "Predictor": 15,
        "Colors": channels,
        "BitsPerComponent": bits,
        "Columns": width,
    }
    return PreparedImage(entries, bytes(idat), None)


@lru_cache(maxsize=16)
def prepare_image(data: bytes, kind: str) -> PreparedImage:
    """``data`` (a ``JPEG`` or ``PNG`` file) as image XObject parts."""
    if kind == "PNG":
        as_is = _png_as_is(data)
        if as_is is not None:
            return as_is
    image: Image.Image = Image.open(io.BytesIO(data))
    if kind == "JPEG":
        colours = {"L": "DeviceGray", "RGB": "DeviceRGB", "CMYK": "DeviceCMYK"}.get(image.mode)
        if colours is None:
            raise ValueError(f"JPEG in colour mode {image.mode} cannot be embedded")
        entries = _image_entries(image.size, colours, 8, "DCTDecode")
        return PreparedImage(entries, data, None)
    mask = None
    if image.mode in ("RGBA", "LA", "P", "PA", "I", "I;16", "CMYK"):
        image = image.convert("RGBA")
        alpha = image.getchannel("A")
        if alpha.getextrema() != (255, 255):
            mask = (
                _image_entries(alpha.size, "DeviceGray", 8, "FlateDecode"),
                zlib.compress(alpha.tobytes()),
            )
        image = image.convert("RGB")
    colours, bits = _COLOURS[image.mode]
    entries = _image_entries(image.size, colours, bits, "FlateDecode")
    return PreparedImage(entries, zlib.compress(image.tobytes()), mask)


def _image_entries(size: tuple[int, int], colours: str, bits: int, filt: str) -> dict[str, object]:
    return {
        "Type": Name("XObject"),
        "Subtype": Name("Image"),
        "Width": size[0],
        "Height": size[1],
        "ColorSpace": Name(colours),
        "BitsPerComponent": bits,
        "Filter": Name(filt),
    }


def embed_image(writer: Writer, prepared: PreparedImage) -> Ref:
    """Write a prepared image (and its soft mask) into the document."""
    entries = dict(prepared.entries)
    if prepared.mask is not None:
        entries["SMask"] = writer.add(Stream(dict(prepared.mask[0]), prepared.mask[1]))
    return writer.add(Stream(entries, prepared.data))
