"""The QR pictures a PDF draws, read from the file instead of rendered.

A QR code is embedded as a one-colour picture: docgen.pdf.resources copies the QR's PNG
data into a ``FlateDecode`` image XObject with PNG predictors. Pictures of that form (grey
or RGB, 1 or 8 bits, Flate with or without PNG predictors, nothing masking or remapping
them), on the pages or in the form XObjects and annotation appearances they draw, are
decoded here by Pillow, the predictor form as the PNG it came from. Any other picture (a
JPEG photograph, a soft-masked seal picture) and a QR drawn as vector modules (an annotated
copy's band) are left to rendering.

verify.pdf reads these only from a file whose every byte a trusted signature covers: there
they are what the issuer drew. Every other file is rendered, and read as a person sees it.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from PIL import Image
from pyhanko.pdf_utils.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
)

from .qrscan import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS

__all__ = ["MAX_PICTURES", "qr_pictures"]

#: Pictures decoded from a file (our certificates carry one QR picture, an annotated copy
#: two); each is bounded by its declared size, and all together by MAX_IMAGE_BYTES.
MAX_PICTURES = 16
#: How deep form XObjects (an annotation's appearance, a page imported into it, ...) are
#: followed from a page, and how many pages are looked at.
_MAX_DEPTH = 4
_MAX_PAGES = 8
_MAX_XOBJECTS = 256  # XObjects looked at in all
_SPACES = {"/DeviceGray": ("L", 1, 0), "/DeviceRGB": ("RGB", 3, 2)}  # mode, colours, PNG type
_PNG = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bytes(width: int, height: int, colours: int) -> int:
    """The memory Pillow takes for a picture: a byte a grey pixel, four a colour one."""
    return width * height * (1 if colours == 1 else 4)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _picture(stream: StreamObject, budget: int) -> Image.Image | None:
    """The picture an image XObject holds, when it is of the QR form and takes at most
    ``budget`` bytes decoded; else None."""
    if any(key in stream for key in ("/ImageMask", "/SMask", "/Mask", "/Decode")):
        return None
    if stream.get("/Filter") not in ("/FlateDecode", ArrayObject([NameObject("/FlateDecode")])):
        return None
    space = _SPACES.get(str(stream.get("/ColorSpace")))
    width, height = _int(stream.get("/Width")), _int(stream.get("/Height"))
    bits = _int(stream.get("/BitsPerComponent"))
    if space is None or width is None or height is None or bits not in (1, 8):
        return None
    mode, colours, png_type = space
    if bits == 1 and colours != 1:
        return None
    if not 0 < width * height <= MAX_IMAGE_PIXELS or _bytes(width, height, colours) > budget:
        return None
    parms = stream.get("/DecodeParms")
    if isinstance(parms, ArrayObject) and len(parms) == 1:
        parms = parms[0]
    parms = parms.get_object() if isinstance(parms, IndirectObject) else parms
    predictor = _int(parms.get("/Predictor", 1)) if isinstance(parms, DictionaryObject) else 1
    data = stream.encoded_data
    try:
        if predictor is not None and predictor >= 10:  # PNG rows: the PNG it came from
            assert isinstance(parms, DictionaryObject)
            if (
                _int(parms.get("/Colors", 1)) != colours
                or _int(parms.get("/BitsPerComponent", 8)) != bits
                or _int(parms.get("/Columns", 1)) != width
            ):
                return None
            header = struct.pack(">IIBBBBB", width, height, bits, png_type, 0, 0, 0)
            png = _PNG + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
            picture = Image.open(io.BytesIO(png))
            picture.load()
            return picture
        if predictor != 1:
            return None
        row = (width * colours * bits + 7) // 8
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, row * height)
        if len(raw) < row * height:
            return None
        return Image.frombytes("1" if bits == 1 else mode, (width, height), raw)
    except (OSError, ValueError, SyntaxError, zlib.error):
        return None  # damaged: rendering judges it


def _xobjects(holder: Any) -> Iterator[StreamObject]:
    """The XObjects of ``holder``'s /Resources (a page or a form XObject)."""
    resources = holder.get("/Resources")
    resources = resources.get_object() if resources is not None else None
    if not isinstance(resources, DictionaryObject):
        return
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else None
    if isinstance(xobjects, DictionaryObject):
        for value in xobjects.values():
            value = value.get_object()
            if isinstance(value, StreamObject):
                yield value


def _appearances(page: DictionaryObject) -> Iterator[StreamObject]:
    """The normal appearances of a page's annotations (a stamp's, a signature's)."""
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else None
    if not isinstance(annots, ArrayObject):
        return
    for annot in annots:
        annot = annot.get_object()
        if not isinstance(annot, DictionaryObject):
            continue
        appearance = annot.get("/AP")
        appearance = appearance.get_object() if appearance is not None else None
        normal = appearance.get("/N") if isinstance(appearance, DictionaryObject) else None
        normal = normal.get_object() if normal is not None else None
        if isinstance(normal, StreamObject):
            yield normal


def qr_pictures(pages: Sequence[Any]) -> list[Image.Image]:
    """The pictures of QR form the first :data:`_MAX_PAGES` of ``pages`` (page dictionaries,
    in order) draw, directly or in their annotations' appearances and the form XObjects
    these use; at most :data:`MAX_PICTURES`, of :data:`~verify.qrscan.MAX_IMAGE_BYTES`
    decoded in all."""
    pictures: list[Image.Image] = []
    seen: set[int] = set()
    held = 0
    for page in pages[:_MAX_PAGES]:
        todo: list[tuple[Any, int]] = [(page, 0)] + [(a, 1) for a in _appearances(page)]
        while todo and len(pictures) < MAX_PICTURES:
            holder, depth = todo.pop(0)
            for xobject in _xobjects(holder):
                if id(xobject) in seen or len(seen) >= _MAX_XOBJECTS:
                    continue
                seen.add(id(xobject))
                if xobject.get("/Subtype") == "/Form":
                    if depth < _MAX_DEPTH:
                        todo.append((xobject, depth + 1))
                    continue
                if xobject.get("/Subtype") != "/Image":
                    continue
                picture = _picture(xobject, MAX_IMAGE_BYTES - held)
                if picture is not None:
                    held += _bytes(picture.width, picture.height, len(picture.getbands()))
                    pictures.append(picture)
                    if len(pictures) == MAX_PICTURES:
                        return pictures
    return pictures
