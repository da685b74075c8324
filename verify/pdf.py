"""Verify a PDF: structure, every signature through pyHanko (integrity, trust, and what
changed after signing), printed text through poppler, and the QR: read from the file's own
picture when its one signature is intact, trusted and covers the whole file (every byte is
then the issuer's; :mod:`verify.pdfpictures`), else from the pages as poppler renders them.

What may follow a signature: nothing, permitted updates (pyHanko's NONE and LTA_UPDATES), or
form filling — a new signature field and its signature, as in an annotated copy (加注) — but
only when a later signature that is intact, trusted and covers the whole file vouches for it.

pyHanko raises on malformed signatures instead of returning a status; every such error is
caught and reported as a failed check with its reason.
"""

from __future__ import annotations

import io
import logging
import math
import re
import resource
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import lean_pyhanko  # noqa: F401  (before pyhanko.sign: see there)

# isort: split
from asn1crypto import x509 as a509
from PIL import Image
from pyhanko.pdf_utils.filters import get_generic_decoder
from pyhanko.pdf_utils.generic import ArrayObject, DictionaryObject, StreamObject
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from docgen.kinds import KIND_NAMES, load_kind
from docgen.metadata import METADATA_PREFIX

from .pdfpictures import qr_pictures
from .qrscan import MAX_IMAGE_BYTES, ScanResult, scan_image, scan_pictures
from .report import Outcome, Report, SignatureInfo
from .trust import TrustList, describe, name_problem, organization

__all__ = [
    "MAX_PAGE_CONTENT_BYTES",
    "MAX_RENDER_PIXELS",
    "POPPLER_MEGABYTES",
    "POPPLER_SECONDS",
    "RENDER_DPI",
    "PdfFacts",
    "check_pdf",
]

# pyHanko logs every validation problem with a traceback; the report states them itself.
for _logger in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_logger).addHandler(logging.NullHandler())

