"""Property-based tests (hypothesis) of every parser the verifier runs on hostile input.

Each takes arbitrary bytes or text, or one of our own sealed certificates (OFD, PDF, its QR
picture, its QR text) mutated — bytes flipped, inserted, deleted, replaced, cut — and asserts
the verifier's promise: a report with a named reason (a check, or why the input cannot be
read), never an exception and never "internal error" (the last line of defence catching
one), within the 2 s a verification may take (hypothesis's deadline). The parsers' own
contracts are tested beside: ``read_package`` raises only ValueError, the seal reader only
ValueError, ``unpack`` and ``verify_payload`` only PayloadError.

They are kept fast (a few seconds each): ``bench/fuzz.py`` is the long run.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from docgen.ofd import read_package
from docgen.qrpayload import PREFIX, PayloadError, unpack, verify_payload
from docgen.ses.reader import parse_seal_signature
from verify.api import verify_bytes, verify_qr_text
from verify.report import Report, Verdict
from verify.trust import TrustList

from .conftest import AT, Sealed

# hypothesis keeps its examples and caches out of the working tree
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "docgen-hypothesis")

#: The time bound of one verification (docs/security.md).
BOUND = timedelta(seconds=2)
_SIGN = "Doc_0/Signs/Sign_0/"
_SIGNATURES = "Doc_0/Signs/Signatures.xml"


def _settings(examples: int, deadline: timedelta | None = BOUND) -> settings:
    return settings(
        max_examples=examples,
        deadline=deadline,
        database=None,
        # the session's sealed certificates are made once; the per-test registry fixture
        # (conftest) is not used by these tests
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- mutations -----------------------------------------------------------------------------

_EDIT = st.tuples(
    st.sampled_from(("flip", "insert", "delete", "replace", "truncate")),
    st.floats(0, 1, allow_nan=False),  # where, as a share of the length
    st.binary(min_size=1, max_size=32),  # what is inserted or written
    st.integers(1, 4096),  # how much is deleted
)


def _mutated(data: bytes, edits: list[tuple[str, float, bytes, int]]) -> bytes:
    """``data`` with each edit applied in turn."""
    for kind, where, piece, count in edits:
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data = data[:at] + bytes([data[at] ^ (1 << (piece[0] % 8))]) + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + piece + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + count :]
        elif kind == "replace":
            data = data[:at] + piece + data[at + len(piece) :]
        else:
            data = data[:at]
    return data


MUTATIONS = st.lists(_EDIT, min_size=1, max_size=4)


def _assert_named(report: Report) -> None:
    """The verifier's promise: a reason, never an internal error."""
    text = report.to_text()
    assert "internal error" not in text, text
    assert report.unreadable or report.checks, text
    if report.verdict is Verdict.CANNOT_VERIFY and not report.unreadable:
        assert any(c.outcome.value == "cannot" for c in report.checks), text


