"""Verify a file or an image: the five steps, assembled into one :class:`Report`."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from docgen.annotation.rules import AnnotationRules
from docgen.kinds import load_kind
from docgen.metadata import HOLDER, IDENTIFIER, ISSUE_DATE, NUMBER, VALID_TO
from docgen.qrpayload import (
    PREFIX,
    AnnotationClaims,
    PayloadError,
    QRClaims,
    is_annotation,
    masked,
    verify_annotation,
)
from docgen.qrpayload import verify_payload as verify_qr

from .qrscan import ScanResult, scan_image, size_problem
from .report import Outcome, Report, Verdict
from .status import StatusSources
from .trust import TrustedSigner, TrustList, organization

__all__ = ["sniff", "verify_bytes", "verify_path", "verify_qr_text"]

_PNG = b"\x89PNG"
_JPEG = b"\xff\xd8"


def sniff(data: bytes) -> str | None:
    """What a file is by its first bytes: ``ofd`` (a ZIP), ``pdf``, ``image`` (PNG or
    JPEG), or None."""
    if data[:2] == b"PK":
        return "ofd"
    if data[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] == _PNG or data[:2] == _JPEG:
        return "image"
    return None


def _claims_dict(claims: QRClaims, issuer: str, generation: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": claims.kind,
        "number": claims.number,
        "version": claims.version,
        "holder": claims.holder,
        "id_number": masked(claims.id_hint),
        "issued": claims.issued.isoformat(),
        "valid_from": claims.valid_from.isoformat() if claims.valid_from else None,
        "valid_to": claims.valid_to.isoformat() if claims.valid_to else None,
        "review_date": claims.review.isoformat() if claims.review else None,
        "status_index": claims.status_index,
        "issuer": issuer,
        "signer_generation": generation,
    }
    return {k: v for k, v in out.items() if v is not None}


def _qr_step(
    scan: ScanResult | None, report: Report, trust: TrustList, image_only: bool
) -> tuple[QRClaims, TrustedSigner] | None:
    """Find, check and record the signed QR payload; returns its claims and signer."""
    if scan is None or not scan.found:
        outcome = Outcome.CANNOT if image_only else Outcome.INFO
        report.add(
            "qr",
            "qr.found",
            outcome,
            "no QR code could be read"
            + (f" ({scan.attempts} attempts)" if scan is not None else ""),
        )
        return None
    report.qr_text = list(scan.texts)
    report.decoder = f"{scan.decoder}/{scan.step}"
    report.add(
        "qr",
        "qr.found",
        Outcome.PASS,
        f"{len(scan.texts)} QR code(s) read by {scan.decoder} ({scan.step})",
    )
    ours = [t for t in scan.texts if t.startswith(PREFIX) and not _is_annotation(t)]
    if not ours:
        report.add(
            "qr",
            "qr.payload",
            Outcome.INFO if not image_only else Outcome.FAIL,
            f"the QR holds no signed certificate payload (it reads {scan.texts[0][:40]!r}…)",
        )
        return None
    text = ours[0]
    try:
        claims, kid = verify_qr(text, trust.qr_certificates())
    except PayloadError as exc:
        report.add("qr", "qr.signature", Outcome.FAIL, f"signed payload rejected: {exc}")
        return None
    signer = trust.signer_by_kid(kid)
    assert signer is not None  # verify_qr found its certificate by this kid
    report.add(
        "qr",
        "qr.signature",
        Outcome.PASS,
        f"COSE signature valid; key {kid.hex()} is {signer.issuer_name}'s signer "
        f"(generation {signer.generation})",
        evidence=True,
    )
    issued = claims.issued
    if signer.not_before.date() <= issued <= signer.not_after.date():
        report.add(
            "qr",
            "qr.key_validity",
            Outcome.PASS,
            f"the key was valid on the issue date {issued.isoformat()}",
        )
    else:
        report.add(
            "qr",
            "qr.key_validity",
            Outcome.FAIL,
            f"the key was not valid on the issue date {issued.isoformat()} "
            f"({signer.not_before.date()} – {signer.not_after.date()})",
        )
    report.certificate = _claims_dict(claims, signer.issuer_name, signer.generation)
    return claims, signer


def _is_annotation(text: str) -> bool:
    try:
        return is_annotation(text)
    except PayloadError:
        return False


def _annotation_texts(scan: ScanResult | None) -> list[str]:
    """The 加注 payloads among the QR texts read."""
    texts = scan.texts if scan is not None and scan.found else []
    return [t for t in texts if t.startswith(PREFIX) and _is_annotation(t)]


def _annotation_step(
    texts: list[str], claims: QRClaims | None, trust: TrustList, at: datetime, report: Report
) -> TrustedSigner | None:
    """Check an annotated copy's 加注: signed by a trusted key, for this very certificate
    version, within the kind's longest window, and open on the checked day. Returns the
    annotation's signer when its signature verified."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) > 1:
        report.add(
            "annotation",
            "annotation.count",
            Outcome.FAIL,
            f"{len(distinct)} different 加注 codes on one copy: an annotated copy has one",
        )
    try:
        annotation, kid = verify_annotation(distinct[0], trust.qr_certificates())
    except PayloadError as exc:
        report.add("annotation", "annotation.signature", Outcome.FAIL, f"加注 code rejected: {exc}")
        return None
    signer = trust.signer_by_kid(kid)
    assert signer is not None  # verify_annotation found its certificate by this kid
    report.add(
        "annotation",
        "annotation.signature",
        Outcome.PASS,
        f"加注 {annotation.annotation} is signed by {signer.issuer_name}'s key {kid.hex()}",
    )
    report.annotation = _annotation_dict(annotation)
    _annotation_binding(annotation, claims, report)
    _annotation_window(annotation, at, report)
    return signer


