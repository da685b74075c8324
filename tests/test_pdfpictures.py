"""Pictures read from a PDF without rendering (verify.pdfpictures): the forms a QR is
embedded in decode to the picture that was embedded; every other form, and a picture too
large or damaged, is left to rendering."""

from __future__ import annotations

import io
import zlib
from typing import Any

import pytest
from PIL import Image, ImageChops
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from docgen.kinds import load_kind
from docgen.layout import build_layout
from docgen.pdf import render_pdf
from docgen.qr import qr_png
from docgen.samples import sample_record
from docgen.validation import validate_record
from verify.pdfpictures import MAX_PICTURES, _picture, qr_pictures
from verify.qrscan import MAX_IMAGE_BYTES, scan_pictures

from .conftest import AT, Sealed

N = generic.NameObject
TEXT = "EC1:A QR CODE READ FROM ITS PICTURE"


def _image_stream(picture: Image.Image, data: bytes, **extra: Any) -> generic.StreamObject:
    gray = picture.mode in ("1", "L")
    entries: dict[str, Any] = {
        "/Type": N("/XObject"),
        "/Subtype": N("/Image"),
        "/Width": generic.NumberObject(picture.width),
        "/Height": generic.NumberObject(picture.height),
        "/ColorSpace": N("/DeviceGray" if gray else "/DeviceRGB"),
        "/BitsPerComponent": generic.NumberObject(1 if picture.mode == "1" else 8),
        "/Filter": N("/FlateDecode"),
    }
    entries.update(extra)
    return generic.StreamObject({N(k): v for k, v in entries.items()}, encoded_data=data)


def _png_form(picture: Image.Image) -> generic.StreamObject:
    """The picture as docgen.pdf.resources embeds a PNG: its IDAT data with predictors."""
    out = io.BytesIO()
    picture.save(out, "PNG")
    png = out.getvalue()
    idat, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        if png[at + 4 : at + 8] == b"IDAT":
            idat += png[at + 8 : at + 8 + length]
        at += 12 + length
    parms = generic.DictionaryObject(
        {
            N("/Predictor"): generic.NumberObject(15),
            N("/Colors"): generic.NumberObject(1 if picture.mode in ("1", "L") else 3),
            N("/BitsPerComponent"): generic.NumberObject(1 if picture.mode == "1" else 8),
            N("/Columns"): generic.NumberObject(picture.width),
        }
    )
    return _image_stream(picture, idat, **{"/DecodeParms": parms})


def _raw_form(picture: Image.Image) -> generic.StreamObject:
    return _image_stream(picture, zlib.compress(picture.tobytes()))


def _same(a: Image.Image | None, b: Image.Image) -> bool:
    return (
        a is not None
        and a.size == b.size
        and not ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox()
    )


QR = Image.open(io.BytesIO(qr_png(TEXT)))
PICTURES = {
    "1-bit": QR.convert("1"),
    "grey": QR.convert("L"),
    "rgb": QR.convert("RGB"),
}


@pytest.mark.parametrize("mode", sorted(PICTURES))
@pytest.mark.parametrize("form", [_png_form, _raw_form], ids=["png-predictors", "raw"])
def test_a_qr_picture_decodes_to_what_was_embedded(mode: str, form: Any) -> None:
    picture = PICTURES[mode]
    decoded = _picture(form(picture), MAX_IMAGE_BYTES)
    assert _same(decoded, picture)
    scan = scan_pictures([decoded] if decoded else [])
    assert scan is not None and scan.texts == (TEXT,)


def _refused() -> dict[str, generic.StreamObject]:
    qr = PICTURES["1-bit"]
    png = _png_form(qr)
    parms = png["/DecodeParms"]
    wrong_columns = generic.DictionaryObject(dict(parms))
    wrong_columns[N("/Columns")] = generic.NumberObject(qr.width + 1)
    tiff = generic.DictionaryObject(dict(parms))
    tiff[N("/Predictor")] = generic.NumberObject(2)
    decode = generic.ArrayObject([generic.NumberObject(1), generic.NumberObject(0)])
    return {
        "soft mask": _image_stream(qr, png.encoded_data, **{"/SMask": generic.NullObject()}),
        "decode array": _image_stream(qr, png.encoded_data, **{"/Decode": decode}),
        "image mask": _image_stream(
            qr, zlib.compress(qr.tobytes()), **{"/ImageMask": generic.BooleanObject(True)}
        ),
        "JPEG": _image_stream(PICTURES["grey"], b"\xff\xd8", **{"/Filter": N("/DCTDecode")}),
        "other colour space": _image_stream(qr, b"", **{"/ColorSpace": N("/DeviceCMYK")}),
        "columns that are not the width": _image_stream(
            qr, png.encoded_data, **{"/DecodeParms": wrong_columns}
        ),
        "TIFF predictor": _image_stream(qr, png.encoded_data, **{"/DecodeParms": tiff}),
        "cut short": _image_stream(
            qr, png.encoded_data[:100], **{"/DecodeParms": png["/DecodeParms"]}
        ),
        "raw, cut short": _image_stream(qr, zlib.compress(qr.tobytes())[:50]),
        "not zlib": _image_stream(qr, b"not zlib at all"),
        # complete, and within MAX_IMAGE_BYTES, but more pixels than are ever read
        "more pixels than the bound": _image_stream(
            Image.new("L", (1, 1)),
            zlib.compress(bytes(8000 * 6000), 1),
            **{"/Width": generic.NumberObject(8000), "/Height": generic.NumberObject(6000)},
        ),
    }


@pytest.mark.parametrize("case", sorted(_refused()))
def test_other_forms_and_damaged_pictures_are_left_to_rendering(case: str) -> None:
    assert _picture(_refused()[case], MAX_IMAGE_BYTES) is None


def test_a_picture_over_the_memory_left_is_not_decoded() -> None:
    qr = PICTURES["rgb"]
    assert _picture(_raw_form(qr), qr.width * qr.height * 4) is not None
    assert _picture(_raw_form(qr), qr.width * qr.height * 4 - 1) is None


def _pages(pdf: bytes) -> list[Any]:
    """The page dictionaries of one of our PDFs (a flat page tree)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return [kid.get_object() for kid in reader.root["/Pages"]["/Kids"]]


def test_our_pdf_gives_its_qr_picture_and_no_other(sealed: dict[str, Sealed]) -> None:
    data = sealed["skill"].pdf_path.read_bytes()
    pictures = qr_pictures(_pages(data))
    # the photo (JPEG) and the seal picture (soft mask) are not of the QR form
    assert [p.mode for p in pictures] == ["1"]
    scan = scan_pictures(pictures, every=True)
    assert scan is not None and scan.found and scan.texts[0].startswith("EC1:")


def test_at_most_max_pictures_are_decoded() -> None:
    cert = validate_record(load_kind("skill"), sample_record("skill"), AT)
    writer = IncrementalPdfFileWriter(io.BytesIO(render_pdf(build_layout(cert))))
    qr = PICTURES["1-bit"]
    names = {N(f"/Extra{n}"): writer.add_object(_raw_form(qr)) for n in range(MAX_PICTURES + 4)}
    drawn = b" ".join(b"q 10 0 0 10 0 0 cm %s Do Q" % name.encode() for name in names)
    writer.add_stream_to_page(
        0,
        writer.add_object(generic.StreamObject(stream_data=drawn)),
        resources=generic.DictionaryObject({N("/XObject"): generic.DictionaryObject(names)}),
    )
    out = io.BytesIO()
    writer.write(out)
    pictures = qr_pictures(_pages(out.getvalue()))
    assert len(pictures) == MAX_PICTURES
