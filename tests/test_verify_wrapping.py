"""PDF signature wrapping by a second ``/ByteRange``: a duplicated signature dictionary is
never authentic.

Each forgery starts from our own signed certificate (no fixture files): a second
``/ByteRange`` key written into the signature dictionary (in the unsigned gap its
``/Contents`` leaves), the dictionary declared again by an appended revision, and copies of
it that a second signature field leads to or that nothing leads to. A reader that takes
the first (or the last) ``/ByteRange`` it meets would check other bytes than the signer
signed; the verifier must not call any of these files authentic.
"""

from __future__ import annotations

import io
import re

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from verify.api import verify_bytes
from verify.report import Verdict
from verify.trust import TrustList

from .conftest import AT, Sealed


def _in_the_gap(pdf: bytes, key: bytes) -> bytes:
    """``key`` (a second ``/ByteRange``) written after ``/Contents``, in the gap the
    signature leaves unsigned (its zero padding shortened, every offset kept)."""
    ranges = re.search(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\s*\]", pdf)
    assert ranges
    start, end = int(ranges[2]), int(ranges[3])
    gap = pdf[start:end]
    assert gap.startswith(b"<") and gap.endswith(b">")
    value = gap[1:-1].rstrip(b"0")
    value += b"0" * (len(value) % 2)
    new = b"<" + value + b">" + key
    assert len(new) <= len(gap)
    return pdf[:start] + new.ljust(len(gap)) + pdf[end:]


def _appended(pdf: bytes, objects: dict[int, bytes]) -> bytes:
    """``pdf`` with a revision appended that declares ``objects`` (number → dictionary),
    by a classic cross-reference section."""
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    out += b"trailer\n<</Size %d /Root %s /Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (
        max(size, max(offsets) + 1),
        root,
        previous,
        xref,
    )
    return bytes(out)


def _signature_object(pdf: bytes) -> tuple[int, bytes]:
    """The number and the dictionary of the (only) signature dictionary of ``pdf``."""
    found = re.search(rb"\n(\d+) 0 obj\n(<</Type /Sig.*?)\nendobj", pdf, re.S)
    assert found
    return int(found[1]), found[2]


def _second_field(pdf: bytes, *, copy: bool) -> bytes:
    """A revision adding a second signature field (and widget) whose value is a copy of the
    signature dictionary, or the very same one."""
    reader = PdfFileReader(io.BytesIO(pdf))
    (embedded,) = reader.embedded_signatures
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    value = embedded.sig_field.raw_get("/V")
    if copy:
        value = writer.add_object(
            generic.DictionaryObject(
                {generic.NameObject(k): v for k, v in embedded.sig_object.items()}
            )
        )
    page_ref = writer.root["/Pages"].raw_get("/Kids")[0]
    field = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/FT"): generic.NameObject("/Sig"),
                generic.NameObject("/T"): generic.TextStringObject("Second"),
                generic.NameObject("/V"): value,
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
                generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
                generic.NameObject("/P"): page_ref,
            }
        )
    )
    form = writer.root["/AcroForm"]
    form["/Fields"].append(field)
    writer.update_container(form)
    page = page_ref.get_object()
    page.setdefault(generic.NameObject("/Annots"), generic.ArrayObject()).append(field)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_WRAPPINGS = (
    "a second /ByteRange in the dictionary, the same",
    "a second /ByteRange in the dictionary, [0 1 2 3]",
    "a second /ByteRange in the dictionary, over the gap too",
    "the dictionary declared again by a later revision, another /ByteRange",
    "the dictionary declared again by a later revision, unchanged",
    "a second signature field leading to a copy of the dictionary",
    "a second signature field leading to the same dictionary",
    "a copy of the dictionary that nothing leads to, appended",
)


def _wrapped(pdf: bytes) -> dict[str, bytes]:
    ranges = re.search(rb"/ByteRange (\[(\d+) (\d+) (\d+) (\d+)\s*\])", pdf)
    assert ranges
    length = int(ranges[3]) + int(ranges[5])
    number, dictionary = _signature_object(pdf)
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    moved = dictionary.replace(ranges[1], b"[0 1 2 3]".ljust(len(ranges[1])))
    forged = {
        _WRAPPINGS[0]: _in_the_gap(pdf, b"/ByteRange " + ranges[1]),
        _WRAPPINGS[1]: _in_the_gap(pdf, b"/ByteRange [0 1 2 3]"),
        _WRAPPINGS[2]: _in_the_gap(pdf, b"/ByteRange [0 %d 0 0]" % length),
        _WRAPPINGS[3]: _appended(pdf, {number: moved}),
        _WRAPPINGS[4]: _appended(pdf, {number: dictionary}),
        _WRAPPINGS[5]: _second_field(pdf, copy=True),
        _WRAPPINGS[6]: _second_field(pdf, copy=False),
        _WRAPPINGS[7]: _appended(pdf, {size: dictionary}),
    }
    assert tuple(forged) == _WRAPPINGS
    for name, data in forged.items():  # two, but where two fields share one dictionary
        assert data.count(b"/ByteRange") == (1 if name == _WRAPPINGS[6] else 2), name
    return forged


@pytest.mark.parametrize("wrapping", _WRAPPINGS)
def test_a_second_byte_range_is_never_authentic(sealed: dict[str, Sealed], wrapping: str) -> None:
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    pdf = item.pdf_path.read_bytes()
    assert verify_bytes(pdf, "signed.pdf", trust, AT).verdict is Verdict.AUTHENTIC
    data = _wrapped(pdf)[wrapping]
    report = verify_bytes(data, "wrapped.pdf", trust, AT)
    assert report.verdict in (Verdict.NOT_AUTHENTIC, Verdict.CANNOT_VERIFY), report.to_text()
    assert report.unreadable or "signature" in report.failed_steps, report.to_text()
