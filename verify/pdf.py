"""Verify a PDF: structure, every signature through pyHanko (integrity, trust, and what
changed after signing), printed text and QR through poppler.

What may follow a signature: nothing, permitted updates (pyHanko's NONE and LTA_UPDATES), or
form filling — a new signature field and its signature, as in an annotated copy (加注) — but
only when a later signature that is intact, trusted and covers the whole file vouches for it.

pyHanko raises on malformed signatures instead of returning a status; every such error is
caught and reported as a failed check with its reason.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as a509
from PIL import Image
from pyhanko.pdf_utils.generic import DictionaryObject
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from docgen.kinds import KIND_NAMES, load_kind
from docgen.metadata import METADATA_PREFIX

from .qrscan import ScanResult, scan_image
from .report import Outcome, Report, SignatureInfo
from .trust import TrustList, describe, organization

__all__ = ["RENDER_DPI", "PdfFacts", "check_pdf"]

# pyHanko logs every validation problem with a traceback; the report states them itself.
for _logger in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_logger).addHandler(logging.NullHandler())

#: Resolution pages are rendered at to look for the QR code.
RENDER_DPI = 200
_PERMITTED = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
_METADATA_PREFIX = f"/{METADATA_PREFIX}"
_TOOL_TIMEOUT = 20
#: The largest page rendered whole to look for a QR (an A2 page at RENDER_DPI is 31
#: megapixels); a larger one would make pdftoppm allocate gigabytes.
MAX_RENDER_PIXELS = 40_000_000
_MAX_PAGES = 1000
_MAX_DEPTH = 32
#: White margin around a kind's QR box when only that region is rendered.
_QR_MARGIN_MM = 4.0


@dataclass
class PdfFacts:
    """What the PDF says, for the consistency step."""

    metadata: dict[str, str] = field(default_factory=dict)
    text: str = ""
    qr: ScanResult | None = None


def _pages(
    source: Path, first: int, last: int | None, crop: tuple[int, int, int, int] | None = None
) -> list[Image.Image]:
    """Pages ``first``..``last`` (None: to the end) of the PDF file ``source`` rendered at
    :data:`RENDER_DPI` as plain PPM (PNG would spend four times the rendering on compressing
    what is read at once); with ``crop`` (x, y, width, height in pixels), only that region
    of each."""
    with tempfile.TemporaryDirectory(prefix="verify-", dir=source.parent) as folder:
        asked = ["-f", str(first)] + (["-l", str(last)] if last is not None else [])
        if crop is not None:
            asked += ["-x", str(crop[0]), "-y", str(crop[1])]
            asked += ["-W", str(crop[2]), "-H", str(crop[3])]
        subprocess.run(
            ["pdftoppm", "-r", str(RENDER_DPI), *asked, str(source), str(Path(folder) / "p")],
            capture_output=True,
            check=False,
            timeout=_TOOL_TIMEOUT,
        )
        pages = []
        for path in sorted(Path(folder).glob("p-*.ppm")):
            with Image.open(path) as image:
                image.load()
                pages.append(image.copy())
        return pages


def _qr_regions(metadata: dict[str, str]) -> list[tuple[int, tuple[int, int, int, int]]]:
    """Where a certificate of the kind the metadata names prints its QR code: (page, crop
    in pixels at :data:`RENDER_DPI`). Only a hint for where to look first: the metadata is
    not trusted, and a QR elsewhere is still found by rendering the whole pages."""
    code = metadata.get("LicenceTypeCode")
    kind = next((k for k in map(load_kind, KIND_NAMES) if k.type_code == code), None)
    if kind is None:
        return []
    scale = RENDER_DPI / 25.4
    regions = []
    for number, page in enumerate(kind.pages, 1):
        for item in page["items"]:
            if item.get("type") == "qr":
                x, y, w, h = (float(v) for v in item["box"])
                pad = _QR_MARGIN_MM
                regions.append(
                    (
                        number,
                        (
                            max(0, round((x - pad) * scale)),
                            max(0, round((y - pad) * scale)),
                            round((w + 2 * pad) * scale),
                            round((h + 2 * pad) * scale),
                        ),
                    )
                )
    return regions


def _text_of(source: Path) -> subprocess.Popen[bytes]:
    """pdftotext started on ``source``: it runs while the pages are rendered."""
    return subprocess.Popen(
        ["pdftotext", "-q", str(source), "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def _text(process: subprocess.Popen[bytes]) -> str:
    try:
        out, _ = process.communicate(timeout=_TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out.decode("utf-8", "replace")


def _scan_pages(
    source: Path,
    renderable: list[bool],
    hints: list[tuple[int, tuple[int, int, int, int]]],
) -> ScanResult | None:
    """The QR of the first page that has one: first where the kind prints it (``hints``),
    then page 1 whole (where our certificates carry it), the others only when it has none.
    Only pages marked ``renderable`` are rendered whole."""
    count = len(renderable)
    last = None
    for number, crop in hints:
        if number <= count:
            for region in _pages(source, number, number, crop):
                last = scan_image(region)
                if last.found:
                    return last
    rest = [n for n in range(2, count + 1) if renderable[n - 1]]
    runs: list[tuple[int, int | None]] = [(1, 1)] if count and renderable[0] else []
    if rest and len(rest) == count - 1:
        runs.append((2, None))  # the usual case: every other page at once
    else:
        runs += [(n, n) for n in rest]
    for first, final in runs:
        for page in _pages(source, first, final):
            last = scan_image(page)
            if last.found:
                return last
    return last


def _page_sizes(reader: PdfFileReader) -> list[tuple[float, float]] | None:
    """Each page's size in points (MediaBox × UserUnit), walking at most
    :data:`_MAX_PAGES` pages of the page tree; None when the tree cannot be read."""
    sizes: list[tuple[float, float]] = []

    def walk(node: Any, box: Any, depth: int) -> None:
        if len(sizes) >= _MAX_PAGES or depth > _MAX_DEPTH:
            return
        node = node.get_object()
        box = node.get("/MediaBox", box)
        kids = node.get("/Kids")
        if kids is not None:
            for kid in kids:
                walk(kid, box, depth + 1)
            return
        x0, y0, x1, y1 = (float(v) for v in box)
        unit = float(node.get("/UserUnit", 1))
        sizes.append((abs(x1 - x0) * unit, abs(y1 - y0) * unit))

    try:
        walk(reader.root["/Pages"], None, 0)
    except (KeyError, PdfError, TypeError, ValueError, AttributeError, RecursionError):
        return None
    return sizes


def _renderable(reader: PdfFileReader, report: Report) -> list[bool]:
    """Which pages may be rendered whole; pages too large are named in the report."""
    sizes = _page_sizes(reader)
    if sizes is None:  # an unreadable page tree: poppler may still read it, page by page
        return [True] * _page_count(reader)
    scale = RENDER_DPI / 72
    allowed = [w * scale * h * scale <= MAX_RENDER_PIXELS for w, h in sizes]
    for number, ((w, h), ok) in enumerate(zip(sizes, allowed, strict=True), 1):
        if not ok:
            report.add(
                "qr",
                "pdf.page_size",
                Outcome.INFO,
                f"page {number} is {w / 72 * 25.4:.0f} × {h / 72 * 25.4:.0f} mm: too large to "
                f"render for a QR (at most {MAX_RENDER_PIXELS // 1_000_000} megapixels at "
                f"{RENDER_DPI} dpi)",
            )
            break  # one line says it
    return allowed


def _page_count(reader: PdfFileReader) -> int:
    try:
        count = reader.root["/Pages"]["/Count"]
    except (KeyError, PdfError, TypeError):
        return 2  # unknown: look past page 1 too
    return int(count) if isinstance(count, int) else 2


def _metadata(reader: PdfFileReader) -> dict[str, str]:
    try:
        info = reader.trailer_view["/Info"]
    except (KeyError, PdfError, TypeError):
        return {}
    out = {}
    if isinstance(info, DictionaryObject):
        for key, value in info.items():
            if str(key).startswith(_METADATA_PREFIX):
                out[str(key)[len(_METADATA_PREFIX) :]] = str(value)
    return out


def _roots(trust: TrustList) -> list[a509.Certificate]:
    roots = []
    for profile, certs in trust.roots.items():
        if profile != "sm2":  # PDF signatures use ECDSA/RSA
            roots += [a509.Certificate.load(c) for c in certs]
    return roots


@dataclass(frozen=True)
class _Validated:
    """One embedded signature after pyHanko: its status, or why there is none."""

    status: PdfSignatureStatus | None
    error: str = ""

    @property
    def intact(self) -> bool:
        return self.status is not None and bool(self.status.intact and self.status.valid)

    def why_not_a_voucher(self) -> str | None:
        """Why this signature cannot vouch for an earlier revision (None when it can): it
        must be intact, trusted and cover the whole file."""
        if self.status is None:
            return "cannot be validated"
        if not self.intact:
            return "does not verify"
        if not self.status.trusted:
            return "is not trusted"
        if self.status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
            coverage = self.status.coverage
            return f"does not cover the whole file ({coverage.name if coverage else 'unknown'})"
        return None


def _validate(embedded: EmbeddedPdfSignature, trust: TrustList) -> _Validated:
    context = ValidationContext(trust_roots=_roots(trust), allow_fetching=False)
    try:
        return _Validated(validate_pdf_signature(embedded, context))
    except Exception as exc:
        return _Validated(None, f"{type(exc).__name__}: {exc}")


def _changes(n: int, status: PdfSignatureStatus, later: list[_Validated]) -> tuple[Outcome, str]:
    """Whether what was added after signature ``n`` (0-based) is acceptable: nothing (the
    signature covers the whole file), only permitted updates, or form filling (a new
    signature field and its signature) vouched for by a later signature that is intact,
    trusted and covers the whole file."""
    coverage = status.coverage
    level = status.modification_level
    if coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return Outcome.PASS, "the signature covers the whole file"
    if level in _PERMITTED:
        return Outcome.PASS, (
            f"only permitted updates after signing ({level.name if level else 'none'})"
        )
    if level is not ModificationLevel.FORM_FILLING:
        return Outcome.FAIL, (
            "modified after signing: an incremental update changes the document "
            f"({level.name if level else coverage.name if coverage else 'unknown'})"
        )
    if status.docmdp_ok is False:
        return Outcome.FAIL, (
            "modified after signing: form fields or signatures were added (FORM_FILLING) "
            "against the document's certification (DocMDP) permissions"
        )
    reasons = []
    for m, other in enumerate(later, start=n + 2):
        why = other.why_not_a_voucher()
        if why is None:
            return Outcome.PASS, (
                "a later signature, trusted and covering the whole file, vouches for the "
                f"update (FORM_FILLING): signature {m} signed everything added after this one"
            )
        reasons.append(f"signature {m} {why}")
    because = "; ".join(reasons) if reasons else "there is no later signature"
    return Outcome.FAIL, (
        "modified after signing: form fields or signatures were added (FORM_FILLING) and no "
        f"later trusted signature covering the whole file vouches for them ({because})"
    )


def _report_signature(n: int, result: _Validated, later: list[_Validated], report: Report) -> None:
    label = f"signature {n + 1}"
    status = result.status
    if status is None:
        report.add(
            "signature",
            f"{label}.integrity",
            Outcome.FAIL,
            f"the signature cannot be validated: {result.error}",
        )
        report.signatures.append(SignatureInfo("PDF (PAdES)", "unknown", False, None))
        return
    signer = describe(status.signing_cert.dump()) if status.signing_cert else "unknown"
    intact = result.intact
    report.add(
        "signature",
        f"{label}.integrity",
        Outcome.PASS if intact else Outcome.FAIL,
        "signed bytes and signature value verify"
        if intact
        else "the signed bytes or the signature value do not verify",
    )
    outcome, detail = _changes(n, status, later)
    report.add("signature", f"{label}.changes", outcome, detail)
    trusted = bool(status.trusted)
    if intact:
        report.add(
            "signature",
            f"{label}.trust",
            Outcome.PASS if trusted else Outcome.FAIL,
            f"{signer} chains to a trusted root"
            if trusted
            else f"{signer} is not trusted by the trust list",
            evidence=trusted,
        )
    signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    org = organization(status.signing_cert.dump()) if status.signing_cert else None
    coverage = status.coverage
    report.signatures.append(
        SignatureInfo(
            "PDF (PAdES)",
            signer,
            intact,
            trusted if intact else None,
            signed_at,
            coverage.name if coverage else "",
            organization=org,
        )
    )


def check_pdf(data: bytes, report: Report, trust: TrustList) -> PdfFacts:
    """Run steps 1-3 on a PDF file; returns what the consistency step needs."""
    report.format = "pdf"
    facts = PdfFacts()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        facts.metadata = _metadata(reader)
    except Exception as exc:
        report.add(
            "format",
            "pdf.structure",
            Outcome.FAIL,
            f"the PDF structure is broken: {type(exc).__name__}: {exc}",
        )
        return facts
    report.add("format", "pdf.structure", Outcome.PASS, "PDF parsed")
    # A signature dictionary that cannot be read (no or a malformed /ByteRange, /Contents
    # that is no CMS) fails the signature step by name; the page is still read for its QR.
    unreadable: str | None = None
    try:
        signatures = list(reader.embedded_signatures)
    except Exception as exc:
        signatures = []
        unreadable = f"{type(exc).__name__}: {exc}"
    # An original certificate (one signature) shows one QR where its kind prints it; an
    # annotated copy has a second one in its band: the whole page is read for it.
    hints = _qr_regions(facts.metadata) if len(signatures) == 1 else []
    renderable = _renderable(reader, report)
    with tempfile.TemporaryDirectory(prefix="verify-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        text = _text_of(source)  # runs while the pages are rendered and read
        try:
            facts.qr = _scan_pages(source, renderable, hints)
        finally:
            facts.text = _text(text)
    if unreadable is not None:
        report.add(
            "signature",
            "pdf.signatures",
            Outcome.FAIL,
            f"a signature field's signature cannot be read ({unreadable}): a damaged or "
            "forged signature dictionary",
        )
    elif not signatures and b"/ByteRange" in data:
        report.add(
            "signature",
            "pdf.signatures",
            Outcome.FAIL,
            "the file holds a signature dictionary (/ByteRange) but no signature field "
            "leads to it: the signature was damaged or hidden",
        )
    elif not signatures:
        report.add("signature", "pdf.signatures", Outcome.INFO, "no signatures")
    # Every signature is validated first: whether what was added after one signature is
    # acceptable may depend on the signatures that follow it.
    results = [_validate(embedded, trust) for embedded in signatures]
    for n, result in enumerate(results):
        _report_signature(n, result, results[n + 1 :], report)
    return facts
