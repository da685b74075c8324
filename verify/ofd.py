"""Verify an OFD file: structure, every signature (seal v4/v1, CMS, bare SM2), trust.

Lenient about how real files are written (element order, relative or absolute locations,
``CheckMethod`` as a name or an OID, numeric ``xs:ID``s, missing ``Type``); strict about what
is signed: every reference digest is recomputed over the raw bytes in the package, and every
file of a signed package must be covered by a valid signature (its digests match and its
value verifies) or be one of the signatures' own files (Signatures.xml, a Signature.xml, its
SignedValue and its seal) — so an annotated copy (加注) passes only when a second signature
covers the annotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import posixpath
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos
from asn1crypto import x509 as a509
from lxml import etree
from PIL import Image, UnidentifiedImageError

from docgen.gm import OID_SM3_WITH_SM2, sm2_public_point, sm2_verify, sm3
from docgen.ofd.package import ROOT_FILE, read_package
from docgen.ofd.signatures import digest
from docgen.ses.reader import (
    MALFORMED_DER,
    SealSignature,
    parse_seal_signature,
    signature_to_der,
)
from docgen.ses.v4 import CERT_LIST_CERTS, SESeal, seal_to_be_signed
from docgen.ses.v4 import VERSION as SEAL_VERSION_4

from .cms import is_cms, verify_cms
from .qrscan import (
    MAX_IMAGE_BYTES,
    ScanResult,
    decoded_bytes,
    scan_pictures,
    size_problem,
)
from .report import Outcome, Report, SignatureInfo
from .trust import TrustList, describe, organization

__all__ = ["MAX_PAGES", "MAX_QR_PICTURES", "MAX_SIGNATURES", "OfdFacts", "check_ofd"]

_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
_DEFAULT_CHECK_METHOD = "MD5"  # the XSD's default when CheckMethod is absent
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
_LISTED = 10  # uncovered files named in a report line before "and N more"
#: The annotation parameter holding a 加注 band's QR text (docgen.annotation.copies).
_ANNOTATION_QR = "docgen.qr"
#: Signatures a document may list: our certificates carry one, an annotated copy two, the
#: corpus's files at most two; each costs a signature check and a trust chain (a list of
#: 20 000 took 79 s). A longer list is refused unchecked.
MAX_SIGNATURES = 16
#: Page files of a document whose text is read for the consistency step (our certificates
#: have one to three); each takes a parse (1 000 listed took 0.7 s, read each time).
MAX_PAGES = 1000
#: Pictures of a package opened to look for its QR code (our certificates carry two: the
#: photo and the QR; the corpus's files at most one). A package of thousands of (broken)
#: pictures would take seconds to open them all; the rest are still digested and covered.
MAX_QR_PICTURES = 16


@dataclass
class OfdFacts:
    """What the OFD says, for the consistency step."""

    metadata: dict[str, str] = field(default_factory=dict)
    text: str = ""
    qr: ScanResult | None = None
    annotations: list[str] = field(default_factory=list)  # 加注 QR texts of the annotations


def _xml(data: bytes) -> etree._Element:
    root = etree.fromstring(data, _PARSER)
    if root is None:
        raise ValueError("empty, or no XML element in it")
    return root


def _xml_or_why(data: bytes) -> tuple[etree._Element | None, str]:
    """The root of a part, or None and why it is not readable XML."""
    try:
        return _xml(data), ""
    except (ValueError, etree.XMLSyntaxError) as exc:
        return None, str(exc) or type(exc).__name__


def _resolve(loc: str, base_dir: str) -> str:
    """A package path for ``loc``: absolute from the root, else relative to ``base_dir``."""
    loc = loc.strip()
    if loc.startswith("/"):
        return posixpath.normpath(loc.lstrip("/"))
    return posixpath.normpath(posixpath.join(base_dir, loc))


def _find(root: etree._Element, path: str) -> etree._Element | None:
    return root.find(path.replace("ofd:", "{*}"))


def _text(root: etree._Element, path: str) -> str | None:
    element = _find(root, path)
    return element.text.strip() if element is not None and element.text else None


def _structure(parts: dict[str, bytes], report: Report, facts: OfdFacts) -> etree._Element:
    ofd_root = _xml(parts[ROOT_FILE])
    body = _find(ofd_root, "ofd:DocBody")
    doc_loc = _text(body, "ofd:DocRoot") if body is not None else None
    if doc_loc is None:
        raise ValueError("OFD.xml has no DocBody/DocRoot")
    doc_path = _resolve(doc_loc, "")
    if doc_path not in parts:
        raise ValueError(f"DocRoot {doc_loc} is not in the package")
    for custom in ofd_root.iter("{*}CustomData"):
        facts.metadata[custom.get("Name", "")] = (custom.text or "").strip()
    doc_dir = posixpath.dirname(doc_path)
    document = _xml(parts[doc_path])
    missing: set[str] = set()
    texts: list[str] = []
    pages = list(document.iter("{*}Page"))
    read: set[str] = set()  # each page file is read once, however often it is listed
    for page in pages:
        path = _resolve(page.get("BaseLoc", ""), doc_dir)
        if path not in parts:
            missing.add(path)
        elif path not in read and len(read) < MAX_PAGES:
            read.add(path)
            texts += [t.text or "" for t in _xml(parts[path]).iter("{*}TextCode")]
    unread = len({_resolve(p.get("BaseLoc", ""), doc_dir) for p in pages} - read - missing)
    if unread:
        report.add(
            "format",
            "ofd.pages",
            Outcome.INFO,
            f"the document has {len(read) + unread} page files: the text of the first "
            f"{MAX_PAGES} is read",
        )
    resources = list(document.iter("{*}PublicRes")) + list(document.iter("{*}DocumentRes"))
    for res_path in dict.fromkeys(_resolve(res.text or "", doc_dir) for res in resources):
        if res_path not in parts:
            missing.add(res_path)
            continue
        res_root = _xml(parts[res_path])
        base = _resolve(res_root.get("BaseLoc", ""), posixpath.dirname(res_path))
        for loc in list(res_root.iter("{*}FontFile")) + list(res_root.iter("{*}MediaFile")):
            if _resolve(loc.text or "", base) not in parts:
                missing.add(_resolve(loc.text or "", base))
    facts.text = "".join(texts)
    facts.annotations = _annotation_texts(parts, document, doc_dir)
    if missing:
        report.add(
            "format",
            "ofd.parts",
            Outcome.FAIL,
            f"referenced parts missing from the package: {_listing(sorted(missing))}",
        )
    else:
        report.add(
            "format",
            "ofd.parts",
            Outcome.PASS,
            f"{len(pages)} page(s); every referenced part is present",
        )
    return ofd_root


def _annotation_texts(parts: dict[str, bytes], document: etree._Element, doc_dir: str) -> list[str]:
    """The QR texts an annotated copy's 加注 carries as annotation parameters; an absent or
    unreadable annotation file gives none (the signature checks judge the files)."""
    loc = _text(document, "ofd:Annotations")
    if loc is None:
        return []
    index_path = _resolve(loc, doc_dir)
    texts: list[str] = []
    try:
        if index_path not in parts:
            return []
        read: set[str] = set()  # each file once, at most MAX_PAGES of them
        for page in _xml(parts[index_path]).iter("{*}Page"):
            file_loc = _text(page, "ofd:FileLoc")
            path = _resolve(file_loc or "", posixpath.dirname(index_path))
            if file_loc is None or path not in parts or path in read or len(read) >= MAX_PAGES:
                continue
            read.add(path)
            for param in _xml(parts[path]).iter("{*}Parameter"):
                if param.get("Name") == _ANNOTATION_QR and param.text and param.text.strip():
                    texts.append(param.text.strip())
    except (ValueError, etree.XMLSyntaxError):
        return texts
    return texts


def _scan_images(parts: dict[str, bytes], report: Report) -> ScanResult | None:
    """The QR of the first image resource that holds one; images of two or three colours
    (what a QR is) are tried before photographs, which every step fails on slowly. At most
    :data:`MAX_QR_PICTURES` pictures are opened, of :data:`MAX_IMAGE_BYTES` decoded in all."""
    pictures = [path for path in parts if path.lower().endswith(_IMAGE_SUFFIXES)]
    if len(pictures) > MAX_QR_PICTURES:
        report.add(
            "qr",
            "ofd.pictures",
            Outcome.INFO,
            f"the package holds {len(pictures)} pictures: only the first {MAX_QR_PICTURES} "
            "are searched for a QR code",
        )
    candidates: list[Image.Image] = []
    held = 0  # bytes of the pictures decoded so far
    for path in pictures[:MAX_QR_PICTURES]:
        try:
            image = Image.open(io.BytesIO(parts[path]))
            size = decoded_bytes(image)
            if size_problem(image) is not None or held + size > MAX_IMAGE_BYTES:
                continue  # too large to read for a QR (the picture is still digested)
            image.load()
        except (
            UnidentifiedImageError,
            OSError,
            ValueError,
            SyntaxError,
            Image.DecompressionBombError,
        ):
            continue  # SyntaxError: a broken PNG; a bomb: over 178 megapixels declared
        held += size
        candidates.append(image)
    return scan_pictures(candidates)


def _signing_time(text: str) -> datetime | None:
    for fmt in ("%Y%m%d%H%M%SZ", "%Y-%m-%d %H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class _Signed:
    """What one listed signature protects, and whether it holds.

    ``state`` is PASS when its reference digests all match and its value verifies (and, for
    a seal, its dataHash is that of Signature.xml), CANNOT when that could not be decided,
    FAIL otherwise. Trust is judged by its own check, not here.
    """

    own: set[str] = field(default_factory=set)  # Signature.xml, SignedValue, seal file
    covers: set[str] = field(default_factory=set)  # the files its References name
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def state(self) -> Outcome:
        if not self.outcomes or Outcome.FAIL in self.outcomes:
            return Outcome.FAIL
        if Outcome.CANNOT in self.outcomes:
            return Outcome.CANNOT
        return Outcome.PASS


class _SignatureChecker:
    def __init__(self, parts: dict[str, bytes], report: Report, trust: TrustList) -> None:
        self.parts = parts
        self.report = report
        self.trust = trust
        self.signed: list[_Signed] = []
        self.digests: dict[tuple[str, str], bytes] = {}  # (method, path): each part once

    def check(self, n: int, path: str, declared_type: str) -> None:
        label = f"signature {n + 1}"
        report = self.report
        signed_by = _Signed(own={path})
        self.signed.append(signed_by)
        if path not in self.parts:
            report.add("format", f"{label}.file", Outcome.FAIL, f"{path} is missing")
            return
        sig_root, why = _xml_or_why(self.parts[path])
        if sig_root is None:
            report.add(
                "signature",
                f"{label}.structure",
                Outcome.FAIL,
                f"{path} is not readable XML ({why})",
            )
            return
        sig_dir = posixpath.dirname(path)
        refs = _find(sig_root, "ofd:SignedInfo/ofd:References")
        value_loc = _text(sig_root, "ofd:SignedValue")
        seal_loc = _text(sig_root, "ofd:SignedInfo/ofd:Seal/ofd:BaseLoc")
        if seal_loc is not None:
            signed_by.own.add(_resolve(seal_loc, sig_dir))
        if value_loc is not None:
            signed_by.own.add(_resolve(value_loc, sig_dir))
        if refs is None or value_loc is None:
            report.add(
                "signature",
                f"{label}.structure",
                Outcome.FAIL,
                "Signature.xml lacks References or SignedValue",
            )
            return
        signed_by.outcomes.append(self.references(label, refs, sig_dir, signed_by.covers))
        value_path = _resolve(value_loc, sig_dir)
        if value_path not in self.parts:
            report.add("format", f"{label}.value", Outcome.FAIL, f"{value_path} is missing")
            signed_by.outcomes.append(Outcome.FAIL)
            return
        value = self.parts[value_path]
        signed = self.parts[path]
        try:
            if is_cms(value):
                signed_by.outcomes.append(self.cms(label, value, signed))
            elif _is_bare_signature(value):
                signed_by.outcomes.append(self.bare(label, value, signed))
            else:
                signed_by.outcomes.append(self.seal(label, value, signed, path, declared_type))
        except MALFORMED_DER as exc:  # DER that a lazy parse meets late, wherever it is
            why = (str(exc).splitlines() or [""])[0][:200]
            report.add(
                "signature",
                f"{label}.value",
                Outcome.FAIL,
                f"{value_path} is malformed ASN.1 ({type(exc).__name__}: {why})",
            )
            signed_by.outcomes.append(Outcome.FAIL)

    def references(
        self, label: str, refs: etree._Element, sig_dir: str, covers: set[str]
    ) -> Outcome:
        """Check every reference digest; adds the files found to ``covers``."""
        method = refs.get("CheckMethod") or _DEFAULT_CHECK_METHOD
        missing: list[str] = []
        found: list[tuple[str, etree._Element]] = []
        for ref in refs.iter("{*}Reference"):
            target = _resolve(ref.get("FileRef", ""), "")
            if target not in self.parts:
                target = _resolve(ref.get("FileRef", ""), sig_dir)
            if target not in self.parts:
                missing.append(target)
                continue
            covers.add(target)
            found.append((target, ref))
        wrong, checked = [], 0
        for target, ref in found:
            try:
                expected: bytes | None = base64.b64decode(
                    (_text(ref, "ofd:CheckValue") or "").encode(), validate=False
                )
            except binascii.Error:  # not base64: no digest can match it
                expected = None
            try:
                actual = self.digest(method, target)
            except ValueError:
                self.report.add(
                    "signature",
                    f"{label}.digests",
                    Outcome.CANNOT,
                    f"unsupported digest method {method!r}: the reference digests "
                    "cannot be checked",
                )
                return Outcome.CANNOT
            checked += 1
            if actual != expected:
                wrong.append(target)
        if missing or wrong:
            problems = []
            if wrong:
                problems.append(f"{len(wrong)} digest(s) wrong: {_listing(wrong)}")
            if missing:
                problems.append(f"{len(missing)} referenced file(s) missing: {_listing(missing)}")
            self.report.add(
                "signature",
                f"{label}.digests",
                Outcome.FAIL,
                "; ".join(problems) + " — changed after signing",
            )
            return Outcome.FAIL
        self.report.add(
            "signature",
            f"{label}.digests",
            Outcome.PASS,
            f"all {checked} reference digests ({method}) match the raw bytes",
        )
        return Outcome.PASS

    def digest(self, method: str, path: str) -> bytes:
        """The ``method`` digest of a part, computed once however often it is referenced.

        Raises:
            ValueError: the method is not a digest algorithm we know.
        """
        key = (method, path)
        if key not in self.digests:
            self.digests[key] = digest(method, self.parts[path])
        return self.digests[key]

    def trust_check(self, label: str, cert: bytes, when: datetime | None) -> bool:
        trusted, why = self.trust.chain(cert, when)
        self.report.add(
            "signature",
            f"{label}.trust",
            Outcome.PASS if trusted else Outcome.FAIL,
            why,
            evidence=trusted,
        )
        return trusted

    def seal(self, label: str, value: bytes, signed: bytes, path: str, declared: str) -> Outcome:
        """Check a seal signature; PASS when its dataHash and value verify."""
        try:
            ses = parse_seal_signature(value)
        except ValueError as exc:
            self.report.add(
                "signature",
                f"{label}.value",
                Outcome.FAIL,
                f"SignedValue is not a readable seal signature ({exc})",
            )
            return Outcome.FAIL
        kind = f"OFD {declared.lower()} (SES v{ses.version})"
        hash_ok = ses.data_hash == sm3(signed)
        self.report.add(
            "signature",
            f"{label}.data_hash",
            Outcome.PASS if hash_ok else Outcome.FAIL,
            "dataHash is SM3 of Signature.xml"
            if hash_ok
            else "dataHash differs from SM3 of Signature.xml",
        )
        if ses.algorithm != OID_SM3_WITH_SM2:
            self.report.add(
                "signature",
                f"{label}.value",
                Outcome.CANNOT,
                f"unsupported signature algorithm {ses.algorithm}",
            )
            return Outcome.FAIL if not hash_ok else Outcome.CANNOT
        try:
            point = sm2_public_point(a509.Certificate.load(ses.signer_cert).public_key)
            intact = sm2_verify(point, ses.tbs, ses.signature)
        except MALFORMED_DER as exc:
            self.report.add(
                "signature", f"{label}.value", Outcome.FAIL, f"signer certificate unusable ({exc})"
            )
            return Outcome.FAIL
        self.report.add(
            "signature",
            f"{label}.value",
            Outcome.PASS if intact else Outcome.FAIL,
            f"SM2 signature over TBS_Sign {'verifies' if intact else 'does not verify'}"
            f" (signer {describe(ses.signer_cert)})",
        )
        when = _signing_time(ses.time)
        trusted = self.trust_check(label, ses.signer_cert, when) if intact else None
        if ses.version == SEAL_VERSION_4:
            self.seal_itself(label, ses, when)
        self.report.signatures.append(
            SignatureInfo(
                kind,
                describe(ses.signer_cert),
                intact and hash_ok,
                trusted,
                when.isoformat() if when else ses.time,
                organization=organization(ses.signer_cert),
            )
        )
        return Outcome.PASS if intact and hash_ok else Outcome.FAIL

    def seal_itself(self, label: str, ses: SealSignature, when: datetime | None) -> None:
        """GB/T 38540's checks of the seal: made by a trusted maker, unaltered, in force when
        used, and listing the signer among those allowed to use it."""
        add = self.report.add
        try:
            seal = SESeal.load(ses.seal)
            info = seal["eSealInfo"]
            prop = info["property"]
            maker = bytes(seal["cert"].native)
            maker_point = sm2_public_point(a509.Certificate.load(maker).public_key)
            signed = sm2_verify(maker_point, seal_to_be_signed(info), seal["signedValue"].native)
            allowed = _allowed_signer(
                prop["certListType"].native, prop["certList"], ses.signer_cert
            )
            start, end = prop["validStart"].native, prop["validEnd"].native
            name = prop["name"].native
        except MALFORMED_DER as exc:
            why = (str(exc).splitlines() or [type(exc).__name__])[0]
            add(
                "signature",
                f"{label}.seal",
                Outcome.FAIL,
                f"the seal (SESeal) is unreadable ({why})",
            )
            return
        add(
            "signature",
            f"{label}.seal",
            Outcome.PASS if signed else Outcome.FAIL,
            f"seal 「{name}」 is signed by its maker {describe(maker)}"
            if signed
            else f"the seal 「{name}」 was altered: its maker's signature does not verify",
        )
        made_by_trusted, why = self.trust.chain(maker, when)
        add(
            "signature",
            f"{label}.seal_maker",
            Outcome.PASS if made_by_trusted else Outcome.FAIL,
            f"seal maker: {why}",
        )
        add(
            "signature",
            f"{label}.seal_user",
            Outcome.PASS if allowed else Outcome.FAIL,
            "the signer's certificate is listed in the seal"
            if allowed
            else "the signer's certificate is not among those allowed to use this seal",
        )
        if when is not None:
            in_force = start <= when <= end
            span = f"{when.date()}; {start.date()} – {end.date()}"
            add(
                "signature",
                f"{label}.seal_validity",
                Outcome.PASS if in_force else Outcome.FAIL,
                f"the seal was in force when used ({span})"
                if in_force
                else f"the seal was not in force when used ({span})",
            )

    def cms(self, label: str, value: bytes, signed: bytes) -> Outcome:
        """Check a CMS signature over Signature.xml; PASS when it verifies."""
        result = verify_cms(value, signed)
        self.report.add(
            "signature",
            f"{label}.value",
            Outcome.PASS if result.intact else Outcome.FAIL,
            f"CMS {result.detail}",
        )
        trusted = None
        signer = describe(result.signer_cert) if result.signer_cert else "unknown"
        if result.intact and result.signer_cert:
            trusted = self.trust_check(label, result.signer_cert, None)
        self.report.signatures.append(
            SignatureInfo(
                "OFD sign (CMS)",
                signer,
                result.intact,
                trusted,
                organization=organization(result.signer_cert) if result.signer_cert else None,
            )
        )
        return Outcome.PASS if result.intact else Outcome.FAIL

    def bare(self, label: str, value: bytes, signed: bytes) -> Outcome:
        """Check a bare SM2 signature against the trusted signers; CANNOT when none does."""
        signature = signature_to_der(value)
        for signer, point in self.trust.sm2_signer_points():
            if sm2_verify(point, signed, signature):
                self.report.add(
                    "signature",
                    f"{label}.value",
                    Outcome.PASS,
                    f"bare SM2 signature verifies with trusted signer "
                    f"{signer.issuer_name} (generation {signer.generation})",
                    evidence=True,
                )
                self.report.signatures.append(
                    SignatureInfo("OFD sign (bare SM2)", signer.issuer_name, True, True)
                )
                return Outcome.PASS
        self.report.add(
            "signature",
            f"{label}.value",
            Outcome.CANNOT,
            "cannot verify: unknown signer (a bare SM2 signature carries no "
            "certificate, and no trusted key verifies it)",
        )
        self.report.signatures.append(SignatureInfo("OFD sign (bare SM2)", "unknown", None, None))
        return Outcome.CANNOT

    def coverage(self, signatures_path: str, repeated: dict[str, int]) -> None:
        """Every file must be covered by a valid signature or be a signature's own file.

        ``repeated`` counts ZIP entries sharing a name: only one of them was read and
        digested, and a reader may show another, so such a name is never covered."""
        own = {signatures_path}.union(*(s.own for s in self.signed))
        valid = set().union(*(s.covers for s in self.signed if s.state is Outcome.PASS))
        undecided = set().union(*(s.covers for s in self.signed if s.state is Outcome.CANNOT))
        rest = [path for path in self.parts if path not in own and path not in valid]
        uncovered = sorted({path for path in rest if path not in undecided} | set(repeated))
        unchecked = sorted(path for path in rest if path in undecided and path not in repeated)
        if uncovered:
            named = [
                f"{path} ({repeated[path]} entries of that name)" if path in repeated else path
                for path in uncovered
            ]
            self.report.add(
                "signature",
                "ofd.coverage",
                Outcome.FAIL,
                f"{len(uncovered)} file(s) covered by no valid signature: {_listing(named)}",
            )
        elif unchecked:
            self.report.add(
                "signature",
                "ofd.coverage",
                Outcome.CANNOT,
                f"{len(unchecked)} file(s) covered only by a signature that could not be "
                f"checked: {_listing(unchecked)}",
            )
        else:
            self.report.add(
                "signature",
                "ofd.coverage",
                Outcome.PASS,
                f"every one of the {len(self.parts)} files is covered by a valid signature "
                "or is a signature's own file",
            )


def _repeated_entries(data: bytes) -> dict[str, int]:
    """ZIP entry names that occur more than once, with their counts."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = Counter(i.filename for i in archive.infolist() if not i.is_dir())
    except (zipfile.BadZipFile, ValueError):  # read_package already read it
        return {}
    return {name: count for name, count in names.items() if count > 1}