def _zipped(parts: dict[str, bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def item(sealed: dict[str, Sealed]) -> Sealed:
    return sealed["skill"]


@pytest.fixture(scope="module")
def trust(item: Sealed) -> TrustList:
    return TrustList.load([item.store.folder / "trust.json"])


# -- OFD package -----------------------------------------------------------------------------


@_settings(300, deadline=None)
@given(data=st.binary(max_size=2048))
def test_read_package_raises_only_value_error_on_any_bytes(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        read_package(b"PK" + data)


@_settings(40)
@given(edits=MUTATIONS)
def test_a_mutated_ofd_package_gets_a_named_reason(
    item: Sealed, trust: TrustList, edits: list[tuple[str, float, bytes, int]]
) -> None:
    original = item.ofd_path.read_bytes()
    data = _mutated(original, edits)
    report = verify_bytes(data, "mutated.ofd", trust, AT)
    _assert_named(report)
    try:
        changed = read_package(data) != read_package(original)
    except ValueError:
        changed = True
    if changed:
        assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


# -- OFD XML parts ---------------------------------------------------------------------------

_XML_PARTS = (
    "OFD.xml",
    "Doc_0/Document.xml",
    "Doc_0/DocumentRes.xml",
    "Doc_0/Pages/Page_0/Content.xml",
    _SIGNATURES,
    _SIGN + "Signature.xml",
)


@_settings(60)
@given(part=st.sampled_from(_XML_PARTS), edits=MUTATIONS)
def test_a_mutated_ofd_xml_part_gets_a_named_reason_and_is_never_authentic(
    item: Sealed, trust: TrustList, part: str, edits: list[tuple[str, float, bytes, int]]
) -> None:
    parts = read_package(item.ofd_path.read_bytes())
    assert part in parts
    changed = _mutated(parts[part], edits)
    report = verify_bytes(_zipped({**parts, part: changed}), "part.ofd", trust, AT)
    _assert_named(report)
    if changed != parts[part] and part != _SIGNATURES:  # the list is no signed part
        assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


@_settings(40)
@given(part=st.sampled_from(_XML_PARTS), text=st.binary(max_size=512))
def test_any_bytes_as_an_ofd_xml_part_get_a_named_reason(
    item: Sealed, trust: TrustList, part: str, text: bytes
) -> None:
    parts = read_package(item.ofd_path.read_bytes())
    report = verify_bytes(_zipped({**parts, part: text}), "part.ofd", trust, AT)
    _assert_named(report)
    if part != _SIGNATURES:
        assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


# -- SES (ASN.1 DER) -------------------------------------------------------------------------


@_settings(300, deadline=None)
@given(data=st.binary(max_size=1024))
def test_the_seal_reader_raises_only_value_error_on_any_bytes(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_seal_signature(b"\x30" + data)


@_settings(200, deadline=None)
@given(edits=MUTATIONS)
def test_the_seal_reader_raises_only_value_error_on_a_mutated_seal_signature(
    item: Sealed, edits: list[tuple[str, float, bytes, int]]
) -> None:
    value = read_package(item.ofd_path.read_bytes())[_SIGN + "SignedValue.dat"]
    with contextlib.suppress(ValueError):
        parse_seal_signature(_mutated(value, edits))


@_settings(40)
@given(edits=MUTATIONS)
def test_a_mutated_seal_signature_gets_a_named_reason_and_is_never_authentic(
    item: Sealed, trust: TrustList, edits: list[tuple[str, float, bytes, int]]
) -> None:
    parts = read_package(item.ofd_path.read_bytes())
    value = parts[_SIGN + "SignedValue.dat"]
    changed = _mutated(value, edits)
    forged = _zipped({**parts, _SIGN + "SignedValue.dat": changed})
    report = verify_bytes(forged, "seal.ofd", trust, AT)
    _assert_named(report)
    if changed != value:
        assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


# -- PDF -------------------------------------------------------------------------------------


@_settings(20)
@given(edits=MUTATIONS)
def test_a_mutated_pdf_gets_a_named_reason(
    item: Sealed, trust: TrustList, edits: list[tuple[str, float, bytes, int]]
) -> None:
    report = verify_bytes(_mutated(item.pdf_path.read_bytes(), edits), "x.pdf", trust, AT)
    _assert_named(report)


@_settings(20)
@given(data=st.binary(max_size=2048))
def test_any_bytes_after_a_pdf_header_get_a_named_reason(trust: TrustList, data: bytes) -> None:
    report = verify_bytes(b"%PDF-1.7\n" + data, "x.pdf", trust, AT)
    _assert_named(report)
    assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


# -- QR payload ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qr_text(item: Sealed) -> str:
    from docgen.signing.qr import claims_for, sign_claims

    return sign_claims(claims_for(item.rendered.certificate), item.store.signer("ecdsa"))


_QR_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@_settings(300, deadline=None)
@given(text=st.text(max_size=300) | st.text(_QR_ALPHABET, max_size=300))
def test_unpack_and_verify_raise_only_payload_error_on_any_text(
    trust: TrustList, text: str
) -> None:
    for candidate in (text, PREFIX + text):
        try:
            unpack(candidate)
            verify_payload(candidate, trust.qr_certificates())
        except PayloadError:
            pass


@_settings(150)
@given(edits=MUTATIONS)
def test_a_mutated_qr_text_gets_a_named_reason_and_is_never_authentic(
    trust: TrustList, qr_text: str, edits: list[tuple[str, float, bytes, int]]
) -> None:
    raw = _mutated(qr_text.encode("ascii"), edits)
    text = raw.decode("utf-8", "replace")
    report = verify_qr_text(text, trust, AT)
    _assert_named(report)
    if text.strip() != qr_text:
        assert report.verdict is not Verdict.AUTHENTIC, report.to_text()


# -- pictures (QR scanning) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def qr_pictures(item: Sealed) -> dict[str, bytes]:
    """The certificate's own QR picture as PNG (from its OFD) and as JPEG."""
    from PIL import Image

    parts = read_package(item.ofd_path.read_bytes())
    png = next(
        data
        for name, data in parts.items()
        if name.endswith(".png") and Image.open(io.BytesIO(data)).getcolors(4) is not None
    )
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, "JPEG", quality=90)
    return {"png": png, "jpeg": out.getvalue()}


@_settings(40)
@given(which=st.sampled_from(("png", "jpeg")), edits=MUTATIONS)
def test_a_mutated_picture_gets_a_named_reason(
    trust: TrustList,
    qr_pictures: dict[str, bytes],
    which: str,
    edits: list[tuple[str, float, bytes, int]],
) -> None:
    original = qr_pictures[which]
    data = original[:8] + _mutated(original[8:], edits)  # still sniffed as a picture
    report = verify_bytes(data, f"x.{which}", trust, AT)
    _assert_named(report)


@_settings(60)
@given(head=st.sampled_from((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")), data=st.binary(max_size=512))
def test_any_bytes_after_a_picture_header_get_a_named_reason(
    trust: TrustList, head: bytes, data: bytes
) -> None:
    report = verify_bytes(head + data, "x.img", trust, AT)
    _assert_named(report)
    assert report.verdict is not Verdict.AUTHENTIC, report.to_text()