def _annotation_dict(annotation: AnnotationClaims) -> dict[str, Any]:
    return {
        "number": annotation.annotation,
        "scenario": annotation.scenario,
        "valid_from": annotation.valid_from.isoformat(),
        "valid_to": annotation.valid_to.isoformat(),
        "certificate": f"{annotation.number} v{annotation.version}",
    }


def _annotation_binding(
    annotation: AnnotationClaims, claims: QRClaims | None, report: Report
) -> None:
    ours = (annotation.kind, annotation.number, annotation.version)
    if claims is None:
        report.add(
            "annotation",
            "annotation.certificate",
            Outcome.CANNOT,
            f"the 加注 is for certificate {annotation.number} v{annotation.version}, but no "
            "certificate QR was read to compare it with",
        )
    elif ours != (claims.kind, claims.number, claims.version):
        report.add(
            "annotation",
            "annotation.certificate",
            Outcome.FAIL,
            f"the 加注 belongs to certificate {annotation.number} v{annotation.version}, this "
            f"copy shows {claims.number} v{claims.version}: it was moved from another copy",
        )
    else:
        report.add(
            "annotation",
            "annotation.certificate",
            Outcome.PASS,
            f"the 加注 is for this certificate ({claims.number} v{claims.version})",
        )
    rules = AnnotationRules.of(load_kind(annotation.kind))
    days = (annotation.valid_to - annotation.valid_from).days + 1
    if rules is None or days > rules.max_days or annotation.scenario not in rules.scenarios:
        allowed = f"{'、'.join(rules.scenarios)}, ≤ {rules.max_days} days" if rules else "none"
        report.add(
            "annotation",
            "annotation.rules",
            Outcome.FAIL,
            f"the 加注 ({annotation.scenario}, {days} days) breaks the kind's rules ({allowed})",
        )


def _annotation_window(annotation: AnnotationClaims, at: datetime, report: Report) -> None:
    day = at.date()
    span = f"{annotation.valid_from.isoformat()} – {annotation.valid_to.isoformat()}"
    if day < annotation.valid_from:
        outcome, detail = Outcome.FAIL, f"the 加注 is not yet valid: {span}"
    elif day > annotation.valid_to:
        outcome, detail = (
            Outcome.FAIL,
            f"the 加注 expired on {annotation.valid_to.isoformat()} ({span}); the holder "
            "must annotate the certificate again",
        )
    else:
        outcome, detail = Outcome.PASS, f"the 加注 is valid on {day.isoformat()} ({span})"
    report.add(
        "validity",
        "annotation_window",
        outcome,
        f"{detail} — {annotation.scenario}, 加注 {annotation.annotation}",
    )


