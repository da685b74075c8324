"""加注 part two: annotated copies, judged by outsiders and by our verifier, and tampered with.

One registry (SQLite) holds two K3 certificates, of holders A and B; each holder annotates
once, writing an annotated copy (OFD and PDF). The copies must keep the issuer's first
signature intact, carry a second signature over the 加注, and verify as valid only inside
the window; every tampering must be named.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from asn1crypto import x509 as a509
from lxml import etree
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyzbar import pyzbar
from sqlalchemy import text

from docgen.annotation import Annotation, annotate, register, sign_in
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.ofd import read_package
from docgen.ofd.package import write_package
from docgen.qrpayload import read_claims, verify_annotation
from docgen.registry import RefusedError, Registry, lifecycle
from docgen.samples import sample_record
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record
from verify.api import verify_bytes, verify_path
from verify.report import Outcome, Report, Verdict
from verify.status import StatusSources
from verify.trust import TrustList

from .conftest import AT, SCHEMAS, Sealed, require_tool, run
from .ofd_raster import rasterise
from .ofd_signature import read_signature
from .test_signing import nss_db, openssl_verifies_ses, relaxed_signature_schema

KIND = "safety-engineer"
SECRET = "correct horse battery"
APPLIED = parse_at("2026-11-25T09:30:00")
INSIDE = parse_at("2026-12-10T12:00:00")
LAST_DAY = parse_at("2026-12-24T23:00:00")  # the window is 2026-11-25 – 2026-12-24
AFTER = parse_at("2026-12-25T00:30:00")
ANNOTS = ("Doc_0/Annots/Annotations.xml", "Doc_0/Annots/Page_0/Annotation.xml")


def _record_b() -> dict[str, Any]:
    record = {**sample_record(KIND), "name": "赵敏", "id_number": "320102199207152428"}
    record.update(number="2025035100000000999", gender="女", birth_date="1992-07-15")
    return record


@dataclass(frozen=True)
class Copies:
    url: str
    store: Any
    trust: TrustList
    a: Annotation
    b: Annotation


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory, sealed: dict[str, Sealed]) -> Copies:
    folder = tmp_path_factory.mktemp("annotated")
    url = f"sqlite:///{folder / 'registry.db'}"
    store = sealed[KIND].store
    sealer = Sealer(store)
    records = (sample_record(KIND), _record_b())
    certs = [validate_record(load_kind(KIND), r, AT) for r in records]
    done = []
    with Registry.open(url) as registry:
        lifecycle.issue(registry, certs, folder / "issued", sealer, operator="o", at=AT)
        for record in records:
            register(registry, record["id_number"], record["name"], SECRET, at=AT)
            holder = sign_in(registry, record["id_number"], SECRET, at=APPLIED)
            done.append(
                annotate(
                    registry,
                    holder,
                    record["number"],
                    scenario="本人调用",
                    days=30,
                    at=APPLIED,
                    sealer=sealer,
                    out_dir=folder / "copies",
                )
            )
    trust = TrustList.load([store.folder / "trust.json"])
    return Copies(url, store, trust, done[0], done[1])


def _failed(report: Report) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if c.outcome is Outcome.FAIL}


def _check(report: Report, name: str) -> Any:
    return next(c for c in report.checks if c.name == name)


# -- what the holder gets ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["ofd", "pdf"])
def test_a_copy_is_authentic_and_valid_only_inside_its_window(copies: Copies, suffix: str) -> None:
    path = copies.a.ofd if suffix == "ofd" else copies.a.pdf
    assert path is not None and path.name.endswith(f"-{copies.a.number}.{suffix}")
    inside = verify_path(path, copies.trust, INSIDE)
    assert inside.verdict is Verdict.AUTHENTIC, inside.to_text()
    assert inside.valid is True
    assert _check(inside, "annotation.certificate").outcome is Outcome.PASS
    window = _check(inside, "annotation_window")
    assert window.outcome is Outcome.PASS and "2026-11-25 – 2026-12-24" in window.detail
    assert inside.annotation == {
        "number": copies.a.number,
        "scenario": "本人调用",
        "valid_from": "2026-11-25",
        "valid_to": "2026-12-24",
        "certificate": f"{copies.a.certificate_number} v1",
    }
    assert not any(c.name == "annotation" for c in inside.checks)  # no "needs 加注" note
    last = verify_path(path, copies.trust, LAST_DAY)
    assert last.verdict is Verdict.AUTHENTIC and last.valid is True and last.exit_code == 0
    after = verify_path(path, copies.trust, AFTER)
    assert after.verdict is Verdict.AUTHENTIC and after.valid is False
    assert "expired on 2026-12-24" in _failed(after)["annotation_window"]
    assert after.exit_code == 1
    before = verify_path(path, copies.trust, parse_at("2026-11-24T12:00:00"))
    assert "not yet valid" in _failed(before)["annotation_window"]


def test_the_band_prints_scenario_window_and_number_in_both_files(copies: Copies) -> None:
    assert copies.a.pdf is not None and copies.a.ofd is not None
    text = run(require_tool("pdftotext"), copies.a.pdf, "-").stdout
    flat = "".join(text.split())
    for expected in (
        "加注",
        "使用场景：本人调用",
        "有效期：2026-11-25至2026-12-24",
        copies.a.number,
    ):
        assert expected in flat, expected
    parts = read_package(copies.a.ofd.read_bytes())
    annot = etree.fromstring(parts[ANNOTS[1]])
    printed = "".join(t.text or "" for t in annot.iter("{*}TextCode"))
    for expected in (
        "加注",
        "使用场景：本人调用",
        "有效期：2026-11-25 至 2026-12-24",
        copies.a.number,
    ):
        assert expected in printed, expected
    params = {p.get("Name"): p.text for p in annot.iter("{*}Parameter")}
    assert params["valid_to"] == "2026-12-24" and params["number"] == copies.a.number
    claims, _ = verify_annotation(params["docgen.qr"], copies.trust.qr_certificates())
    assert (claims.number, claims.valid_to) == (copies.a.certificate_number, date(2026, 12, 24))


def test_the_band_qr_is_read_from_the_rendered_pdf(copies: Copies) -> None:
    report = verify_path(copies.a.pdf, copies.trust, INSIDE)  # type: ignore[arg-type]
    assert len(report.qr_text) == 2  # the certificate's QR and the band's
    annotation = [t for t in report.qr_text if t != report.qr_text[0]]
    claims, _ = verify_annotation(annotation[0], copies.trust.qr_certificates())
    assert claims.annotation == copies.a.number


def test_both_decoders_read_the_band_qr_of_the_ofd_rendering(copies: Copies) -> None:
    """The OFD band's QR is vector paths (a sealed OFD takes no new image resource): drawn
    at 300 dpi, zbar and ZXing both read the signed 加注 claims from it."""
    dpi = 300
    page = rasterise(copies.a.ofd.read_bytes(), dpi)[0]  # type: ignore[union-attr]
    s = dpi / 25.4
    band = page.crop((int(165 * s), int(238 * s), int(189 * s), int(262 * s))).convert("L")
    zbar = {r.data.decode() for r in pyzbar.decode(band)}
    zxing = {r.text for r in zxingcpp.read_barcodes(band)}
    assert zbar == zxing and len(zbar) == 1
    claims, _ = verify_annotation(zbar.pop(), copies.trust.qr_certificates())
    assert claims.annotation == copies.a.number


# -- outside judges ------------------------------------------------------------------------


def test_the_ofd_first_seal_leaves_the_annotation_out_and_the_second_covers_all(
    copies: Copies, tmp_path: Path
) -> None:
    data = copies.a.ofd.read_bytes()  # type: ignore[union-attr]
    first, second = read_signature(data, 0), read_signature(data, 1)
    assert not set(ANNOTS) & set(first.references)
    assert "Doc_0/Signs/Signatures.xml" not in first.references
    own = {second.signature_path, "Doc_0/Signs/Sign_1/SignedValue.dat"}
    assert set(second.references) == set(second.parts) - own  # everything, sig 1 included
    for sig, folder in ((first, tmp_path / "1"), (second, tmp_path / "2")):
        folder.mkdir()
        assert sig.sign_type == "Seal"
        assert openssl_verifies_ses(sig.signed_value, folder)
    # The issuer's original already pointed at the annotation it did not seal.
    document = etree.fromstring(first.parts["Doc_0/Document.xml"])
    assert document.findtext("{*}Annotations") == "Annots/Annotations.xml"


def test_the_ofd_copy_validates_against_the_xsd(copies: Copies) -> None:
    parts = read_package(copies.a.ofd.read_bytes())  # type: ignore[union-attr]
    for path, schema in (
        (ANNOTS[0], "Annotations.xsd"),
        (ANNOTS[1], "Annotation.xsd"),
        ("Doc_0/Document.xml", "Document.xsd"),
        ("Doc_0/Signs/Signatures.xml", "Signatures.xsd"),
    ):
        xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / schema)))
        assert xsd.validate(etree.fromstring(parts[path])), (path, xsd.error_log)
    signature = relaxed_signature_schema()
    for n in (0, 1):
        xml = etree.fromstring(parts[f"Doc_0/Signs/Sign_{n}/Signature.xml"])
        assert signature.validate(xml), signature.error_log


def test_pyhanko_sees_the_first_signature_intact_with_permitted_changes(copies: Copies) -> None:
    root = a509.Certificate.load(copies.store.certificate("ecdsa/root.pem"))
    reader = PdfFileReader(io.BytesIO(copies.a.pdf.read_bytes()))  # type: ignore[union-attr]
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    first, second = (validate_pdf_signature(s, context) for s in reader.embedded_signatures)
    assert first.intact and first.valid and first.trusted and first.docmdp_ok
    assert first.coverage.name == "ENTIRE_REVISION"
    assert first.modification_level.name == "FORM_FILLING"
    assert second.intact and second.valid and second.trusted
    assert second.coverage.name == "ENTIRE_FILE"
    cli = Path(sys.executable).with_name("pyhanko")
    result = run(
        cli,
        "sign",
        "validate",
        "--trust",
        copies.store.folder / "ecdsa/root.pem",
        "--trust-replace",
        "--no-revocation-check",
        copies.a.pdf,  # type: ignore[arg-type]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("Seal:") and "ACCEPTABLE_MODIFICATIONS" in line for line in lines)
    assert any(line.startswith("Annotation:") and "INTACT:TRUSTED" in line for line in lines)


def test_pdfsig_shows_two_valid_signatures(copies: Copies, tmp_path: Path) -> None:
    """poppler 22.12 validates a signer certificate only the first time it meets it in a
    run, so the second signature (same signer) says "Unknown issue with Certificate": the
    signatures themselves are what pdfsig judges here."""
    db = nss_db(copies.store.folder / "ecdsa/root.pem", tmp_path / "nss")
    out = run(require_tool("pdfsig"), "-nssdir", db, copies.a.pdf).stdout  # type: ignore[arg-type]
    assert out.count("Signature is Valid.") == 2, out
    assert "Certificate is Trusted." in out.split("Signature #2")[0], out
    assert "Signature Field Name: Annotation" in out
    assert out.count("Not total document signed") == 1  # the issuer's, before the 加注
    assert out.count("Total document signed") == 1  # the 加注, added last


# -- the registry and the CLI -------------------------------------------------------------


def test_a_revoked_certificate_cannot_be_annotated_and_its_copies_are_not_valid(
    copies: Copies, tmp_path: Path
) -> None:
    url = _copy_registry(copies, tmp_path)
    number = copies.a.certificate_number
    with Registry.open(url) as registry:
        lifecycle.revoke(registry, number, reason="吊销", operator="o", at=INSIDE)
        holder = sign_in(registry, sample_record(KIND)["id_number"], SECRET, at=INSIDE)
        with pytest.raises(RefusedError, match="revoked"):
            annotate(registry, holder, number, scenario="本人调用", days=5, at=INSIDE)
        for path in (copies.a.ofd, copies.a.pdf):
            assert path is not None
            report = verify_bytes(
                path.read_bytes(), path.name, copies.trust, INSIDE, StatusSources(registry)
            )
            assert report.verdict is Verdict.AUTHENTIC and report.valid is False
            assert "revoked" in _failed(report)["registry"]


def _copy_registry(copies: Copies, folder: Path) -> str:
    source = Path(copies.url.removeprefix("sqlite:///"))
    db = folder / "registry.db"
    db.write_bytes(source.read_bytes())
    Path(f"{db}.key").write_bytes(Path(f"{source}.key").read_bytes())
    return f"sqlite:///{db}"


@pytest.mark.parametrize("suffix", ["ofd", "pdf"])
def test_with_a_registry_the_annotation_must_be_recorded(
    copies: Copies, tmp_path: Path, suffix: str
) -> None:
    path = copies.a.ofd if suffix == "ofd" else copies.a.pdf
    assert path is not None
    url = _copy_registry(copies, tmp_path)
    with Registry.open(url) as registry:
        report = verify_bytes(
            path.read_bytes(), path.name, copies.trust, INSIDE, StatusSources(registry)
        )
        assert report.verdict is Verdict.AUTHENTIC and report.valid is True, report.to_text()
        assert _check(report, "registry_annotation").outcome is Outcome.PASS
        assert "annotated copy" in _check(report, "registry_file").detail
        with registry.writing() as session:
            session.execute(text("UPDATE annotations SET valid_to = '2026-12-01'"))
        changed = verify_bytes(
            path.read_bytes(), path.name, copies.trust, INSIDE, StatusSources(registry)
        )
        assert "not as shown" in _failed(changed)["registry_annotation"]
        assert changed.valid is False
        with registry.writing() as session:
            session.execute(text("DELETE FROM annotations"))
        gone = verify_bytes(
            path.read_bytes(), path.name, copies.trust, INSIDE, StatusSources(registry)
        )
        assert copies.a.number in _failed(gone)["registry_annotation"]


def test_annotate_cli_writes_a_copy_that_verifies(
    copies: Copies, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    record = sample_record(KIND)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    data = tmp_path / "record.json"
    data.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    keys = str(copies.store.folder)
    env = {**os.environ, "HOLDER_SECRET": SECRET}
    at = "--at"

    def docgen(*args: str) -> Any:
        return run_env(env, "docgen", *args, "--db", db)

    issued = docgen(
        "issue",
        "--kind",
        KIND,
        "--data",
        str(data),
        "--out",
        str(tmp_path / "i"),
        "--keys",
        keys,
        at,
        "2026-11-20T10:00:00",
    )
    assert issued.returncode == 0, issued.stderr
    registered = docgen(
        "holder",
        "register",
        "--id-number",
        record["id_number"],
        "--name",
        record["name"],
        "--secret-env",
        "HOLDER_SECRET",
        at,
        "2026-11-21T10:00:00",
    )
    assert registered.returncode == 0, registered.stderr
    base = [
        "annotate",
        record["number"],
        "--scenario",
        "本人调用",
        "--id-number",
        record["id_number"],
        "--secret-env",
        "HOLDER_SECRET",
        "--keys",
        keys,
        "--out",
        str(out),
    ]
    too_long = docgen(*base, "--days", "91", at, "2026-11-25T10:00:00")
    assert too_long.returncode == 1 and "--days: 91 is not within 1-90 days" in too_long.stderr
    done = docgen(*base, "--days", "90", at, "2026-11-25T10:00:00")
    assert done.returncode == 0, done.stderr
    assert "2026-11-25 – 2027-02-22" in done.stdout
    files = done.stdout.splitlines()[1:]
    assert [Path(f).suffix for f in files] == [".ofd", ".pdf"]
    trust = str(copies.store.folder / "trust.json")
    for file in files:
        verified = run_env(
            env, "docgen", "verify", file, "--trust", trust, "--db", db, at, "2027-01-10T10:00:00"
        )
        assert verified.returncode == 0, verified.stdout
        assert "annotation_window: the 加注 is valid on 2027-01-10" in verified.stdout
    assert SECRET not in done.stdout + done.stderr
    sqlite = Path(tmp_path / "cli.db").read_bytes()
    assert SECRET.encode() not in sqlite


def run_env(env: dict[str, str], *args: str) -> Any:
    exe = Path(sys.executable).with_name(args[0])
    return subprocess.run(
        [str(exe), *args[1:]], capture_output=True, text=True, env=env, check=False
    )


# -- tampering -----------------------------------------------------------------------------


def _rezip(parts: dict[str, bytes]) -> bytes:
    return write_package(parts, datetime(2026, 11, 25, 10, 0))


def test_ofd_window_extended_in_the_annotation_is_not_authentic(copies: Copies) -> None:
    parts = read_package(copies.a.ofd.read_bytes())  # type: ignore[union-attr]
    parts[ANNOTS[1]] = parts[ANNOTS[1]].replace(b"2026-12-24", b"2027-12-24")
    report = verify_bytes(_rezip(parts), "longer.ofd", copies.trust, INSIDE)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert ANNOTS[1] in _failed(report)["signature 2.digests"]


def _annotation_field(writer: IncrementalPdfFileWriter) -> Any:
    """The 加注 signature field of a copy being updated."""
    return next(
        f.get_object()
        for f in writer.root["/AcroForm"]["/Fields"]
        if f.get_object()["/T"] == "Annotation"
    )


def test_pdf_window_extended_by_a_new_appearance_is_not_authentic(copies: Copies) -> None:
    data = copies.a.pdf.read_bytes()  # type: ignore[union-attr]
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    field = _annotation_field(writer)
    appearance = field["/AP"]["/N"].get_object()
    stream = generic.StreamObject(
        {
            "/Type": generic.NameObject("/XObject"),
            "/Subtype": generic.NameObject("/Form"),
            "/BBox": appearance["/BBox"],
        },
        stream_data=b"q 1 0 0 rg 0 0 50 20 re f Q",
    )
    field["/AP"] = generic.DictionaryObject({"/N": writer.add_object(stream)})
    writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    report = verify_bytes(out.getvalue(), "longer.pdf", copies.trust, INSIDE)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "signature 2.changes" in _failed(report)


def test_ofd_annotation_signature_stripped_is_not_authentic(copies: Copies) -> None:
    parts = read_package(copies.a.ofd.read_bytes())  # type: ignore[union-attr]
    for name in list(parts):
        if name.startswith("Doc_0/Signs/Sign_1/"):
            del parts[name]
    parts["Doc_0/Signs/Signatures.xml"] = re.sub(
        rb"<ofd:Signature ID=\"s2\"[^>]*/>", b"", parts["Doc_0/Signs/Signatures.xml"]
    )
    report = verify_bytes(_rezip(parts), "stripped.ofd", copies.trust, INSIDE)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    detail = _failed(report)["ofd.coverage"]
    assert all(name in detail for name in ANNOTS)


def test_pdf_annotation_signature_stripped_is_not_authentic(copies: Copies) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(copies.a.pdf.read_bytes()))  # type: ignore[union-attr]
    field = _annotation_field(writer)
    del field["/V"]  # the band stays drawn, its signature is gone
    writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    report = verify_bytes(out.getvalue(), "stripped.pdf", copies.trust, INSIDE)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "signature 1.changes" in _failed(report)


def test_annotation_moved_to_another_certificates_copy_is_not_authentic(copies: Copies) -> None:
    a = read_package(copies.a.ofd.read_bytes())  # type: ignore[union-attr]
    b = read_package(copies.b.ofd.read_bytes())  # type: ignore[union-attr]
    for name in (*ANNOTS, "Doc_0/Signs/Signatures.xml"):
        b[name] = a[name]
    for name in [n for n in a if n.startswith("Doc_0/Signs/Sign_1/")]:
        b[name] = a[name]
    report = verify_bytes(_rezip(b), "moved.ofd", copies.trust, INSIDE)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    failed = _failed(report)
    assert "signature 2.digests" in failed
    assert copies.a.certificate_number in failed["annotation.certificate"]


def test_annotation_qr_pasted_onto_another_certificate_is_named(copies: Copies) -> None:
    """A photo of B's copy with A's 加注 band pasted over B's: the band's QR names A."""
    dpi = 150
    pages = {}
    for who, item in (("a", copies.a), ("b", copies.b)):
        png = run(
            require_tool("pdftoppm"),
            "-r",
            str(dpi),
            "-png",
            "-singlefile",
            item.pdf,
            Path(str(item.pdf) + f".{who}"),
        )
        assert png.returncode == 0
        pages[who] = Image.open(str(item.pdf) + f".{who}.png").convert("RGB")
    x, y, w, h = (round(v * dpi / 25.4) for v in (20, 239, 170, 22))
    pages["b"].paste(pages["a"].crop((x, y, x + w, y + h)), (x, y))
    out = io.BytesIO()
    pages["b"].save(out, "PNG")
    report = verify_bytes(out.getvalue(), "pasted.png", copies.trust, INSIDE)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert copies.a.certificate_number in _failed(report)["annotation.certificate"]
    assert len(report.qr_text) == 2  # B's certificate QR and A's band QR were both read
    assert read_claims(report.qr_text[0]).number in (
        copies.a.certificate_number,
        copies.b.certificate_number,
    )


def test_copies_are_recorded_with_their_digests(copies: Copies) -> None:
    import hashlib

    from sqlalchemy import select

    from docgen.registry.models import AnnotationRow

    with Registry.open(copies.url) as registry, registry.reading() as session:
        row = session.scalars(
            select(AnnotationRow).where(AnnotationRow.number == copies.a.number)
        ).one()
        assert row.ofd_path == str(copies.a.ofd) and row.pdf_path == str(copies.a.pdf)
        for path, digest in ((copies.a.ofd, row.ofd_sha256), (copies.a.pdf, row.pdf_sha256)):
            assert path is not None
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not list((copies.a.ofd.parent).glob(".*.staged"))  # type: ignore[union-attr]