def _listing(paths: list[str]) -> str:
    shown = ", ".join(paths[:_LISTED])
    return shown if len(paths) <= _LISTED else f"{shown}, … and {len(paths) - _LISTED} more"


def _allowed_signer(list_type: int, cert_list: Any, signer_cert: bytes) -> bool:
    """Whether the signer certificate is in a seal's certList (certificates or digests)."""
    if list_type == CERT_LIST_CERTS:
        return any(bytes(entry.native) == signer_cert for entry in cert_list)
    for entry in cert_list:
        algorithm = str(entry["type"].native).lower().replace("-", "")
        expected = bytes(entry["value"].native)
        if algorithm == "sm3" and sm3(signer_cert) == expected:
            return True
        if algorithm in ("sha256", "sha2") and hashlib.sha256(signer_cert).digest() == expected:
            return True
    return False


def _is_bare_signature(value: bytes) -> bool:
    try:
        parsed = algos.DSASignature.load(value, strict=True)
        parsed.native  # noqa: B018 - force parsing
    except (ValueError, TypeError):
        return len(value) == 64
    return True


def check_ofd(data: bytes, report: Report, trust: TrustList) -> OfdFacts:
    """Run steps 1-3 on an OFD file; returns what the consistency step needs."""
    report.format = "ofd"
    facts = OfdFacts()
    try:
        parts = read_package(data)
        ofd_root = _structure(parts, report, facts)
    except (ValueError, KeyError, etree.XMLSyntaxError) as exc:
        report.unreadable = f"not a readable OFD file: {exc}"
        return facts
    report.add("format", "ofd.package", Outcome.PASS, f"OFD package with {len(parts)} parts")
    facts.qr = _scan_images(parts, report)
    body = _find(ofd_root, "ofd:DocBody")
    signatures_loc = _text(body, "ofd:Signatures") if body is not None else None
    if signatures_loc is None:
        report.add("signature", "ofd.signatures", Outcome.INFO, "no signatures")
        return facts
    signatures_path = _resolve(signatures_loc, "")
    if signatures_path not in parts:
        report.add("format", "ofd.signatures", Outcome.FAIL, f"{signatures_path} is missing")
        return facts
    listing, why = _xml_or_why(parts[signatures_path])
    if listing is None:
        report.add(
            "signature",
            "ofd.signatures",
            Outcome.FAIL,
            f"{signatures_path} is not readable XML ({why}): the signatures it lists "
            "cannot be found",
        )
        return facts
    entries = list(listing.iter("{*}Signature"))
    if len(entries) > MAX_SIGNATURES:
        report.unreadable = (
            f"{signatures_path} lists {len(entries)} signatures; a verifier checks at most "
            f"{MAX_SIGNATURES}: refused unchecked"
        )
        return facts
    if not entries:
        report.add("signature", "ofd.signatures", Outcome.INFO, "no signatures")
    checker = _SignatureChecker(parts, report, trust)
    for n, entry in enumerate(entries):
        path = _resolve(entry.get("BaseLoc", ""), posixpath.dirname(signatures_path))
        checker.check(n, path, entry.get("Type") or "Seal")
    if entries:
        checker.coverage(signatures_path, _repeated_entries(data))
    return facts
