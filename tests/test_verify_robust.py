"""Hostile input: damaged files never raise out of the verifier and are never authentic
when a signed byte changed."""

from __future__ import annotations

import io
import json
import random
import re
import signal
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from docgen.ofd import read_package
from docgen.ses.reader import parse_seal_signature
from verify.api import verify_bytes, verify_qr_text
from verify.report import Report, Verdict
from verify.trust import TrustList

from .conftest import AT, Sealed

FLIPS = 40


def signed_content_changed(which: str, original: bytes, damaged: bytes, position: int) -> bool:
    """Whether the flip touched what the signatures protect.

    OFD signatures protect the parts' contents, not the ZIP container (a flip in the central
    directory's timestamps leaves the document intact); a PDF signature protects its
    /ByteRange, everything but the signature value itself."""
    if which == "ofd":
        try:
            return read_package(damaged) != read_package(original)
        except ValueError:
            return True
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", original)
    assert match
    a, b, c, d = (int(v) for v in match.groups())
    return a <= position < a + b or c <= position < c + d


@pytest.mark.parametrize("which", ["ofd", "pdf"])
def test_random_byte_flips_in_signed_content_are_never_authentic(
    sealed: dict[str, Sealed], which: str
) -> None:
    item = sealed["skill"]
    original = (item.ofd_path if which == "ofd" else item.pdf_path).read_bytes()
    trust = TrustList.load([item.store.folder / "trust.json"])
    assert verify_bytes(original, which, trust, AT).verdict is Verdict.AUTHENTIC
    rng = random.Random(20261123)
    touched = 0
    for _ in range(FLIPS):
        data = bytearray(original)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        report = verify_bytes(bytes(data), which, trust, AT)  # never raises
        if not signed_content_changed(which, original, bytes(data), position):
            continue
        touched += 1
        assert report.verdict is not Verdict.AUTHENTIC, (position, report.to_text())
        if report.verdict is Verdict.CANNOT_VERIFY:
            # a damaged ZIP (CRC of a part, a broken directory) is unreadable, and says why
            assert which == "ofd" and "damaged" in str(report.unreadable), report.to_text()
        else:
            assert report.failed_steps, report.to_text()
    assert touched > FLIPS // 2  # the flips did exercise the signed content


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_files_are_reported_not_raised(sealed: dict[str, Sealed], cut: float) -> None:
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    for path in (item.ofd_path, item.pdf_path):
        data = path.read_bytes()
        report = verify_bytes(data[: int(len(data) * cut)], path.name, trust, AT)
        assert report.verdict is not Verdict.AUTHENTIC
        assert report.to_text()


def test_an_internal_error_is_a_named_cannot_verify(
    monkeypatch: pytest.MonkeyPatch, sealed: dict[str, Sealed]
) -> None:
    import verify.pdf

    def broken(*args: object) -> None:
        raise KeyError("defect")

    monkeypatch.setattr(verify.pdf, "check_pdf", broken)
    report = verify_bytes(sealed["skill"].pdf_path.read_bytes(), "x.pdf", TrustList(), AT)
    assert report.verdict is Verdict.CANNOT_VERIFY and report.exit_code == 2
    assert "internal error while checking (KeyError" in str(report.unreadable)


# -- packages that try to leave their bounds ------------------------------------------------


def _with_entry(ofd: bytes, name: str, data: bytes = b"x", level: int = 6) -> bytes:
    """A copy of the package ``ofd`` with one more entry (the signed ones untouched)."""
    out = io.BytesIO(ofd)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=level) as package:
        package.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


@pytest.mark.parametrize(
    "name", ["../../../../tmp/x.txt", "Doc_0/../../x.txt", "/etc/x.txt", "C:/x.txt", "a\\..\\x"]
)
def test_an_entry_name_that_leaves_the_package_is_refused(
    sealed: dict[str, Sealed], name: str
) -> None:
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(_with_entry(item.ofd_path.read_bytes(), name), "x.ofd", trust, AT)
    assert report.verdict is Verdict.CANNOT_VERIFY, report.to_text()
    assert f"entry name {name!r} leaves the package" in str(report.unreadable)


