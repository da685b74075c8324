"""Annotated copies (加注): the issuer's signature stays, a second signature covers what was
added — the verifier accepts that, and only that.

PDF: an update after a signature passes only up to pyHanko's FORM_FILLING level (a new
signature field and its signature), and only when a later signature that is intact, trusted
and covers the whole file vouches for it. OFD: every file of a signed package is covered by a
valid signature or is one of the signatures' own files (``ofd.coverage``).
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys as akeys
from asn1crypto import x509 as a509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from docgen.gm import OID_SM3, OID_SM3_WITH_SM2
from docgen.layout import seal_slots
from docgen.ofd import read_package
from docgen.ofd.package import ofd, serialize, write_package
from docgen.ofd.signatures import (
    SIGNATURES_FILE,
    Reference,
    StampAnnot,
    digest,
    page_ids,
    sign_dir,
    signature_xml,
    signatures_xml,
)
from docgen.ofd.writer import ANNOTATIONS_LOC, build_parts
from docgen.signing.keystore import KeyStore
from docgen.signing.ofd import ses_signature
from verify.api import verify_bytes
from verify.report import Report, Verdict
from verify.trust import TrustList

from .conftest import AT, KEYS_AT, SHARED, Sealed, issue_sealed, require_tool, run

# -- helpers --------------------------------------------------------------------------------


def trust_of(*items: Sealed) -> TrustList:
    return TrustList.load([item.store.folder / "trust.json" for item in items])


def check(report: Report, name: str) -> tuple[str, str]:
    """``(outcome, detail)`` of the one check called ``name``."""
    found = [c for c in report.checks if c.name == name]
    assert len(found) == 1, (name, [c.name for c in report.checks])
    return found[0].outcome.value, found[0].detail


def details(report: Report) -> str:
    return "\n".join(f"{c.name}: {c.outcome.value}: {c.detail}" for c in report.checks)


def written(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_signature(pdf: bytes, signer: signers.Signer, field: str = "Annotation") -> bytes:
    """``pdf`` with an approval signature by ``signer`` in a NEW signature field."""
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    pdf_signer = signers.PdfSigner(
        meta, signer, new_field_spec=fields.SigFieldSpec(field, on_page=0, box=(40, 40, 200, 90))
    )
    return bytes(pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue())


def issuer_signer(item: Sealed) -> signers.SimpleSigner:
    """The same issuer's ECDSA signer the PDF was signed with (as docgen.signing.pdf makes
    it: signer certificate and key, the root in the certificate store)."""
    signer = item.store.signer("ecdsa")
    return signers.SimpleSigner(
        signing_cert=a509.Certificate.load(signer.certificate),
        signing_key=akeys.PrivateKeyInfo.load(signer.ecdsa_pkcs8(serialization.Encoding.DER)),
        cert_registry=SimpleCertificateStore.from_certs([a509.Certificate.load(signer.root)]),
    )


def throwaway_signer() -> signers.SimpleSigner:
    """A self-signed ECDSA P-256 signer nobody trusts, claiming to be the same body."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "江苏省职业技能鉴定中心"),
            x509.NameAttribute(NameOID.COMMON_NAME, "江苏省职业技能鉴定中心"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=a509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=akeys.PrivateKeyInfo.load(pkcs8),
        cert_registry=None,
    )


def add_free_text(pdf: bytes) -> bytes:
    """An unsigned incremental update adding a FreeText annotation ("VOID") to page 1."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (100, 100, 300, 130)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("VOID"),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            }
        )
    )
    annots = page.get("/Annots")
    if annots is None:
        page[generic.NameObject("/Annots")] = generic.ArrayObject([annot])
    else:
        annots.get_object().append(annot)
        raw = page.raw_get("/Annots")
        if isinstance(raw, generic.IndirectObject):
            writer.mark_update(raw)
    writer.update_container(page)
    return written(writer)


def change_page(pdf: bytes) -> bytes:
    """An unsigned incremental update drawing over page 1 (white box, a fake name)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    content = b"q 1 1 1 rg 250 560 120 20 re f Q BT /F1 12 Tf 255 565 Td (FAKE) Tj ET"
    writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=content)))
    return written(writer)