#: Resolution pages are rendered at to look for the QR code.
RENDER_DPI = 200
_PERMITTED = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
_METADATA_PREFIX = f"/{METADATA_PREFIX}"
#: Wall-clock time for rendering a PDF's pages and reading them for a QR, and for reading
#: its text beside (our certificates take 0.05 s): then the tools and the reading are
#: stopped and what was not read is named. 64 MB of page content took pdftoppm 1.3 s; two
#: pages without a QR, rendered and read, 0.9 s.
POPPLER_SECONDS = 0.8
#: Address space of each poppler process (RLIMIT_AS; a page of MAX_RENDER_PIXELS renders
#: in 150 MB); its CPU time is held to POPPLER_SECONDS rounded up (RLIMIT_CPU).
POPPLER_MEGABYTES = 512
#: The largest page rendered whole to look for a QR: the rendered page is read as an RGB
#: picture, so the bound on pictures read (qrscan.MAX_IMAGE_BYTES, 4 bytes a pixel) holds
#: here too (an A3 page at RENDER_DPI is 7.8 megapixels, A2 31); a larger one would make
#: pdftoppm allocate gigabytes, and reading it more than a verification may take.
MAX_RENDER_PIXELS = MAX_IMAGE_BYTES // 4
#: The most the pages' content streams may unpack to, counted from page 1, for a page to be
#: rendered or its text read (our certificates hold 4-9 kB in all, a dense vector drawing a
#: few MB); counted with a bounded decompressor before poppler sees the file (pdftoppm
#: parsed 64 MB of page content for 1.3 s).
MAX_PAGE_CONTENT_BYTES = 8 * 1024 * 1024
#: A signature dictionary's byte range as it stands in the file (it is never compressed:
#: its offsets are into the file's bytes). More of them than signatures is a wrapping.
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[")
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


def _limited(command: list[str]) -> list[str]:
    """``command`` run by util-linux's ``prlimit`` with its address space and CPU time
    bounded (never above what this process may have). Not a ``preexec_fn``: that makes
    Python fork this whole process for each tool instead of spawning it (8 ms against 2 a
    start here), and a verification starts two."""
    space = POPPLER_MEGABYTES * 2**20
    seconds = math.ceil(POPPLER_SECONDS)
    for which in (resource.RLIMIT_AS, resource.RLIMIT_CPU):
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            if which == resource.RLIMIT_AS:
                space = min(space, hard)
            else:
                seconds = min(seconds, hard)
    return ["prlimit", f"--as={space}", f"--cpu={seconds}:", "--", *command]


# What pyHanko raises reading a damaged object graph (it asserts that the root is a
# dictionary, for one).
_DAMAGED = (
    KeyError,
    PdfError,
    TypeError,
    ValueError,
    AttributeError,
    RecursionError,
    AssertionError,
)
_OUT_OF_MEMORY = b"Out of memory"  # what poppler says when its address space runs out


class _Stopped(Exception):
    """Poppler was stopped: its time ran out, or a limit killed it."""


#: A step of the QR search: pages first..last (None: to the end), and the region of each
#: to render (x, y, width, height in pixels at RENDER_DPI; None: the whole page).
_Step = tuple[int, int | None, tuple[int, int, int, int] | None]


@dataclass
class _Rendering:
    """pdftoppm at work on one step of the QR search, writing its pages into ``folder``."""

    process: subprocess.Popen[bytes]
    folder: Path


def _render(source: Path, step: _Step) -> _Rendering:
    """pdftoppm started on ``step`` of the PDF file ``source``: its pages rendered at
    :data:`RENDER_DPI` as plain PPM (PNG would spend four times the rendering on compressing
    what is read at once) into a new folder beside ``source``."""
    first, last, crop = step
    folder = Path(tempfile.mkdtemp(prefix="pages-", dir=source.parent))
    asked = ["-f", str(first)] + (["-l", str(last)] if last is not None else [])
    if crop is not None:
        asked += ["-x", str(crop[0]), "-y", str(crop[1]), "-W", str(crop[2]), "-H", str(crop[3])]
    command = ["pdftoppm", "-q", "-r", str(RENDER_DPI), *asked, str(source), f"{folder}/p"]
    process = subprocess.Popen(_limited(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return _Rendering(process, folder)


def _pages(rendering: _Rendering, deadline: float) -> Iterator[Image.Image]:
    """The pages ``rendering`` made, one at a time, once pdftoppm is done.

    Raises:
        _Stopped: pdftoppm ran past ``deadline`` (a :func:`time.monotonic` time) or was
            killed by its limits; the pages it finished were given.
    """
    process = rendering.process
    try:
        _, errors = process.communicate(timeout=max(deadline - time.monotonic(), 0.0))
        # killed by a signal (its CPU limit, an abort) or out of its address space (it says
        # so, and exits 0 without the page)
        stopped = process.returncode < 0 or _OUT_OF_MEMORY in errors
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        stopped = True
    for path in sorted(rendering.folder.glob("p-*.ppm")):
        try:
            image = Image.open(path)
            image.load()  # read whole (the file is closed): no copy of it is needed
        except (OSError, ValueError, SyntaxError):
            continue  # the page pdftoppm was writing when it was stopped
        path.unlink()
        yield image
        del image
    if stopped:
        raise _Stopped


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


def _text_of(source: Path, pages: int | None) -> subprocess.Popen[bytes]:
    """pdftotext started on ``source`` (its first ``pages``, None: all): it runs while the
    pages are rendered."""
    last = ["-l", str(pages)] if pages is not None else []
    return subprocess.Popen(
        _limited(["pdftotext", "-q", *last, str(source), "-"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _text(process: subprocess.Popen[bytes], deadline: float) -> str | None:
    """What pdftotext wrote; None when it ran past ``deadline`` or a limit killed it."""
    try:
        if process.poll() is not None:  # done: its output is read whatever the time
            out, errors = process.communicate()
        else:
            out, errors = process.communicate(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    if process.returncode < 0 or _OUT_OF_MEMORY in errors:
        return None
    return out.decode("utf-8", "replace")


def _steps(plan: _Plan, hints: list[tuple[int, tuple[int, int, int, int]]]) -> list[_Step]:
    """Where to look for the QR, in order: first where the kind prints it (``hints``), then
    page 1 whole (where our certificates carry it), then the other pages; pages as ``plan``
    allows."""
    count = len(plan.whole)
    steps: list[_Step] = [
        (number, number, crop)
        for number, crop in hints
        if number <= count and plan.any_part[number - 1]
    ]
    if count and plan.whole[0]:
        steps.append((1, 1, None))
    rest = [n for n in range(2, count + 1) if plan.whole[n - 1]]
    if rest and len(rest) == count - 1:
        steps.append((2, None, None))  # the usual case: every other page at once
    else:
        steps += [(n, n, None) for n in rest]
    return steps


def _scan_pages(
    source: Path, steps: list[_Step], first: _Rendering | None, deadline: float
) -> tuple[ScanResult | None, bool]:
    """The QR of the first step that shows one (``first``: the first step, already
    started), and whether rendering was stopped (at ``deadline``, or by a limit) before
    every step was looked at. A step is rendered only when the ones before it showed no
    QR."""
    last = None
    try:
        for n, step in enumerate(steps):
            rendering = first if n == 0 and first is not None else _render(source, step)
            for page in _pages(rendering, deadline):
                last = scan_image(page, max(deadline - time.monotonic(), 0.0))
                if last.found:
                    return last, False
                if time.monotonic() > deadline:
                    raise _Stopped
    except _Stopped:
        return last, True
    return last, False


@dataclass(frozen=True)
class _Page:
    """A page as the page tree gives it: its size in points (MediaBox × UserUnit), its
    /Contents (a stream, an array of them, or None) and its dictionary."""

    width: float
    height: float
    contents: Any
    node: Any


def _page_tree(reader: PdfFileReader) -> list[_Page] | None:
    """The pages, walking at most :data:`_MAX_PAGES` pages of the page tree; None when the
    tree cannot be read."""
    pages: list[_Page] = []

    def walk(node: Any, box: Any, depth: int) -> None:
        if len(pages) >= _MAX_PAGES or depth > _MAX_DEPTH:
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
        size = abs(x1 - x0) * unit, abs(y1 - y0) * unit
        pages.append(_Page(*size, node.get("/Contents"), node))

    try:
        walk(reader.root["/Pages"], None, 0)
    except _DAMAGED:
        return None
    return pages


_TEXT_FILTERS = ("/ASCIIHexDecode", "/AHx", "/ASCII85Decode", "/A85")  # never larger
_CHUNK = 1024  # zlib gives nothing of a call that meets damage: fed a kilobyte at a time


def _inflated(data: bytes, limit: int) -> bytes:
    """What a zlib stream unpacks to, at most ``limit`` + 1 bytes; of a damaged one, what
    comes out before the damage (as poppler reads it), but for the last kilobyte fed."""
    inflater = zlib.decompressobj()
    out = bytearray()
    view = memoryview(data)
    for at in range(0, len(data), _CHUNK):
        try:
            out += inflater.decompress(view[at : at + _CHUNK], limit + 1 - len(out))
            while inflater.unconsumed_tail and len(out) <= limit:
                out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
        except zlib.error:
            break
        if len(out) > limit or inflater.eof:
            break
    return bytes(out)


def _unpacked(stream: StreamObject, limit: int) -> int:
    """How many bytes ``stream`` unpacks to, counted up to ``limit`` + 1: Flate by a bounded
    decompressor, the text encodings (never larger) decoded; a filter besides these stops
    the count (poppler's own limits bound what it unpacks)."""
    data = stream.encoded_data
    names = stream.get("/Filter")
    names = [names] if not isinstance(names, ArrayObject) else list(names)
    for name in (str(n) for n in names if n is not None):
        if name in ("/FlateDecode", "/Fl"):
            data = _inflated(data, limit)
        elif name in _TEXT_FILTERS:
            data = get_generic_decoder(name).decode(data, {})
        else:
            break
    return len(data)


def _content_sizes(pages: list[_Page], limit: int) -> list[int]:
    """What each page's content streams unpack to, counted until they pass ``limit`` in all
    (later pages count 0); a stream shared by pages is unpacked once but counted for each.
    A page whose content cannot be read counts 0 (poppler judges it)."""
    sizes: list[int] = []
    seen: dict[int, int] = {}
    total = 0
    for page in pages:
        size = 0
        if total <= limit:
            try:
                contents = page.contents.get_object() if page.contents is not None else None
                streams = list(contents) if isinstance(contents, ArrayObject) else [contents]
                for item in streams:
                    stream = item.get_object() if item is not None else None
                    if isinstance(stream, StreamObject):
                        if id(stream) not in seen:
                            seen[id(stream)] = _unpacked(stream, limit - total - size)
                        size += seen[id(stream)]
                    if total + size > limit:
                        break
            except _DAMAGED:
                size = 0
        total += size
        sizes.append(size)
    return sizes


@dataclass
class _Plan:
    """What poppler may do with the pages: render which whole, render any part of which,
    and read the text of how many from the first (None: all)."""

    whole: list[bool]
    any_part: list[bool]
    text_pages: int | None = None


def _plan(pages: list[_Page] | None, reader: PdfFileReader, report: Report) -> _Plan:
    """Which of the ``pages`` (None: the tree was unreadable) may be rendered; pages too
    large to render whole, and the first page whose content passes
    :data:`MAX_PAGE_CONTENT_BYTES` (it and the later ones are neither rendered nor read for
    their text), are named in the report."""
    if pages is None:  # an unreadable page tree: poppler may still read it, page by page
        count = _page_count(reader)
        return _Plan([True] * count, [True] * count)
    scale = RENDER_DPI / 72
    whole = [p.width * scale * p.height * scale <= MAX_RENDER_PIXELS for p in pages]
    for number, (page, ok) in enumerate(zip(pages, whole, strict=True), 1):
        if not ok:
            report.add(
                "qr",
                "pdf.page_size",
                Outcome.INFO,
                f"page {number} is {page.width / 72 * 25.4:.0f} × "
                f"{page.height / 72 * 25.4:.0f} mm: too large to render for a QR (at most "
                f"{MAX_RENDER_PIXELS // 1_000_000} megapixels at {RENDER_DPI} dpi)",
            )
            break  # one line says it
    plan = _Plan(whole, [True] * len(pages))
    sizes = _content_sizes(pages, MAX_PAGE_CONTENT_BYTES)
    total = 0
    for number, size in enumerate(sizes, 1):
        total += size
        if total > MAX_PAGE_CONTENT_BYTES:
            plan.whole[number - 1 :] = [False] * (len(pages) - number + 1)
            plan.any_part[number - 1 :] = [False] * (len(pages) - number + 1)
            plan.text_pages = number - 1
            which = "it and the pages after it are" if number < len(pages) else "it is"
            report.add(
                "qr",
                "pdf.page_content",
                Outcome.INFO,
                f"page {number}'s content unpacks to more than "
                f"{MAX_PAGE_CONTENT_BYTES // 2**20} MB (with the pages before it): {which} "
                "not rendered for a QR, nor read for text",
            )
            break
    return plan


def _page_count(reader: PdfFileReader) -> int:
    try:
        count = reader.root["/Pages"]["/Count"]
    except _DAMAGED:
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
        certificates = embedded.signed_data["certificates"] or []
        for choice in certificates:  # names are compared with the roots': bounded first
            if isinstance(choice.chosen, a509.Certificate):
                too_long = name_problem(choice.chosen)
                if too_long is not None:
                    return _Validated(None, f"a certificate in the signature: {too_long}")
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


def _pictures_qr(pages: list[Any], report: Report) -> ScanResult | None:
    """The QR texts of the pictures the ``pages`` (their dictionaries) draw
    (:mod:`verify.pdfpictures`), for a file every byte of which a trusted signature covers:
    they are what its issuer drew."""
    try:
        pictures = qr_pictures(pages)
    except _DAMAGED:
        return None
    scan = scan_pictures(pictures, every=True)
    if scan is not None and scan.found:
        report.add(
            "qr",
            "pdf.qr_pictures",
            Outcome.INFO,
            "the QR was read from the pictures the pages draw, not rendered: a trusted "
            "signature covers every byte of the file, so they are what its issuer drew",
        )
    return scan


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
    # An original certificate (one signature dictionary) shows one QR where its kind
    # prints it; an annotated copy has a second one in its band: the whole page is read
    # for it. The dictionaries are counted as the file states them: where to look is known
    # before pyHanko reads the signatures.
    declared = len(_BYTE_RANGE.findall(data))
    hints = _qr_regions(facts.metadata) if declared == 1 else []
    pages = _page_tree(reader)
    plan = _plan(pages, reader, report)
    steps = _steps(plan, hints)
    with tempfile.TemporaryDirectory(prefix="verify-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        # pdftotext reads the text on the other core while the signatures are validated.
        # An original whose signature vouches for every byte has its QR read from its
        # pictures; any other file is rendered, starting now.
        original = declared == 1
        text = _text_of(source, plan.text_pages) if plan.text_pages != 0 else None
        first = _render(source, steps[0]) if steps and not original else None
        try:
            # A signature dictionary that cannot be read (no or a malformed /ByteRange,
            # /Contents that is no CMS) fails the signature step by name; the page is still
            # read for its QR.
            unreadable: str | None = None
            try:
                signatures = list(reader.embedded_signatures)
            except Exception as exc:
                signatures = []
                unreadable = f"{type(exc).__name__}: {exc}"
            # Every signature is validated first: whether what was added after one signature
            # is acceptable may depend on the signatures that follow it.
            results = [_validate(embedded, trust) for embedded in signatures]
            deadline = time.monotonic() + POPPLER_SECONDS
            stopped = False
            vouched = original and len(results) == 1 and results[0].why_not_a_voucher() is None
            if vouched and pages is not None:
                facts.qr = _pictures_qr([page.node for page in pages], report)
            if facts.qr is None or not facts.qr.found:
                facts.qr, stopped = _scan_pages(source, steps, first, deadline)
            read = _text(text, deadline) if text is not None else None
        finally:
            for process in (first.process if first else None, text):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
        # Stopped by the clock (not by a limit or the content bound): the machine may only
        # be busy, so nothing is decided against the file.
        out_of_time = time.monotonic() >= deadline
    facts.text = read or ""
    if stopped:
        report.add(
            "qr",
            "pdf.render",
            Outcome.INFO,
            f"rendering and reading the pages were stopped at their bounds "
            f"({POPPLER_SECONDS:g} s, {POPPLER_MEGABYTES} MB): not every page was read for a QR",
        )
    if read is None:
        why = (
            "page 1's content is too large"
            if text is None
            else f"pdftotext was stopped at its bounds ({POPPLER_SECONDS:g} s, "
            f"{POPPLER_MEGABYTES} MB)"
        )
        report.add(
            "format",
            "pdf.text",
            Outcome.FAIL,
            f"the printed text could not be read ({why}): it cannot be compared with the "
            "QR, nor the file told from a scan",
        )
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
    elif declared > len(signatures):
        report.add(
            "signature",
            "pdf.signatures",
            Outcome.FAIL,
            f"the file holds {declared} signature dictionaries "
            f"(/ByteRange) but its signature fields lead to {len(signatures)}: a copy no "
            "field leads to (signature wrapping)",
        )
    for n, result in enumerate(results):
        _report_signature(n, result, results[n + 1 :], report)
    clocked = out_of_time and (stopped or (read is None and text is not None))
    if clocked and results and results[-1].why_not_a_voucher() is None:
        # A file its issuer signed whole, whose pages the clock stopped us reading (the
        # machine may only be busy): not called a forgery, nor authentic unread.
        report.unreadable = (
            f"the pages and text could not all be read within {POPPLER_SECONDS:g} s (a busy "
            "machine, or pages that take long to draw): nothing was decided, try again"
        )
    return facts
