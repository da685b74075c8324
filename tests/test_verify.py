"""The verifier against the corpora, our own certificates in every form, and attacks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from docgen.cli import main
from docgen.issuing import render
from docgen.kinds import load_kind
from docgen.layout import build_layout
from docgen.ofd import read_package
from docgen.ofd.package import write_package
from docgen.pdf import render_pdf
from docgen.samples import sample_record
from docgen.signing.keystore import KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record
from verify.api import verify_bytes, verify_path
from verify.report import Report, Verdict
from verify.trust import TrustList

from .conftest import AT, KEYS_AT, SHARED, Sealed, require_tool, run

OFD_CORPUS = SHARED / "corpus" / "ofd"
PDF_CORPUS = SHARED / "corpus" / "pdf"


def trust_of(*items: Sealed) -> TrustList:
    return TrustList.load([item.store.folder / "trust.json" for item in items])


def outcome(report: Report, name: str) -> str:
    found = [c for c in report.checks if c.name == name]
    assert found, (name, [c.name for c in report.checks])
    return found[0].outcome.value


def details(report: Report) -> str:
    return "\n".join(f"{c.name}: {c.detail}" for c in report.checks)


# -- corpus: other vendors' files, none of them trusted ---------------------------------

INTACT_OFD = [
    "valid-seal-v4-einvoice-a.ofd",
    "valid-seal-v4-einvoice-b.ofd",
    "valid-seal-v4-doc.ofd",
    "valid-seal-v4-whole-protected.ofd",
]


@pytest.mark.parametrize("name", INTACT_OFD)
def test_corpus_valid_seals_are_intact_but_untrusted(name: str) -> None:
    report = verify_path(OFD_CORPUS / name, TrustList(), AT)
    assert outcome(report, "signature 1.digests") == "pass"
    assert outcome(report, "signature 1.value") == "pass"
    assert outcome(report, "signature 1.data_hash") == "pass"
    assert [(s.intact, s.trusted) for s in report.signatures] == [(True, False)]
    assert report.verdict is Verdict.NOT_AUTHENTIC


def test_corpus_tampered_document_xml_has_one_wrong_digest() -> None:
    report = verify_path(OFD_CORPUS / "tampered-document-xml.ofd", TrustList(), AT)
    check = next(c for c in report.checks if c.name == "signature 1.digests")
    assert check.outcome.value == "fail" and "1 digest(s) wrong: Doc_0/Document.xml" in check.detail
    assert report.verdict is Verdict.NOT_AUTHENTIC


def test_corpus_tampered_digests_and_signature() -> None:
    report = verify_path(OFD_CORPUS / "tampered-digests-and-signature.ofd", TrustList(), AT)
    digests = [c for c in report.checks if c.name.endswith(".digests")]
    assert len(digests) == 2 and all("3 digest(s) wrong" in c.detail for c in digests)
    assert outcome(report, "signature 2.value") == "fail"
    assert report.verdict is Verdict.NOT_AUTHENTIC


def test_corpus_nonstandard_check_method_is_named_not_crashed() -> None:
    report = verify_path(OFD_CORPUS / "nonstandard-checkmethod.ofd", TrustList(), AT)
    check = next(c for c in report.checks if c.name == "signature 1.digests")
    assert check.outcome.value == "cannot"
    assert "unsupported digest method '1.2.156.10197.1.401.2'" in check.detail


def test_corpus_bare_sm2_sign_cannot_be_verified_without_its_signer() -> None:
    report = verify_path(OFD_CORPUS / "sign-bare-sm2.ofd", TrustList(), AT)
    assert outcome(report, "signature 1.digests") == "pass"
    assert "unknown signer" in details(report)
    assert report.verdict is Verdict.CANNOT_VERIFY and report.exit_code == 2


def test_corpus_unsigned_document_is_readable_with_no_signatures() -> None:
    report = verify_path(OFD_CORPUS / "unsigned-helloworld.ofd", TrustList(), AT)
    assert report.unreadable is None
    assert outcome(report, "ofd.signatures") == "info" and "no signatures" in details(report)
    assert report.verdict is Verdict.NOT_AUTHENTIC


@pytest.mark.parametrize(
    "name", ["shadow-hide-3_shadowed-signed.pdf", "shadow-replace-3_shadowed-signed.pdf"]
)
def test_corpus_pdf_intact_whole_file_untrusted(name: str) -> None:
    report = verify_path(PDF_CORPUS / name, TrustList(), AT)
    assert outcome(report, "signature 1.integrity") == "pass"
    assert outcome(report, "signature 1.changes") == "pass"
    assert [(s.intact, s.trusted) for s in report.signatures] == [(True, False)]
    assert report.verdict is Verdict.NOT_AUTHENTIC


@pytest.mark.parametrize(
    "name",
    [
        "shadow-hide-4_shadowed-signed-manipulated_v1.pdf",
        "shadow-hide-4_shadowed-signed-manipulated_v2.pdf",
        "shadow-replace-4_shadowed-signed-manipulated.pdf",
    ],
)
def test_corpus_pdf_modified_after_signing_is_rejected_with_a_reason(name: str) -> None:
    report = verify_path(PDF_CORPUS / name, TrustList(), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    failed = [c for c in report.checks if c.outcome.value == "fail" and c.step == "signature"]
    reasons = " ".join(c.detail for c in failed)
    assert "modified after signing" in reasons or "cannot be validated" in reasons


def test_every_corpus_file_gets_a_report_without_an_exception() -> None:
    for path in sorted(OFD_CORPUS.glob("*.ofd")) + sorted(PDF_CORPUS.glob("*.pdf")):
        report = verify_path(path, TrustList(), AT)
        assert report.to_text() and json.dumps(report.to_dict(), ensure_ascii=False)


# -- our own certificates ---------------------------------------------------------------


def page_png(item: Sealed, folder: Path, dpi: int = 300) -> Path:
    """The first page that carries the QR (a card's QR is on its back), as a PNG scan."""
    pages = item.rendered.layout.pages
    first = str(next(n for n, page in enumerate(pages) if page.find("qr")) + 1)
    pdftoppm = require_tool("pdftoppm")
    run(
        pdftoppm,
        "-r",
        str(dpi),
        "-png",
        "-f",
        first,
        "-l",
        first,
        "-singlefile",
        item.pdf_path,
        folder / "page",
    )
    return folder / "page.png"


def test_our_certificate_is_authentic_as_ofd_pdf_png_and_rotated_jpeg(
    each_sealed: Sealed, tmp_path: Path
) -> None:
    trust = trust_of(each_sealed)
    png = page_png(each_sealed, tmp_path)
    rotated = Image.open(png).convert("RGB").rotate(15, expand=True, fillcolor="white")
    jpeg = tmp_path / "photo.jpg"
    rotated.save(jpeg, "JPEG", quality=40)
    number = each_sealed.rendered.certificate.number
    for path in (each_sealed.ofd_path, each_sealed.pdf_path, png, jpeg):
        report = verify_path(path, trust, AT)
        assert report.verdict is Verdict.AUTHENTIC, (path.name, details(report))
        assert report.exit_code == 0
        assert report.certificate and report.certificate["number"] == number
        assert report.qr_text and report.qr_text[0].startswith("EC1:")


def test_a_pdf_is_read_from_its_qr_picture_only_when_its_trusted_signature_covers_it(
    each_sealed: Sealed,
) -> None:
    """The QR of a file every byte of which a trusted signature covers is read from the
    picture it draws; any other file is rendered (here: no trust list). Both read the same."""
    path = each_sealed.pdf_path
    trusted = verify_path(path, trust_of(each_sealed), AT)
    assert outcome(trusted, "pdf.qr_pictures") == "info"
    rendered = verify_path(path, TrustList(), AT)
    assert "pdf.qr_pictures" not in [c.name for c in rendered.checks]
    assert trusted.qr_text and rendered.qr_text == trusted.qr_text


def test_the_same_files_are_not_authentic_without_the_trust_list(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    for path in (item.ofd_path, item.pdf_path):
        report = verify_path(path, TrustList(), AT)
        assert report.verdict is Verdict.NOT_AUTHENTIC
        assert "qr" in report.failed_steps and "signature" in report.failed_steps


def test_a_qr_pasted_from_another_certificate_fails_consistency(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    sealer = Sealer(item.store)
    other_record = sample_record("skill") | {"name": "王小明", "number": "S000032000123254000099"}
    other = validate_record(load_kind("skill"), other_record, AT)
    forged_layout = build_layout(item.rendered.certificate, qr_text=sealer.qr_text(other))
    report = verify_bytes(render_pdf(forged_layout), "forged.pdf", trust_of(item), AT)
    assert outcome(report, "qr.signature") == "pass"  # the pasted QR itself is genuine
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "consistency" in report.failed_steps
    assert "S000032000123254000099" in details(report)


def test_an_incremental_update_changing_the_page_is_rejected(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    writer = IncrementalPdfFileWriter(io.BytesIO(item.pdf_path.read_bytes()))
    white_box_and_name = b"q 1 1 1 rg 250 560 120 20 re f Q BT /F1 12 Tf 255 565 Td (FAKE) Tj ET"
    stream = writer.add_object(generic.StreamObject(stream_data=white_box_and_name))
    writer.add_stream_to_page(0, stream)
    out = io.BytesIO()
    writer.write(out)
    report = verify_bytes(out.getvalue(), "updated.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "signature" in report.failed_steps
    assert outcome(report, "signature 1.changes") == "fail"
    assert outcome(report, "signature 1.integrity") == "pass"  # the original revision holds


def test_a_qr_painted_over_in_a_later_revision_is_not_read_from_its_picture(
    sealed: dict[str, Sealed],
) -> None:
    """The QR picture is still in the file, but a revision the signature does not cover
    paints the page white: what a person sees has no QR, and neither has the report."""
    item = sealed["skill"]
    writer = IncrementalPdfFileWriter(io.BytesIO(item.pdf_path.read_bytes()))
    white_page = b"q 1 1 1 rg 0 0 2000 2000 re f Q"
    writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=white_page)))
    out = io.BytesIO()
    writer.write(out)
    report = verify_bytes(out.getvalue(), "painted.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "pdf.qr_pictures" not in [c.name for c in report.checks]
    assert outcome(report, "qr.found") == "info" and not report.qr_text


def test_an_ofd_with_a_replaced_content_xml_is_rejected(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    parts = read_package(item.ofd_path.read_bytes())
    name = item.rendered.certificate.values["name"]
    page = "Doc_0/Pages/Page_0/Content.xml"
    parts[page] = parts[page].replace(name.encode(), "王五五".encode())
    forged = write_package(parts, item.rendered.certificate.issued_at)
    report = verify_bytes(forged, "replaced.ofd", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "signature" in report.failed_steps
    assert page in next(c.detail for c in report.checks if c.name == "signature 1.digests")
    assert "consistency" in report.failed_steps  # the printed name no longer matches the QR


def test_an_ofd_sealed_by_a_key_not_in_the_trust_list_is_rejected(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    item = sealed["skill"]
    impostor = KeyStore.init(tmp_path / "impostor", item.store.identity, KEYS_AT)
    cert = validate_record(load_kind("skill"), sample_record("skill"), AT)
    forged = render(cert, Sealer(impostor))
    report = verify_bytes(forged.ofd, "impostor.ofd", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert outcome(report, "signature 1.value") == "pass"  # well-formed, wrong signer
    assert outcome(report, "signature 1.trust") == "fail"
    assert outcome(report, "qr.signature") == "fail"  # its QR key is unknown too


# -- the command line -----------------------------------------------------------------------


def test_cli_verify_json_and_exit_codes(sealed: dict[str, Sealed], tmp_path: Path) -> None:
    item = sealed["special-ops"]
    trust = str(item.store.folder / "trust.json")
    ok = CliRunner().invoke(
        main, ["verify", str(item.pdf_path), "--trust", trust, "--at", "2026-11-20", "--json"]
    )
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["verdict"] == "authentic" and data["valid"] is True
    assert {"name", "ok", "detail"} <= set(data["checks"][0])
    assert data["certificate"]["number"] == item.rendered.certificate.number
    assert data["qr_text"][0].startswith("EC1:")
    expired = CliRunner().invoke(
        main, ["verify", str(item.ofd_path), "--trust", trust, "--at", "2031-03-02", "--json"]
    )
    assert expired.exit_code == 1 and json.loads(expired.output)["valid"] is False
    junk = tmp_path / "junk.txt"
    junk.write_text("not a certificate")
    bad = CliRunner().invoke(main, ["verify", str(junk), "--trust", trust])
    assert bad.exit_code == 2 and "unsupported format" in bad.output


def test_the_verifier_imports_no_key_loading_or_signing_code() -> None:
    """Neither ours nor pyHanko's signing half (its timestamp client loads aiohttp): see
    verify.lean_pyhanko. Whoever signs later in the same process still finds pyHanko whole."""
    code = (
        "import sys, verify.api, verify.trust, verify.ofd, verify.pdf\n"
        "bad = [m for m in sys.modules if m.startswith('docgen.signing')\n"
        "       or m in ('aiohttp', 'pyhanko.sign.signers', 'pyhanko.sign.timestamps')]\n"
        "print(bad)\n"
        "from pyhanko.sign import PdfSigner, fields, signers\n"
        "import pyhanko.sign\n"
        "whole = PdfSigner is signers.PdfSigner and pyhanko.sign.fields is fields\n"
        "sys.exit(1 if bad or not whole else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_file_sealed_by_one_body_with_another_bodys_qr_is_rejected(
    sealed: dict[str, Sealed],
) -> None:
    from docgen.signing.qr import claims_for, sign_claims

    skill, rescuer = sealed["skill"], sealed["rescuer"]
    cert = skill.rendered.certificate
    foreign_qr = sign_claims(claims_for(cert), rescuer.store.signer("ecdsa"))
    layout = build_layout(cert, qr_text=foreign_qr)
    ofd = Sealer(skill.store).seal_ofd(layout)
    report = verify_bytes(ofd, "mixed.ofd", trust_of(skill, rescuer), AT)
    assert outcome(report, "qr.signature") == "pass"
    assert outcome(report, "signature 1.trust") == "pass"
    assert outcome(report, "signers_agree") == "fail"
    assert report.verdict is Verdict.NOT_AUTHENTIC and report.failed_steps == ["consistency"]


def test_a_multi_page_scan_saved_as_pdf_is_read(sealed: dict[str, Sealed], tmp_path: Path) -> None:
    item = sealed["special-ops"]
    run(require_tool("pdftoppm"), "-r", "200", "-png", item.pdf_path, tmp_path / "scan")
    pages = [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob("scan-*.png"))]
    assert len(pages) == 3
    scan = tmp_path / "scan.pdf"
    pages[0].save(scan, "PDF", save_all=True, append_images=pages[1:], resolution=200)
    report = verify_path(scan, trust_of(item), AT)
    assert report.format == "pdf" and outcome(report, "pdf.signatures") == "info"
    assert outcome(report, "qr.signature") == "pass"
    assert report.verdict is Verdict.AUTHENTIC
    assert report.certificate and report.certificate["holder"] == "张𠈌"


@pytest.mark.parametrize("name", INTACT_OFD)
def test_real_seals_are_signed_by_their_makers_over_the_seal_info(name: str) -> None:
    """Other vendors' seals confirm what the seal maker signs: DER(SES_SealInfo)."""
    report = verify_path(OFD_CORPUS / name, TrustList(), AT)
    assert outcome(report, "signature 1.seal") == "pass"
    assert outcome(report, "signature 1.seal_user") == "pass"
    assert outcome(report, "signature 1.seal_maker") == "fail"  # untrusted maker


def test_a_signer_using_another_bodys_seal_is_rejected(sealed: dict[str, Sealed]) -> None:
    from docgen.signing.ofd import seal_ofd

    skill, rescuer = sealed["skill"], sealed["rescuer"]
    foreign_seal, _ = rescuer.store.seal()
    ofd = seal_ofd(skill.rendered.layout, skill.store.signer("sm2"), foreign_seal, AT)
    report = verify_bytes(ofd, "borrowed-seal.ofd", trust_of(skill, rescuer), AT)
    assert outcome(report, "signature 1.trust") == "pass"  # a trusted signer ...
    assert outcome(report, "signature 1.seal") == "pass"  # ... and a genuine seal ...
    assert outcome(report, "signature 1.seal_user") == "fail"  # ... not issued to it
    assert report.verdict is Verdict.NOT_AUTHENTIC


def test_an_altered_seal_is_rejected(sealed: dict[str, Sealed]) -> None:
    from docgen.signing.ofd import seal_ofd

    item = sealed["skill"]
    esl, _ = item.store.seal()
    altered = esl.replace("江苏".encode(), "浙江".encode(), 1)  # same length, new name
    assert altered != esl
    ofd = seal_ofd(item.rendered.layout, item.store.signer("sm2"), altered, AT)
    report = verify_bytes(ofd, "altered-seal.ofd", trust_of(item), AT)
    assert outcome(report, "signature 1.value") == "pass"  # the signer signed it anyway
    assert outcome(report, "signature 1.seal") == "fail"
    assert report.verdict is Verdict.NOT_AUTHENTIC


def test_a_hidden_pdf_signature_is_not_outvoted_by_the_qr(sealed: dict[str, Sealed]) -> None:
    """One byte (/FT /Sig -> /FT /Siq) hides the signature field from readers."""
    item = sealed["skill"]
    hidden = item.pdf_path.read_bytes().replace(b"/FT /Sig", b"/FT /Siq", 1)
    report = verify_bytes(hidden, "hidden.pdf", trust_of(item), AT)
    assert outcome(report, "pdf.signatures") == "fail"
    assert outcome(report, "file_signature") == "fail"
    assert report.verdict is Verdict.NOT_AUTHENTIC


def test_an_unsigned_copy_with_edited_fields_and_the_genuine_qr_is_rejected(
    sealed: dict[str, Sealed],
) -> None:
    """Number and holder unchanged, the 工种 changed, the real QR kept, no signature."""
    item = sealed["skill"]
    record = sample_record("skill") | {"work_type": "高压电工"}
    edited = validate_record(load_kind("skill"), record, AT)
    genuine_qr = Sealer(item.store).qr_text(item.rendered.certificate)
    forged = render_pdf(build_layout(edited, qr_text=genuine_qr))
    report = verify_bytes(forged, "edited.pdf", trust_of(item), AT)
    assert outcome(report, "qr.signature") == "pass"
    assert outcome(report, "qr_vs_file") == "pass"  # the QR alone cannot tell
    assert report.failed_steps == ["signature"]
    assert outcome(report, "file_signature") == "fail"
    assert report.verdict is Verdict.NOT_AUTHENTIC