def change_info(pdf: bytes) -> bytes:
    """An unsigned incremental update changing the document information dictionary."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer["/Info"].get_object()
    info[generic.NameObject("/Title")] = generic.TextStringObject("forged")
    writer.update_container(info)
    out = written(writer)
    assert str(PdfFileReader(io.BytesIO(out)).trailer_view["/Info"]["/Title"]) == "forged"
    return out


def pyhanko_statuses(pdf: bytes, item: Sealed) -> list[Any]:
    root = a509.Certificate.load(item.store.certificate("ecdsa/root.pem"))
    reader = PdfFileReader(io.BytesIO(pdf))
    return [
        validate_pdf_signature(e, ValidationContext(trust_roots=[root], allow_fetching=False))
        for e in reader.embedded_signatures
    ]


def nss_db(root_pem: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = f"sql:{folder}"
    run(require_tool("certutil"), "-N", "-d", db, "--empty-password")
    added = run("certutil", "-A", "-d", db, "-n", "root", "-t", "CT,C,C", "-i", root_pem)
    assert added.returncode == 0, added.stderr
    return db


@pytest.fixture(scope="module")
def two_signatures(sealed: dict[str, Sealed]) -> bytes:
    """The skill PDF with a second approval signature by its issuer in a new field."""
    item = sealed["skill"]
    return add_signature(item.pdf_path.read_bytes(), issuer_signer(item))


# -- PDF ------------------------------------------------------------------------------------


def test_pyhanko_sees_form_filling_under_the_first_and_the_whole_file_under_the_second(
    sealed: dict[str, Sealed], two_signatures: bytes
) -> None:
    """What the verifier's rule rests on: pyHanko's own analysis of the two signatures."""
    first, second = pyhanko_statuses(two_signatures, sealed["skill"])
    assert first.intact and first.valid and first.trusted
    assert first.coverage is SignatureCoverageLevel.ENTIRE_REVISION
    assert first.modification_level is ModificationLevel.FORM_FILLING
    assert second.intact and second.valid and second.trusted
    assert second.coverage is SignatureCoverageLevel.ENTIRE_FILE


def test_a_second_trusted_signature_in_a_new_field_is_accepted(
    sealed: dict[str, Sealed], two_signatures: bytes
) -> None:
    item = sealed["skill"]
    report = verify_bytes(two_signatures, "annotated.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.AUTHENTIC, details(report)
    for name in ("signature 1", "signature 2"):
        for part in ("integrity", "changes", "trust"):
            assert check(report, f"{name}.{part}")[0] == "pass", details(report)
    detail = check(report, "signature 1.changes")[1]
    assert "a later signature, trusted and covering the whole file, vouches for the update" in (
        detail
    )
    assert "(FORM_FILLING)" in detail and "signature 2" in detail
    assert check(report, "signature 2.changes")[1] == "the signature covers the whole file"
    names = [c.name for c in report.checks if c.name.startswith("signature ")]
    assert names == [
        "signature 1.integrity",
        "signature 1.changes",
        "signature 1.trust",
        "signature 2.integrity",
        "signature 2.changes",
        "signature 2.trust",
    ]
    assert [(s.intact, s.trusted, s.detail) for s in report.signatures] == [
        (True, True, "ENTIRE_REVISION"),
        (True, True, "ENTIRE_FILE"),
    ]


def test_pdfsig_shows_two_valid_signatures(
    sealed: dict[str, Sealed], two_signatures: bytes, tmp_path: Path
) -> None:
    item = sealed["skill"]
    path = tmp_path / "annotated.pdf"
    path.write_bytes(two_signatures)
    db = nss_db(item.store.folder / "ecdsa/root.pem", tmp_path / "nss")
    out = run(require_tool("pdfsig"), "-nssdir", db, path).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
    assert "Signature #1:" in out and "Signature #2:" in out
    first, second = out.split("Signature #2:")
    assert "Signature Field Name: Seal" in first and "Not total document signed" in first
    assert "Signature Field Name: Annotation" in second and "Total document signed" in second
    # poppler 22.12 validates the certificate only the first time one signer certificate
    # occurs in a file ("Unknown issue with Certificate or corrupted data" the second time,
    # even for a file signed twice by an unrelated trusted signer): the first suffices here.
    assert "Certificate Validation: Certificate is Trusted." in first


def test_a_second_signature_by_an_untrusted_key_is_rejected_and_named(
    sealed: dict[str, Sealed],
) -> None:
    item = sealed["skill"]
    pdf = add_signature(item.pdf_path.read_bytes(), throwaway_signer())
    report = verify_bytes(pdf, "impostor.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 1.integrity")[0] == "pass"
    assert check(report, "signature 1.trust")[0] == "pass"
    outcome, detail = check(report, "signature 1.changes")
    assert outcome == "fail" and "(FORM_FILLING)" in detail
    assert "signature 2 is not trusted" in detail
    assert check(report, "signature 2.integrity")[0] == "pass"
    assert check(report, "signature 2.changes")[0] == "pass"  # it covers the whole file
    outcome, detail = check(report, "signature 2.trust")
    assert outcome == "fail" and "is not trusted by the trust list" in detail


@pytest.mark.parametrize("update", [change_page, add_free_text], ids=["page", "free-text"])
def test_an_unsigned_update_after_the_only_signature_is_rejected(
    sealed: dict[str, Sealed], update: Any
) -> None:
    item = sealed["skill"]
    report = verify_bytes(update(item.pdf_path.read_bytes()), "updated.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert report.failed_steps == ["signature"], details(report)
    outcome, detail = check(report, "signature 1.changes")
    assert outcome == "fail" and "modified after signing" in detail
    assert "(OTHER)" in detail  # beyond FORM_FILLING: no later signature could vouch for it
    assert check(report, "signature 1.integrity")[0] == "pass"


def test_an_unsigned_update_after_a_valid_second_signature_is_rejected(
    sealed: dict[str, Sealed], two_signatures: bytes
) -> None:
    item = sealed["skill"]
    report = verify_bytes(add_free_text(two_signatures), "after.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    for name in ("signature 1.changes", "signature 2.changes"):
        outcome, detail = check(report, name)
        assert outcome == "fail" and "modified after signing" in detail, details(report)


def test_an_info_update_after_a_valid_second_signature_is_rejected(
    sealed: dict[str, Sealed], two_signatures: bytes
) -> None:
    """pyHanko counts a changed /Info as LTA_UPDATES (permitted) for the second signature —
    but it no longer covers the whole file, so it cannot vouch for the first one's update."""
    item = sealed["skill"]
    report = verify_bytes(change_info(two_signatures), "info.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    outcome, detail = check(report, "signature 1.changes")
    assert outcome == "fail" and "(FORM_FILLING)" in detail
    assert "signature 2 does not cover the whole file (ENTIRE_REVISION)" in detail
    assert check(report, "signature 2.changes") == (
        "pass",
        "only permitted updates after signing (LTA_UPDATES)",
    )


def test_a_second_signature_that_does_not_verify_vouches_for_nothing(
    sealed: dict[str, Sealed], two_signatures: bytes
) -> None:
    """The second signature's CMS swapped for the first one's: well-formed, wrong bytes."""
    item = sealed["skill"]
    found = list(re.finditer(rb"/Contents <([0-9a-fA-F]+)>", two_signatures))
    assert len(found) == 2
    first, second = found
    cms = first.group(1).rstrip(b"0")
    cms += b"0" * (len(cms) % 2)
    assert len(cms) <= len(second.group(1))
    swapped = cms + b"0" * (len(second.group(1)) - len(cms))
    data = two_signatures[: second.start(1)] + swapped + two_signatures[second.end(1) :]
    report = verify_bytes(data, "swapped.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 2.integrity") == (
        "fail",
        "the signed bytes or the signature value do not verify",
    )
    outcome, detail = check(report, "signature 1.changes")
    assert outcome == "fail" and "signature 2 does not verify" in detail


def test_a_second_signature_pyhanko_cannot_validate_is_reported_not_raised(
    sealed: dict[str, Sealed], two_signatures: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyHanko raises on malformed signatures: the error is named, and never vouches."""
    import verify.pdf

    real = verify.pdf.validate_pdf_signature

    def raising(embedded: Any, context: Any) -> Any:
        if embedded.field_name == "Annotation":
            raise ValueError("malformed CMS")
        return real(embedded, context)

    monkeypatch.setattr(verify.pdf, "validate_pdf_signature", raising)
    item = sealed["skill"]
    report = verify_bytes(two_signatures, "malformed.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 2.integrity") == (
        "fail",
        "the signature cannot be validated: ValueError: malformed CMS",
    )
    assert not [c for c in report.checks if c.name in ("signature 2.changes", "signature 2.trust")]
    outcome, detail = check(report, "signature 1.changes")
    assert outcome == "fail" and "signature 2 cannot be validated" in detail
    assert [(s.signer, s.intact, s.trusted) for s in report.signatures][1] == (
        "unknown",
        False,
        None,
    )


def test_a_third_signature_by_the_issuer_vouches_for_both_before_it(
    sealed: dict[str, Sealed], two_signatures: bytes
) -> None:
    """A third signature by the issuer vouches for everything before it, as the second did."""
    item = sealed["skill"]
    three = add_signature(two_signatures, issuer_signer(item), field="Third")
    report = verify_bytes(three, "three.pdf", trust_of(item), AT)
    assert report.verdict is Verdict.AUTHENTIC, details(report)
    assert "signature 3 signed everything" in check(report, "signature 1.changes")[1]
    assert "signature 3 signed everything" in check(report, "signature 2.changes")[1]
    assert check(report, "signature 3.changes")[1] == "the signature covers the whole file"


# -- OFD ------------------------------------------------------------------------------------


def with_extra_entry(ofd_bytes: bytes, name: str, data: bytes) -> bytes:
    """The package with every entry copied as it is and one more added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(ofd_bytes)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("profile", ["sm2", "ecdsa"])
def test_a_sealed_ofd_is_covered_entirely(
    sealed: dict[str, Sealed], profile: str, tmp_path: Path
) -> None:
    item = sealed["skill"]
    if profile == "ecdsa":
        item = issue_sealed("skill", item.store, tmp_path, profile="ecdsa")
    data = item.ofd_path.read_bytes()
    report = verify_bytes(data, "sealed.ofd", trust_of(item), AT)
    assert report.verdict is Verdict.AUTHENTIC, details(report)
    n = len(read_package(data))
    assert check(report, "ofd.coverage") == (
        "pass",
        f"every one of the {n} files is covered by a valid signature or is a signature's own file",
    )
    assert [c.name for c in report.checks if c.step == "signature"][-1] == "ofd.coverage"


@pytest.mark.parametrize(
    "name",
    # (a name that leaves the package is refused before this: test_verify_robust.py)
    ["Doc_0/Pages/Page_0/Content_x.xml", "Doc_0/Res/extra.png", "Doc_0/Annots/extra.xml"],
)
def test_an_extra_entry_is_covered_by_no_signature(sealed: dict[str, Sealed], name: str) -> None:
    item = sealed["skill"]
    data = with_extra_entry(item.ofd_path.read_bytes(), name, b"<x/>")
    report = verify_bytes(data, "extra.ofd", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 1.digests")[0] == "pass"  # nothing signed changed
    assert check(report, "ofd.coverage") == (
        "fail",
        f"1 file(s) covered by no valid signature: {name}",
    )
    assert report.failed_steps == ["signature"]


def test_a_second_entry_of_a_signed_name_is_named(sealed: dict[str, Sealed]) -> None:
    """A forged page zipped before the genuine one under the same name: the package reader
    keeps one (its digest matches), a viewer may show the other."""
    item = sealed["skill"]
    page = "Doc_0/Pages/Page_0/Content.xml"
    name = str(item.rendered.certificate.values["name"])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(item.ofd_path.read_bytes())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        for info in source.infolist():
            data = source.read(info)
            if info.filename == page:
                target.writestr(page, data.replace(name.encode(), "王五五".encode()))
            target.writestr(info, data)
    report = verify_bytes(out.getvalue(), "twice.ofd", trust_of(item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 1.digests")[0] == "pass"
    assert check(report, "ofd.coverage") == (
        "fail",
        f"1 file(s) covered by no valid signature: {page} (2 entries of that name)",
    )


def test_an_unsigned_draft_has_no_coverage_check(sealed: dict[str, Sealed]) -> None:
    from docgen.ofd.writer import write_ofd

    report = verify_bytes(
        write_ofd(sealed["skill"].rendered.layout), "draft.ofd", trust_of(sealed["skill"]), AT
    )
    assert check(report, "ofd.signatures")[0] == "info"
    assert not [c for c in report.checks if c.name == "ofd.coverage"]


def test_a_bare_signature_nobody_can_check_leaves_coverage_undecided() -> None:
    """Files under a signature that cannot be checked are not evidence of tampering: the
    corpus's bare SM2 signature keeps its CANNOT_VERIFY verdict."""
    report = verify_bytes(
        (SHARED / "corpus" / "ofd" / "sign-bare-sm2.ofd").read_bytes(), "bare.ofd", TrustList(), AT
    )
    outcome, detail = check(report, "ofd.coverage")
    assert outcome == "cannot" and "covered only by a signature that could not be checked" in detail
    assert report.verdict is Verdict.CANNOT_VERIFY


# An annotated copy built with the project's own OFD signature helpers: the first signature
# covers every file but Signatures.xml (Document.xml already points at the annotations); a
# second signature, listed in Signatures.xml beside the first, covers the annotation.

ANNOTS = f"Doc_0/{ANNOTATIONS_LOC}"
PAGE_ANNOT = "Doc_0/Annots/Page_0/Annotation.xml"


def seal_into(
    parts: dict[str, bytes],
    n: int,
    store: KeyStore,
    stamps: list[StampAnnot],
    reference_own_seal: bool = True,
) -> str:
    """Add seal signature ``n`` (``Sign_n``) to ``parts``, referencing every file present
    but Signatures.xml; returns its Signature.xml location."""
    signer = store.signer("sm2")
    esl, _ = store.seal()
    folder = sign_dir(n)
    loc = f"/{folder}/Signature.xml"
    if reference_own_seal:
        parts[f"{folder}/Seal.esl"] = esl
    references = [
        Reference(f"/{path}", digest(OID_SM3, data))
        for path, data in parts.items()
        if path != SIGNATURES_FILE
    ]
    parts[f"{folder}/Seal.esl"] = esl  # the SES embeds the seal: a copy for readers
    signature_file = signature_xml(
        method=OID_SM3_WITH_SM2,
        date_time="20261120100000",
        check_method=OID_SM3,
        references=references,
        stamps=stamps,
        seal_loc=f"/{folder}/Seal.esl",
        signed_value_loc=f"/{folder}/SignedValue.dat",
    )
    parts[f"{folder}/Signature.xml"] = signature_file
    parts[f"{folder}/SignedValue.dat"] = ses_signature(
        signature_file, esl, signer, signer.key, loc, AT
    )
    return loc


def annotation_parts(page_id: str) -> dict[str, bytes]:
    """A 加注 stamp annotation on the first page, as GB/T 33190 §15 writes it."""
    root = ofd("Annotations")
    page = ofd("Page", {"PageID": page_id}, parent=root)
    ofd("FileLoc", text="Page_0/Annotation.xml", parent=page)
    annots = ofd("PageAnnot")
    annot = ofd("Annot", {"ID": "1", "Type": "Stamp", "Creator": "docgen"}, parent=annots)
    annot.set("LastModDate", "2026-12-01")
    params = ofd("Parameters", parent=annot)
    ofd("Parameter", {"Name": "scenario"}, text="求职", parent=params)
    ofd("Parameter", {"Name": "valid_to"}, text="2026-12-31", parent=params)
    ofd("Appearance", {"Boundary": "10 10 100 20"}, parent=annot)
    return {ANNOTS: serialize(root), PAGE_ANNOT: serialize(annots)}


def annotated_copy(
    item: Sealed,
    second: KeyStore | None,
    list_second: bool = True,
) -> bytes:
    """``item``'s certificate sealed so that it can be annotated, annotated, and (with
    ``second``) signed again; Signatures.xml lists the second signature if ``list_second``."""
    layout = item.rendered.layout
    parts = build_parts(layout, signatures=f"/{SIGNATURES_FILE}")
    assert ANNOTATIONS_LOC.encode() in parts["Doc_0/Document.xml"]  # an annotated kind
    pages = page_ids(parts)
    stamps = [
        StampAnnot(f"sa{k + 1}", pages[page], (s.box.x, s.box.y, s.box.w, s.box.h))
        for k, (page, s) in enumerate(seal_slots(layout))
    ]
    entries = [("s1", "Seal", seal_into(parts, 0, item.store, stamps))]
    parts.update(annotation_parts(pages[0]))
    if second is not None:
        loc = seal_into(parts, 1, second, [], reference_own_seal=False)
        if list_second:
            entries.append(("s2", "Seal", loc))
    parts[SIGNATURES_FILE] = signatures_xml(entries)
    return write_package(parts, layout.certificate.issued_at)


@pytest.fixture(scope="module")
def annotated_item(sealed: dict[str, Sealed]) -> Sealed:
    return sealed["safety-engineer"]


def test_an_annotated_copy_with_a_second_signature_is_authentic(annotated_item: Sealed) -> None:
    data = annotated_copy(annotated_item, annotated_item.store)
    report = verify_bytes(data, "annotated.ofd", trust_of(annotated_item), AT)
    assert report.verdict is Verdict.AUTHENTIC, details(report)
    for n in (1, 2):
        for part in ("digests", "data_hash", "value", "trust", "seal", "seal_user"):
            assert check(report, f"signature {n}.{part}")[0] == "pass", details(report)
    assert check(report, "ofd.coverage")[0] == "pass"
    assert [(s.intact, s.trusted) for s in report.signatures] == [(True, True), (True, True)]
    parts = read_package(data)
    # the second signature's seal copy is referenced by nobody: covered as its own file
    assert "Doc_0/Signs/Sign_1/Seal.esl" in parts
    assert (
        b"Sign_1/Seal.esl" not in parts["Doc_0/Signs/Sign_1/Signature.xml"].split(b"References")[1]
    )


@pytest.mark.parametrize("second", ["none", "unlisted"])
def test_an_annotation_no_listed_signature_covers_is_named(
    annotated_item: Sealed, second: str
) -> None:
    """The annotation added with no second signature, or with one that Signatures.xml does
    not list: the first signature still verifies, the new files are covered by nothing."""
    store = annotated_item.store if second == "unlisted" else None
    data = annotated_copy(annotated_item, store, list_second=False)
    report = verify_bytes(data, "annotated.ofd", trust_of(annotated_item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 1.digests")[0] == "pass"
    assert not [c for c in report.checks if c.name.startswith("signature 2")]
    outcome, detail = check(report, "ofd.coverage")
    uncovered = [ANNOTS, PAGE_ANNOT]
    if second == "unlisted":
        uncovered += [f"Doc_0/Signs/Sign_1/{f}" for f in ("Seal.esl", "Signature.xml")]
        uncovered += ["Doc_0/Signs/Sign_1/SignedValue.dat"]
    assert outcome == "fail"
    assert detail == (
        f"{len(uncovered)} file(s) covered by no valid signature: {', '.join(sorted(uncovered))}"
    )


def test_a_second_signature_that_does_not_verify_covers_nothing(annotated_item: Sealed) -> None:
    data = annotated_copy(annotated_item, annotated_item.store)
    parts = read_package(data)
    value = bytearray(parts["Doc_0/Signs/Sign_1/SignedValue.dat"])
    value[-5] ^= 0x01  # inside the SM2 signature value
    parts["Doc_0/Signs/Sign_1/SignedValue.dat"] = bytes(value)
    forged = write_package(parts, annotated_item.rendered.certificate.issued_at)
    report = verify_bytes(forged, "forged.ofd", trust_of(annotated_item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 2.digests")[0] == "pass"
    assert check(report, "signature 2.value")[0] == "fail"
    assert check(report, "ofd.coverage") == (
        "fail",
        f"2 file(s) covered by no valid signature: {ANNOTS}, {PAGE_ANNOT}",
    )


def test_a_second_signature_by_an_untrusted_body_fails_on_trust(
    annotated_item: Sealed, tmp_path: Path
) -> None:
    """Coverage is about integrity (digests and value); trust is the signature's own check."""
    impostor = KeyStore.init(tmp_path / "impostor", annotated_item.store.identity, KEYS_AT)
    data = annotated_copy(annotated_item, impostor)
    report = verify_bytes(data, "impostor.ofd", trust_of(annotated_item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 2.value")[0] == "pass"
    assert check(report, "signature 2.trust")[0] == "fail"
    assert check(report, "ofd.coverage")[0] == "pass"


def test_a_changed_annotation_after_the_second_signature_is_named(annotated_item: Sealed) -> None:
    data = annotated_copy(annotated_item, annotated_item.store)
    parts = read_package(data)
    parts[PAGE_ANNOT] = parts[PAGE_ANNOT].replace(b"2026-12-31", b"2036-12-31")
    forged = write_package(parts, annotated_item.rendered.certificate.issued_at)
    report = verify_bytes(forged, "forged.ofd", trust_of(annotated_item), AT)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert check(report, "signature 1.digests")[0] == "pass"
    outcome, detail = check(report, "signature 2.digests")
    assert outcome == "fail" and PAGE_ANNOT in detail
    outcome, detail = check(report, "ofd.coverage")
    assert outcome == "fail" and PAGE_ANNOT in detail