def test_a_zip_bomb_entry_is_refused_unread(
    sealed: dict[str, Sealed], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sealed certificate with a 2 GiB zero-filled entry (10 MB packed) beside its signed
    parts: refused from the central directory; not one entry is inflated."""
    item = sealed["skill"]
    out = io.BytesIO(item.ofd_path.read_bytes())
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as package,
        package.open("Doc_0/Res/zeros.bin", "w", force_zip64=True) as entry,
    ):
        chunk = bytes(1 << 24)
        for _ in range(128):
            entry.write(chunk)
    data = out.getvalue()
    assert len(data) < 16 * 1024 * 1024

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry of the bomb's package was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(data, "bomb.ofd", trust, AT)
    assert report.verdict is Verdict.CANNOT_VERIFY, report.to_text()
    assert "Doc_0/Res/zeros.bin says it unpacks to 2048 MB" in str(report.unreadable)


def test_an_entry_holding_more_than_it_declares_is_damaged(sealed: dict[str, Sealed]) -> None:
    """The central directory understates an entry's size: the reader stops at the declared
    size and the package is refused as damaged (never read past what it declares)."""
    original = sealed["skill"].ofd_path.read_bytes()
    data = bytearray(_with_entry(original, "Doc_0/extra.xml", b"<a/>" * 1000))
    directory = data.rindex(b"PK\x01\x02")  # the last entry's central directory record
    data[directory + 24 : directory + 28] = (10).to_bytes(4, "little")  # uncompressed size
    with pytest.raises(ValueError, match=r"damaged|declares"):
        read_package(bytes(data))
    report = verify_bytes(bytes(data), "x.ofd", TrustList(), AT)
    assert report.verdict is Verdict.CANNOT_VERIFY, report.to_text()


def test_an_extra_entry_no_signature_covers_is_named(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    data = _with_entry(item.ofd_path.read_bytes(), "Doc_0/Pages/Page_0/Content_1.xml", b"<a/>")
    report = verify_bytes(data, "x.ofd", trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert "covered by no valid signature: Doc_0/Pages/Page_0/Content_1.xml" in report.to_text()


# -- PDF signature forgeries (universal signature forgery and wrapping variants) ------------


_FORGERIES = (
    "contents zeroed",
    "contents empty",
    "contents cut",
    "byte range [0 1 2 3]",
    "byte range malformed",
    "byte range missing",
    "byte range short of the file's end",
    "byte range moved",
)


def _pdf_forgeries(pdf: bytes) -> dict[str, bytes]:
    """Our signed PDF with its signature dictionary forged, each edit keeping every byte
    offset (so the file still parses and the cross-reference table still fits)."""
    ranges = re.search(rb"/ByteRange (\[[^\]]*\])", pdf)
    contents = re.search(rb"/Contents (<[0-9A-F]+>)", pdf)
    assert ranges and contents
    a, b, c, d = (int(v) for v in ranges.group(1)[1:-1].split())

    def put(match: re.Match[bytes], new: bytes) -> bytes:
        old = match.group(1)
        assert len(new) <= len(old)
        return pdf[: match.start(1)] + new.ljust(len(old)) + pdf[match.end(1) :]

    hexed = contents.group(1)
    forged = {
        "contents zeroed": put(contents, b"<" + b"0" * (len(hexed) - 2) + b">"),
        "contents empty": put(contents, b"<>"),
        "contents cut": put(contents, hexed[: len(hexed) // 2] + b">"),
        "byte range [0 1 2 3]": put(ranges, b"[0 1 2 3]"),
        "byte range malformed": put(ranges, b"[0 x]"),
        "byte range missing": pdf.replace(b"/ByteRange [", b"/ByteRangX [", 1),
        "byte range short of the file's end": put(ranges, b"[%d %d %d %d]" % (a, b, c, d - 10)),
        "byte range moved": put(ranges, b"[%d %d %d %d]" % (a, b - 20, c - 20, d + 20)),
    }
    assert tuple(forged) == _FORGERIES
    return forged


@pytest.mark.parametrize("forgery", _FORGERIES)
def test_a_forged_pdf_signature_dictionary_is_never_authentic(
    sealed: dict[str, Sealed], forgery: str
) -> None:
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    data = _pdf_forgeries(item.pdf_path.read_bytes())[forgery]
    report = verify_bytes(data, "forged.pdf", trust, AT)
    assert report.verdict in (Verdict.NOT_AUTHENTIC, Verdict.CANNOT_VERIFY), report.to_text()
    assert report.unreadable or "signature" in report.failed_steps, report.to_text()


# -- XML parts with entities -----------------------------------------------------------------


def test_an_external_entity_in_an_ofd_part_is_never_fetched(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    """A DOCTYPE put into OFD.xml whose entity, a local file, is the holder's name (which
    the report quotes when it differs from the QR's): the parser resolves no entity and
    fetches nothing, so the file never reaches the report (it does with a resolving parser)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-4711")
    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    head, _, body = parts["OFD.xml"].partition(b"?>")
    doctype = f'<!DOCTYPE ofd:OFD [<!ENTITY e SYSTEM "file://{secret}">]>'.encode()
    holder = '<ofd:CustomData Name="持证主体">'.encode()
    parts["OFD.xml"] = head + b"?>" + doctype + re.sub(holder + rb"[^<]*<", holder + b"&e;<", body)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(_zipped(parts), "entities.ofd", trust, AT)
    text = json.dumps(report.to_dict(), ensure_ascii=False) + report.to_text()
    assert "TOP-SECRET-4711" not in text
    assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


def test_a_page_too_large_to_render_is_named_not_rendered(sealed: dict[str, Sealed]) -> None:
    """A 2.1 m square page (278 megapixels at the rendering resolution): poppler would
    allocate most of a gigabyte and Pillow refuse the picture as a bomb; the page is named
    instead, and nothing is rendered but the small region where the kind prints its QR."""
    pdf = sealed["skill"].pdf_path.read_bytes()
    box = re.search(rb"/MediaBox \[[^\]]*\]", pdf)
    assert box
    large = pdf[: box.start()] + b"/MediaBox [0 0 6000 6000]".ljust(len(box[0])) + pdf[box.end() :]
    trust = TrustList.load([sealed["skill"].store.folder / "trust.json"])
    report = verify_bytes(large, "large.pdf", trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()  # the page box is signed
    assert not report.unreadable, report.to_text()
    named = [c.detail for c in report.checks if c.name == "pdf.page_size"]
    assert named == [
        "page 1 is 2117 × 2117 mm: too large to render for a QR (at most 25 megapixels at 200 dpi)"
    ], report.to_text()


# -- OFD signature parts moved, copied or pointed elsewhere ----------------------------------


def _zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return out.getvalue()


_SIGN = "Doc_0/Signs/Sign_0/"


def test_ofd_signature_parts_moved_copied_or_pointed_away_are_never_authentic(
    sealed: dict[str, Sealed],
) -> None:
    """Another certificate's Signature.xml and SignedValue.dat; the stamp moved to another
    page; Signatures.xml pointing out of the package: never authentic, the failing check
    named."""
    item, other = sealed["skill"], sealed["rescuer"]
    trust = TrustList.load([item.store.folder / "trust.json", other.store.folder / "trust.json"])
    parts = read_package(item.ofd_path.read_bytes())
    theirs = read_package(other.ofd_path.read_bytes())
    copied = {
        **parts,
        **{n: theirs[n] for n in (_SIGN + "Signature.xml", _SIGN + "SignedValue.dat")},
    }
    signature_xml = parts[_SIGN + "Signature.xml"]
    moved = {
        **parts,
        _SIGN + "Signature.xml": re.sub(rb'PageRef="\d+"', b'PageRef="999"', signature_xml),
    }
    listing = parts["Doc_0/Signs/Signatures.xml"]
    outside = {
        **parts,
        "Doc_0/Signs/Signatures.xml": listing.replace(
            b'BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"', b'BaseLoc="../../../etc/passwd"'
        ),
    }
    assert moved[_SIGN + "Signature.xml"] != signature_xml and outside != parts
    for name, forged in (("copied", copied), ("moved", moved), ("outside", outside)):
        report = verify_bytes(_zipped(forged), f"{name}.ofd", trust, AT)
        assert report.verdict is Verdict.NOT_AUTHENTIC, (name, report.to_text())
        assert "signature" in report.failed_steps, (name, report.to_text())


# -- inputs bench/fuzz.py found raising inside the verifier ---------------------------------


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_fuzzed_images_get_a_reason_not_an_internal_error() -> None:
    """A broken PNG (Pillow raises SyntaxError), a 69-byte PNG declaring 400 megapixels
    (DecompressionBombError from open()) and one declaring 144 (decoded, it took the
    verifier past its memory bound)."""
    good = _png(64, 64, zlib.compress(bytes(65 * 64)))
    cases = {
        "broken": (good.replace(b"IDAT", b"\xadZ\xb5v", 1), "not a readable image"),
        "400 Mpx": (_png(20_000, 20_000, zlib.compress(bytes(100))), "too large to read"),
        "144 Mpx": (_png(12_000, 12_000, zlib.compress(bytes(100))), "12000×12000 px: too large"),
    }
    for name, (data, reason) in cases.items():
        report = verify_bytes(data, f"{name}.png", TrustList(), AT)
        assert report.verdict is Verdict.CANNOT_VERIFY, (name, report.to_text())
        assert reason in str(report.unreadable), (name, report.unreadable)
        assert "internal error" not in str(report.unreadable), name


def test_a_cose_part_of_the_wrong_type_is_named(sealed: dict[str, Sealed]) -> None:
    """A COSE_Sign1 whose signature is an integer (cwt raised TypeError on it)."""
    import cbor2

    from docgen.qrpayload import pack, unpack
    from docgen.signing.qr import claims_for, sign_claims

    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    text = sign_claims(claims_for(item.rendered.certificate), item.store.signer("ecdsa"))
    header, unprotected, payload, _ = cbor2.loads(unpack(text)).value
    forged = pack(cbor2.dumps(cbor2.CBORTag(18, [header, unprotected, payload, 5])))
    report = verify_qr_text(forged, trust, AT)
    assert report.verdict is not Verdict.AUTHENTIC
    assert "a part of the wrong type" in report.to_text(), report.to_text()
    assert "internal error" not in report.to_text()


def test_an_ofd_entry_in_a_damaged_lzma_or_bzip2_stream_is_damaged(
    sealed: dict[str, Sealed],
) -> None:
    parts = read_package(sealed["skill"].ofd_path.read_bytes())
    for method in (zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", method) as package:
            for name, data in parts.items():
                package.writestr(name, data)
        damaged = bytearray(out.getvalue())
        start = damaged.index(b"PK\x03\x04") + 30 + len("OFD.xml")  # OFD.xml's stream
        damaged[start + 8 : start + 40] = bytes(32)
        with pytest.raises(ValueError, match="damaged"):
            read_package(bytes(damaged))


# -- OFD signature parts that are not what they say (bench/fuzz.py, second round) ------------

_SIGNATURES = "Doc_0/Signs/Signatures.xml"


def _verified(item: Sealed, parts: dict[str, bytes], name: str = "x.ofd") -> Report:
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(_zipped(parts), name, trust, AT)
    assert "internal error" not in report.to_text(), report.to_text()
    return report


@pytest.mark.parametrize(
    ("part", "content", "reason"),
    [
        (_SIGNATURES, b"", "Signatures.xml is not readable XML (Document is empty"),
        (_SIGNATURES, b"<?xml version='1.0'?>", "Signatures.xml is not readable XML"),
        (_SIGN + "Signature.xml", b"", "Signature.xml is not readable XML"),
        (_SIGN + "Signature.xml", b"\xff\xfe<<", "Signature.xml is not readable XML"),
    ],
)
def test_an_empty_or_broken_signature_list_or_signature_is_named(
    sealed: dict[str, Sealed], part: str, content: bytes, reason: str
) -> None:
    """ValueError ('not XML') and XMLSyntaxError escaped the signature step."""
    item = sealed["skill"]
    parts = {**read_package(item.ofd_path.read_bytes()), part: content}
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert reason in report.to_text(), report.to_text()


def test_a_check_value_that_is_not_base64_is_a_wrong_digest(sealed: dict[str, Sealed]) -> None:
    """A CheckValue of 85 base64 characters (binascii.Error escaped the digest check)."""
    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    signature = parts[_SIGN + "Signature.xml"]
    parts[_SIGN + "Signature.xml"] = re.sub(
        rb"<ofd:CheckValue>[^<]*<", b"<ofd:CheckValue>" + b"A" * 85 + b"<", signature, count=1
    )
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert "1 digest(s) wrong" in report.to_text(), report.to_text()


def test_a_list_of_too_many_signatures_is_refused_unchecked(sealed: dict[str, Sealed]) -> None:
    """Signatures.xml naming one signature a thousand times (the fuzzer's 20 000 took 79 s,
    each checked in turn): refused, the bound named."""
    from verify.ofd import MAX_SIGNATURES

    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    listing = parts[_SIGNATURES]
    entry = re.search(rb"<ofd:Signature [^>]*/>", listing)
    assert entry
    parts[_SIGNATURES] = listing.replace(entry[0], entry[0] * 1000)
    report = _verified(item, parts)
    assert report.verdict is Verdict.CANNOT_VERIFY, report.to_text()
    assert report.unreadable == (
        f"{_SIGNATURES} lists 1000 signatures; a verifier checks at most {MAX_SIGNATURES}: "
        "refused unchecked"
    )


def test_only_so_many_pictures_are_opened_for_the_qr(
    sealed: dict[str, Sealed], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine thousand truncated PNGs beside the signed parts (each was opened for the QR: 10 000
    took over 2 s): the first few are opened, the count is named, the rest are only
    digested (and not covered by the signature)."""
    import verify.ofd
    from verify.ofd import MAX_QR_PICTURES

    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    truncated = next(v for k, v in parts.items() if k.endswith(".png"))[:4096]
    parts.update({f"Doc_0/Res/m{n}.png": truncated for n in range(9000)})
    opened = []
    real_open = verify.ofd.Image.open

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(verify.ofd.Image, "open", counting)
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert len(opened) <= MAX_QR_PICTURES
    named = [c.detail for c in report.checks if c.name == "ofd.pictures"]
    assert named == [
        f"the package holds 9002 pictures: only the first {MAX_QR_PICTURES} are searched for "
        "a QR code"
    ], report.to_text()


# -- seal signatures (SES, DER) the reader raised on ------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    """A DER value: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def _fields(der: bytes) -> list[bytes]:
    """The DER of each field of a SEQUENCE."""
    from asn1crypto import core

    class Items(core.SequenceOf):
        _child_spec = core.Any

    return [item.dump() for item in Items.load(der)]


def _seal_signature_with(
    value: bytes, tbs: dict[int, bytes] | None = None, outer: dict[int, bytes] | None = None
) -> bytes:
    """A seal signature (SES_Signature) with some fields of it, or of its TBS_Sign, replaced."""
    fields = _fields(value)
    to_sign = _fields(fields[0])
    for n, new in (tbs or {}).items():
        to_sign[n] = new
    fields[0] = _tlv(0x30, b"".join(to_sign))
    for n, new in (outer or {}).items():
        fields[n] = new
    return _tlv(0x30, b"".join(fields))


def _deep(depth: int) -> bytes:
    der = b"\x05\x00"
    for _ in range(depth):
        der = _tlv(0x30, der)
    return der


_SES_CASES = {
    "version of 4 800 digits": (
        {0: _tlv(0x02, b"\x7f" + b"\xff" * 2000)},
        {},
        "version is not a number from 0 to 255",
    ),
    "signature an empty BIT STRING": ({}, {3: b"\x03\x00"}, "an empty BIT STRING"),
    "time nested 5 000 deep": ({2: _deep(5000)}, {}, "nested too deeply to read"),
}


@pytest.mark.parametrize("case", [*_SES_CASES, "seal's signature an empty BIT STRING"])
def test_malformed_seal_signature_der_is_named(sealed: dict[str, Sealed], case: str) -> None:
    """ValueError (a 4 300-digit INTEGER cannot be printed), IndexError (a BIT STRING without
    content) and RecursionError (deep nesting) escaped the seal checks."""
    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    value = parts[_SIGN + "SignedValue.dat"]
    if case in _SES_CASES:
        tbs, outer, reason = _SES_CASES[case]
        forged = _seal_signature_with(value, tbs, outer)
    else:  # inside the embedded seal (SESeal): its maker's signature
        seal = _fields(_fields(_fields(value)[0])[1])
        forged = _seal_signature_with(value, {1: _tlv(0x30, b"".join([*seal[:-1], b"\x03\x00"]))})
        reason = "the seal (SESeal) is unreadable"
    parts[_SIGN + "SignedValue.dat"] = forged
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert reason in report.to_text(), report.to_text()


_SMUGGLED = {
    "bytes after the SES_Signature": (b"", b"\x04\x05hello", "trailing data"),
    "a sixth field": (
        _tlv(0xA0, _tlv(0x03, b"\x00ts")) + _tlv(0x04, b"hello"),
        b"",
        "SES_Signature has 6 fields",
    ),
    "a fifth field that is no [0] timestamp": (
        _tlv(0x04, b"hello"),
        b"",
        "SES_Signature has 5 fields",
    ),
}


@pytest.mark.parametrize("case", sorted(_SMUGGLED))
def test_unsigned_data_beside_the_seal_signature_is_refused(
    sealed: dict[str, Sealed], case: str
) -> None:
    """Only toSign is signed: a field after the signature other than v4's [0] timestamp, or
    bytes after the SES_Signature, could carry anything past the signature unseen."""
    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    value = parts[_SIGN + "SignedValue.dat"]
    inside, after, reason = _SMUGGLED[case]
    parts[_SIGN + "SignedValue.dat"] = _tlv(0x30, b"".join(_fields(value)) + inside) + after
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert reason in report.to_text(), report.to_text()
    # v4's own optional field, a [0] timestamp, is read as before
    stamped = _tlv(0x30, b"".join(_fields(value)) + _tlv(0xA0, _tlv(0x03, b"\x00ts")))
    assert parse_seal_signature(stamped).signature == parse_seal_signature(value).signature


def test_a_cms_signer_certificate_of_an_invalid_version_is_named(
    sealed: dict[str, Sealed],
) -> None:
    """A CMS signature whose certificate says X.509 version 2 (cryptography raised
    InvalidVersion through the verifier)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7

    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    signer = item.store.signer("ecdsa")
    assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
    builder = pkcs7.PKCS7SignatureBuilder().set_data(parts[_SIGN + "Signature.xml"])
    builder = builder.add_signer(
        x509.load_der_x509_certificate(signer.certificate), signer.key, hashes.SHA256()
    )
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    cms = builder.sign(serialization.Encoding.DER, options)
    version_3 = b"\xa0\x03\x02\x01\x02"  # the certificate's [0] EXPLICIT version, v3
    assert version_3 in cms
    parts[_SIGN + "SignedValue.dat"] = cms.replace(version_3, b"\xa0\x03\x02\x01\x01", 1)
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert "the signer certificate cannot be read (1 is not a valid X509 version)" in (
        report.to_text()
    ), report.to_text()


# -- pictures whose decoding or scanning would pass the bounds --------------------------------


def test_a_jpeg_whose_frame_header_lies_about_its_size_is_refused_by_its_decoded_size() -> None:
    """A 1241 × 1754 JPEG whose SOF says 30 000 rows: 37 megapixels, under the pixel bound,
    but 148 MB decoded (Pillow holds RGB in 4 bytes a pixel); scanning it took the verifier
    past its 300 MB (MemoryError in the resizing)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1241, 1754), "white").save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    assert int.from_bytes(data[sof + 5 : sof + 7], "big") == 1754
    data[sof + 5 : sof + 7] = (30_000).to_bytes(2, "big")
    report = verify_bytes(bytes(data), "tall.jpg", TrustList(), AT)
    assert report.verdict is Verdict.CANNOT_VERIFY, report.to_text()
    assert report.unreadable == (
        "the image is 1241×30000 px of RGB: 148 MB decoded, too large to read (at most 100 MB)"
    )


def test_the_qr_scan_begins_no_step_after_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve attempts on a large picture without a QR took up to 2 s: no step is begun once
    SCAN_SECONDS have passed."""
    from PIL import Image

    import verify.qrscan
    from verify.qrscan import scan_image

    blank = Image.new("RGB", (600, 600), "white")
    assert scan_image(blank).attempts == 12
    monkeypatch.setattr(verify.qrscan, "SCAN_SECONDS", 0.0)
    assert scan_image(blank).attempts == 0


# -- PDF pages that would keep poppler busy ----------------------------------------------------


def _flate_bomb(megabytes: int) -> bytes:
    """A zlib stream of ``megabytes`` MB of spaces (made piece by piece)."""
    deflater, block = zlib.compressobj(9), b" " * 2**20
    return b"".join(deflater.compress(block) for _ in range(megabytes)) + deflater.flush()


def _page_1_drawing(pdf: bytes, bomb: bytes, as_form: bool) -> bytes:
    """``pdf`` with an incremental update whose page 1 draws ``bomb`` (a Flate stream): as
    its content stream, or as a form XObject its small content stream draws."""
    from pyhanko.pdf_utils.generic import (
        ArrayObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        StreamObject,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    def name(text: str) -> NameObject:
        return NameObject(text)

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"].raw_get("/Kids")[0].get_object()
    fields = {name("/Filter"): name("/FlateDecode")}
    if as_form:
        fields |= {name("/Type"): name("/XObject"), name("/Subtype"): name("/Form")}
        fields[name("/BBox")] = ArrayObject([NumberObject(v) for v in (0, 0, 100, 100)])
    stream = writer.add_object(StreamObject(DictionaryObject(fields), encoded_data=bomb))
    if as_form:
        resources = DictionaryObject(dict(page["/Resources"].items()))
        resources[name("/XObject")] = DictionaryObject({name("/Fm9"): stream})
        page[name("/Resources")] = resources
        stream = writer.add_object(StreamObject(stream_data=b"q /Fm9 Do Q"))
    page[name("/Contents")] = stream
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _poppler_checks(report: Report) -> dict[str, str]:
    return {
        c.name: c.detail
        for c in report.checks
        if c.name.startswith("pdf.") and c.step != "signature"
    }


def test_a_flate_bomb_as_page_content_is_named_and_never_given_to_poppler(
    sealed: dict[str, Sealed],
) -> None:
    """Page 1's content replaced by 64 MB of spaces (64 kB packed): pdftoppm and pdftotext
    worked on it until their 20 s were up. The content is counted first, by a bounded
    decompressor: the page is named, neither rendered nor read for its text."""
    item = sealed["skill"]
    data = _page_1_drawing(item.pdf_path.read_bytes(), _flate_bomb(64), as_form=False)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(data, "bomb.pdf", trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    checks = _poppler_checks(report)
    assert checks["pdf.page_content"] == (
        "page 1's content unpacks to more than 8 MB (with the pages before it): it is not "
        "rendered for a QR, nor read for text"
    ), report.to_text()
    assert checks["pdf.text"].startswith(
        "the printed text could not be read (page 1's content is too large)"
    ), report.to_text()
    assert "pdf.render" not in checks, report.to_text()  # never started, never stopped


def test_a_genuine_pdf_out_of_time_is_cannot_verify_not_a_forgery(
    sealed: dict[str, Sealed], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine too busy to read a genuine certificate's text within POPPLER_SECONDS (here
    every poppler tool starts 0.5 s late, against 0.1 s) gets "cannot verify, try again",
    never "not authentic"."""
    import verify.pdf

    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    data = item.pdf_path.read_bytes()
    assert verify_bytes(data, "c.pdf", trust, AT).verdict is Verdict.AUTHENTIC
    limited = verify.pdf._limited
    late = ["sh", "-c", 'sleep 0.5; exec "$@"', "late"]
    monkeypatch.setattr(verify.pdf, "_limited", lambda command: late + limited(command))
    monkeypatch.setattr(verify.pdf, "POPPLER_SECONDS", 0.1)
    report = verify_bytes(data, "c.pdf", trust, AT)
    assert report.verdict is Verdict.CANNOT_VERIFY, report.to_text()
    assert report.unreadable is not None and "try again" in report.unreadable


def test_poppler_is_stopped_at_its_bounds_and_that_is_named(
    sealed: dict[str, Sealed], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page 1 draws a form XObject of 200 MB of spaces (the content bound does not see into
    forms; pdftoppm takes over a second on it): poppler is stopped at POPPLER_SECONDS (here
    0.3 s) and what it did not read is named."""
    import verify.pdf

    monkeypatch.setattr(verify.pdf, "POPPLER_SECONDS", 0.3)
    item = sealed["skill"]
    data = _page_1_drawing(item.pdf_path.read_bytes(), _flate_bomb(200), as_form=True)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(data, "form-bomb.pdf", trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    checks = _poppler_checks(report)
    assert checks["pdf.render"] == (
        "rendering and reading the pages were stopped at their bounds (0.3 s, 512 MB): not "
        "every page was read for a QR"
    ), report.to_text()
    assert checks["pdf.text"] == (
        "the printed text could not be read (pdftotext was stopped at its bounds (0.3 s, "
        "512 MB)): it cannot be compared with the QR, nor the file told from a scan"
    ), report.to_text()


def test_a_qr_text_with_bytes_after_its_payload_is_refused(sealed: dict[str, Sealed]) -> None:
    """Bytes after the zlib stream, or after the COSE_Sign1 message, were ignored: another
    text carried the same signed payload and was authentic (found by the property tests)."""
    import base45
    import cbor2

    from docgen.qrpayload import PREFIX, pack, unpack
    from docgen.signing.qr import claims_for, sign_claims

    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    text = sign_claims(claims_for(item.rendered.certificate), item.store.signer("ecdsa"))
    assert verify_qr_text(text, trust, AT).verdict is Verdict.AUTHENTIC
    cose = unpack(text)
    assert cbor2.loads(cose)
    deflated = zlib.compress(cose, 9)
    forged = {
        "after the zlib stream": PREFIX + base45.b45encode(deflated + b"\x00\x00").decode(),
        "after the COSE message": PREFIX + base45.b45encode(cose + b"\x00").decode(),
        "after the COSE message, compressed": pack(cose + b"\x00" * 64),
    }
    reasons = {
        "after the zlib stream": "bytes after the compressed payload",
        "after the COSE message": "bytes after it",
        "after the COSE message, compressed": "bytes after it",
    }
    for name, forgery in forged.items():
        report = verify_qr_text(forgery, trust, AT)
        assert report.verdict is Verdict.NOT_AUTHENTIC, (name, report.to_text())
        assert reasons[name] in report.to_text(), (name, report.to_text())


def _update(pdf: bytes, trailer: bytes = b"", prev: int | None = None) -> bytes:
    """``pdf`` with an empty incremental update: its trailer holds ``trailer`` and points
    back at ``prev`` (None: the last cross-reference table; -1: the update's own)."""
    last = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = max(int(s) for s in re.findall(rb"/Size\s+(\d+)", pdf))
    root = re.findall(rb"/Root\s+(\d+\s+\d+\s+R)", pdf)[-1]
    xref = len(pdf)
    previous = last if prev is None else xref if prev < 0 else prev
    return (
        pdf
        + b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size %d /Root %s /Prev %d %s>>\n"
        % (
            size,
            root,
            previous,
            trailer,
        )
        + b"startxref\n%d\n%%%%EOF\n" % xref
    )


@pytest.mark.parametrize(
    "shape", ["xref pointing at itself", "array nested 100 000 deep", "dict nested 100 000 deep"]
)
def test_pdf_parser_loops_and_deep_nesting_are_named(sealed: dict[str, Sealed], shape: str) -> None:
    """Issue 12's "PDF parser loops": a cross-reference section whose /Prev is itself, and a
    trailer value nested 100 000 deep. pyHanko names both (this test passed before the
    fuzzing fixes too: a row of the table, not a fix)."""
    pdf = sealed["skill"].pdf_path.read_bytes()
    pdf = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    data = {
        "xref pointing at itself": _update(pdf, prev=-1),
        "array nested 100 000 deep": _update(pdf, b"/Fuzz " + b"[" * 100_000 + b"]" * 100_000),
        "dict nested 100 000 deep": _update(pdf, b"/Fuzz " + b"<</A " * 100_000 + b">>" * 100_000),
    }[shape]
    trust = TrustList.load([sealed["skill"].store.folder / "trust.json"])
    report = verify_bytes(data, "loop.pdf", trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    structure = next(c for c in report.checks if c.name == "pdf.structure")
    assert structure.outcome.value == "fail", report.to_text()
    assert structure.detail.startswith("the PDF structure is broken: "), report.to_text()
    assert "internal error" not in report.to_text()


def test_a_page_listed_thousands_of_times_is_read_once(
    sealed: dict[str, Sealed], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Document.xml listing its page 20 000 times, stored (a deflated one shrinks past the
    ZIP-bomb ratio): each listing parsed the page again (1 000 took 0.7 s). Each page file is
    read once, at most MAX_PAGES of them."""
    import verify.ofd

    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    document = parts["Doc_0/Document.xml"]
    page = re.search(rb"<ofd:Page [^>]*/>", document)
    assert page
    parts["Doc_0/Document.xml"] = document.replace(page[0], page[0] * 20_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    parsed = []
    real_xml = verify.ofd._xml

    def counting(data: bytes) -> Any:
        parsed.append(len(data))
        return real_xml(data)

    monkeypatch.setattr(verify.ofd, "_xml", counting)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(out.getvalue(), "pages.ofd", trust, AT)
    assert "internal error" not in report.to_text()
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()  # Document.xml is signed
    assert len(parsed) < 20, len(parsed)


def test_the_poppler_tools_run_under_their_address_space_and_cpu_limits() -> None:
    """The command the verifier starts poppler with holds it to POPPLER_MEGABYTES of address
    space and POPPLER_SECONDS of CPU (shown with a Python child in the same wrapper)."""
    import sys

    import verify.pdf

    grab = f"bytearray({verify.pdf.POPPLER_MEGABYTES + 100} * 2**20)"
    done = subprocess.run(
        verify.pdf._limited([sys.executable, "-c", grab]), capture_output=True, check=False
    )
    assert done.returncode == 1 and b"MemoryError" in done.stderr
    spin = subprocess.run(
        verify.pdf._limited([sys.executable, "-c", "while True: pass"]), check=False, timeout=30
    )
    assert spin.returncode == -signal.SIGXCPU


def test_a_pdf_whose_root_is_no_dictionary_is_named(sealed: dict[str, Sealed]) -> None:
    """/Root pointing at an object that is not there (pyHanko asserts the root is a
    dictionary: AssertionError escaped the page tree walk)."""
    pdf = sealed["skill"].pdf_path.read_bytes()
    root = re.search(rb"/Root (\d+) 0 R", pdf)
    assert root
    data = pdf.replace(root[0], b"/Root %s 7 R" % root[1])
    trust = TrustList.load([sealed["skill"].store.folder / "trust.json"])
    report = verify_bytes(data, "rootless.pdf", trust, AT)
    assert "internal error" not in report.to_text(), report.to_text()
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert "pdf.signatures" in report.to_text(), report.to_text()


def _long_named_signer(length: int) -> tuple[Any, Any]:
    """A self-signed ECDSA certificate (cryptography) whose name holds ``length`` characters,
    and its key."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "长" * length)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def test_a_signer_certificate_with_a_300_kb_name_is_not_compared(
    sealed: dict[str, Sealed],
) -> None:
    """A CMS signature (OFD) by a certificate whose issuer name is 300 kB: comparing it with a
    trusted root's name (RFC 5280 normalisation) took seconds (bench/fuzz.py: 1 MB, 6 s)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    certificate, key = _long_named_signer(100_000)
    builder = pkcs7.PKCS7SignatureBuilder().set_data(parts[_SIGN + "Signature.xml"])
    builder = builder.add_signer(certificate, key, hashes.SHA256())
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    parts[_SIGN + "SignedValue.dat"] = builder.sign(serialization.Encoding.DER, options)
    report = _verified(item, parts)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    trust = next(c.detail for c in report.checks if c.name == "signature 1.trust")
    assert trust.startswith("signer certificate not trusted: its issuer name is 30"), trust[:300]
    assert trust.endswith("longer than any CA's (at most 4096): not compared"), trust[:300]


def test_a_pdf_signed_by_a_certificate_with_a_300_kb_name_is_not_compared(
    sealed: dict[str, Sealed],
) -> None:
    """The same certificate signing a second PDF signature: pyHanko's path building compared
    its names with the roots'."""
    from asn1crypto import keys as akeys
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certificate, key = _long_named_signer(100_000)
    signer = signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        signing_key=akeys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore(),
    )
    item = sealed["skill"]
    writer = IncrementalPdfFileWriter(io.BytesIO(item.pdf_path.read_bytes()))
    out = signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Long"), signer=signer)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(out.getvalue(), "long-name.pdf", trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    integrity = next(c.detail for c in report.checks if c.name == "signature 2.integrity")
    assert integrity.startswith(
        "the signature cannot be validated: a certificate in the signature: its issuer name is 30"
    ), integrity[:300]


def test_a_qr_text_longer_than_a_qr_code_holds_is_refused_undecoded(
    sealed: dict[str, Sealed],
) -> None:
    """A 1.5 MB "QR text" (bench/fuzz.py: base45-decoding it took 0.4 s, 1.3 s under load)."""
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_qr_text("EC1:" + "0" * 1_500_000, trust, AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC, report.to_text()
    assert (
        "signed payload rejected: 1500004 characters: longer than a QR code holds (at most 4296)"
    ) in report.to_text(), report.to_text()[:500]


def test_a_central_directory_offset_past_the_file_is_damaged(sealed: dict[str, Sealed]) -> None:
    """zipfile answers such an offset with a bare ValueError ("negative seek value"), which
    a random flip in CI met: it is named a damaged package like the others."""
    import struct

    item = sealed["skill"]
    data = bytearray(item.ofd_path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, len(data) * 64)
    trust = TrustList.load([item.store.folder / "trust.json"])
    report = verify_bytes(bytes(data), "c.ofd", trust, AT)
    assert report.verdict is Verdict.CANNOT_VERIFY
    assert "damaged" in str(report.unreadable), report.to_text()