def _first(metadata: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((metadata[k] for k in keys if k in metadata), None)


def _consistency(claims: QRClaims, metadata: dict[str, str], text: str, report: Report) -> None:
    """The QR's number and holder against the file's metadata and its text layer."""
    problems = []
    number, holder = _first(metadata, NUMBER), _first(metadata, HOLDER)
    if number is not None and number != claims.number:
        problems.append(f"the file's metadata says number {number}, the QR {claims.number}")
    if holder is not None and holder != claims.holder:
        problems.append(f"the file's metadata says holder {holder}, the QR {claims.holder}")
    flat = "".join(text.split())  # a scan's PDF has no text layer: nothing to compare
    if flat and claims.number not in flat:
        problems.append(f"the QR's number {claims.number} is not printed on the certificate")
    if flat and "".join(claims.holder.split()) not in flat:
        problems.append(f"the QR's holder {claims.holder} is not printed on the certificate")
    if problems:
        report.add("consistency", "qr_vs_file", Outcome.FAIL, "; ".join(problems))
    elif metadata or flat:
        report.add(
            "consistency",
            "qr_vs_file",
            Outcome.PASS,
            "the QR's number and holder match the file's metadata and printed text",
        )
    else:
        report.add(
            "consistency",
            "printed_fields",
            Outcome.INFO,
            "no text layer (a scan): compare the signed data below with what is printed",
        )


def _born_digital_is_sealed(kind: str, text: str, report: Report) -> None:
    """A file made by the issuer (an OFD, or a PDF with a text layer) that shows a signed QR
    must carry a file signature: the QR vouches only for number, holder and dates, the file
    signature for everything printed. Only scans (image-only) rest on the QR alone."""
    born_digital = kind == "ofd" or bool("".join(text.split()))
    if born_digital and not report.signatures:
        report.add(
            "signature",
            "file_signature",
            Outcome.FAIL,
            "the file shows a genuine QR but carries no file signature: its printed fields "
            "are not protected (issued certificates are always sealed)",
        )


def _signers_agree(report: Report, *qr_bodies: str | None) -> None:
    """Trusted file signatures and the QR codes (the certificate's, an annotation's) must
    come from one issuing body (compared by the organisation, O, of their certificates)."""
    bodies = {s.organization for s in report.signatures if s.trusted and s.organization}
    everyone = bodies | {b for b in qr_bodies if b}
    qr_body = next((b for b in qr_bodies if b), None)
    if len(everyone) > 1:
        report.add(
            "consistency",
            "signers_agree",
            Outcome.FAIL,
            f"signatures come from different bodies: {'、'.join(sorted(everyone))}",
        )
    elif bodies and qr_body:
        report.add(
            "consistency",
            "signers_agree",
            Outcome.PASS,
            f"the file signature and the QR are both {qr_body}'s",
        )


def _validity(
    claims: QRClaims | None, metadata: dict[str, str], at: datetime, report: Report
) -> None:
    day = at.date()
    issued: date | None = claims.issued if claims else None
    valid_to: date | None = claims.valid_to if claims else None
    if claims is None:
        raw_from = _first(metadata, ISSUE_DATE)
        raw_to = _first(metadata, VALID_TO)
        issued = _date(raw_from)
        valid_to = _date(raw_to)
    if issued is None:
        return
    if issued > day:
        report.add(
            "validity",
            "not_before",
            Outcome.FAIL,
            f"issued {issued.isoformat()}, after the checked day {day.isoformat()}",
        )
        return
    if valid_to is not None and valid_to < day:
        report.add(
            "validity",
            "not_after",
            Outcome.FAIL,
            f"expired on {valid_to.isoformat()} (checked {day.isoformat()})",
        )
        return
    if claims is not None and claims.review is not None and claims.review < day:
        report.add(
            "validity",
            "review",
            Outcome.FAIL,
            f"逾期未复审 review overdue: 应复审日期 {claims.review.isoformat()} has passed",
        )
        return
    until = f"until {valid_to.isoformat()}" if valid_to else "without an end date"
    report.add(
        "validity",
        "in_force",
        Outcome.PASS,
        f"in force on {day.isoformat()} (issued {issued.isoformat()}, {until})",
    )


def _annotation_needed(claims: QRClaims, issuer_code: str, report: Report) -> None:
    """Say when the kind is shown to others only as an annotated (加注) copy."""
    rules = AnnotationRules.of(load_kind(claims.kind))
    if rules is None or not rules.required or rules.exemption(claims.issued, issuer_code):
        return
    report.add(
        "validity",
        "annotation",
        Outcome.INFO,
        f"{load_kind(claims.kind).type_name}: shown to others as an annotated copy (加注: "
        f"{'、'.join(rules.scenarios)}, at most {rules.max_days} days); this copy carries no "
        "annotation",
    )


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def verify_bytes(
    data: bytes,
    source: str,
    trust: TrustList,
    at: datetime,
    status: StatusSources | None = None,
) -> Report:
    """Verify the bytes of an OFD, PDF, PNG or JPEG file; never raises.

    ``status`` says where the certificate's current status comes from (a registry, signed
    status lists); without it the report says the status was not checked.
    An unexpected error (a defect here, not a verdict on the input) gives a
    ``cannot_verify`` report that names it.
    """
    try:
        return _verify(data, source, trust, at, status or StatusSources())
    except Exception as exc:  # the last line of defence against hostile input
        report = Report(source)
        report.unreadable = f"internal error while checking ({type(exc).__name__}: {exc})"
        return report


def verify_qr_text(
    text: str,
    trust: TrustList,
    at: datetime,
    status: StatusSources | None = None,
) -> Report:
    """Verify QR text as a scanner read it (pasted, or decoded in a browser): the same steps
    as for a photo whose QR was read, without a file; never raises."""
    scan = ScanResult((text.strip(),), "text", "as given", 0, 0.0)
    try:
        return _verify(b"", "qr-text", trust, at, status or StatusSources(), scan)
    except Exception as exc:  # the last line of defence against hostile input
        report = Report("qr-text")
        report.unreadable = f"internal error while checking ({type(exc).__name__}: {exc})"
        return report


def _verify(
    data: bytes,
    source: str,
    trust: TrustList,
    at: datetime,
    status: StatusSources,
    read: ScanResult | None = None,
) -> Report:
    report = Report(source)
    kind = "image" if read is not None else sniff(data)
    if kind is None:
        report.unreadable = "unsupported format: not OFD, PDF, PNG or JPEG"
        return report
    if not trust.sources:
        report.add(
            "format", "trust_list", Outcome.INFO, "no trust list given: no signer can be trusted"
        )
    metadata: dict[str, str] = {}
    text = ""
    annotation_texts: list[str] = []
    if read is not None:
        report.format = "qr-text"
        scan: ScanResult | None = read
    elif kind == "image":
        report.format = "image"
        try:
            image = Image.open(io.BytesIO(data))
            too_large = size_problem(image)
            if too_large is not None:
                report.unreadable = too_large
                return report
            image.load()
        except Image.DecompressionBombError as exc:  # raised by open() itself, over 178 Mpx
            report.unreadable = f"the image is too large to read ({exc})"
            return report
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            report.unreadable = f"not a readable image: {exc}"  # SyntaxError: a broken PNG
            return report
        report.add(
            "format",
            "image",
            Outcome.PASS,
            f"{image.format} image {image.size[0]}×{image.size[1]} px",
        )
        scan = scan_image(image)
    elif kind == "ofd":
        from .ofd import check_ofd  # each format's reader only for a file of its format

        ofd = check_ofd(data, report, trust)
        scan, metadata, text = ofd.qr, ofd.metadata, ofd.text
        annotation_texts = list(ofd.annotations)
    else:
        from .pdf import check_pdf  # pyHanko takes 0.1 s to import: only for a PDF

        pdf = check_pdf(data, report, trust)
        scan, metadata, text = pdf.qr, pdf.metadata, pdf.text
    if report.unreadable:
        return report
    signed_qr = _qr_step(scan, report, trust, image_only=kind == "image")
    claims = signed_qr[0] if signed_qr else None
    if claims is not None and kind != "image":
        _consistency(claims, metadata, text, report)
        _born_digital_is_sealed(kind, text, report)
    annotation_texts += _annotation_texts(scan)
    annotation_signer = (
        _annotation_step(annotation_texts, claims, trust, at, report) if annotation_texts else None
    )
    _signers_agree(
        report,
        organization(signed_qr[1].certificate) if signed_qr else None,
        organization(annotation_signer.certificate) if annotation_signer else None,
    )
    if claims is not None and kind == "image":
        report.add(
            "consistency",
            "printed_fields",
            Outcome.INFO,
            "compare the signed data below with what is printed",
        )
    _validity(claims, metadata, at, report)
    if claims is not None and signed_qr is not None and not annotation_texts:
        _annotation_needed(claims, signed_qr[1].issuer_code, report)
    if report.verdict is not Verdict.NOT_AUTHENTIC:
        status.check(
            report,
            data,
            claims,
            signed_qr[1] if signed_qr else None,
            _first(metadata, IDENTIFIER),
            trust,
            at,
        )
    return report


def verify_path(
    path: Path, trust: TrustList, at: datetime, status: StatusSources | None = None
) -> Report:
    """Verify a file on disk; an unreadable path gives a ``cannot_verify`` report."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        report = Report(str(path))
        report.unreadable = f"cannot read {path}: {exc.strerror}"
        return report
    return verify_bytes(data, str(path), trust, at, status)
