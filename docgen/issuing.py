"""Issue certificates: validate every record, render OFD and PDF, write atomically.

Nothing is half-written: all records are validated and rendered before the first file is
touched, each file is written to a temporary name in the output folder and renamed into
place, and a failure removes the temporary files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .atomic import write_atomically
from .errors import FieldProblem, OutputError, RecordError
from .kinds import KIND_NAMES, load_kind
from .layout import DocumentLayout, build_layout
from .ofd.writer import write_ofd
from .pdf import render_pdf
from .signing.sealer import Sealer
from .validation import Certificate, validate_record

__all__ = [
    "IssuedCertificate",
    "Rendered",
    "issue_records",
    "refuse_repeated_numbers",
    "render",
    "validate_records",
]


@dataclass(frozen=True)
class Rendered:
    """A certificate with its layout and both files, not yet written."""

    certificate: Certificate
    layout: DocumentLayout
    ofd: bytes
    pdf: bytes


@dataclass(frozen=True)
class IssuedCertificate:
    """Where an issued certificate's files were written."""

    number: str
    identifier: str
    ofd: Path
    pdf: Path


def render(cert: Certificate, sealer: Sealer | None = None) -> Rendered:
    """Lay out ``cert`` once and render it to OFD and PDF from that one layout; with a
    ``sealer``, the QR holds the signed payload, the OFD is sealed and the PDF signed.
    Without one, both files are unsigned drafts with a placeholder QR.

    Raises:
        RecordError: a value does not fit its box, or the sealer may not sign ``cert``.
    """
    if sealer is None:
        layout = build_layout(cert)
        return Rendered(cert, layout, write_ofd(layout), render_pdf(layout))
    problems = sealer.problems(cert)
    if problems:
        raise RecordError(problems)
    layout = build_layout(cert, qr_text=sealer.qr_text(cert))
    ofd = sealer.seal_ofd(layout)  # first: the PDF embeds the font subsets the OFD made
    return Rendered(cert, layout, ofd, sealer.sealed_pdf(layout))


def refuse_repeated_numbers(numbers: Sequence[str]) -> None:
    """Refuse a batch in which a certificate number appears twice.

    Raises:
        OutputError: naming the repeated numbers.
    """
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise OutputError(f"certificate numbers repeat in the input: {', '.join(repeated)}")


def validate_records(
    kind_name: str | None,
    records: Sequence[Mapping[str, Any]],
    at: datetime,
    *,
    base_dir: Path | None = None,
    source: str = "record",
    sealer: Sealer | None = None,
) -> list[Certificate]:
    """Validate every record (of ``kind_name``, or of each record's ``kind``) and, with a
    ``sealer``, check that it may sign each.

    With several records, error lines name each as ``source[index]``.

    Raises:
        RecordError: the problems of every invalid record.
    """
    problems: list[FieldProblem] = []
    certificates: list[Certificate] = []
    for index, record in enumerate(records):
        where = source if len(records) == 1 else f"{source}[{index}]"
        name = kind_name or (record.get("kind") if isinstance(record, Mapping) else None)
        if not isinstance(name, str):
            problems.append(FieldProblem("kind", 'give --kind or a "kind" key', where))
            continue
        if name not in KIND_NAMES:
            problems.append(
                FieldProblem(
                    "kind", f"unknown kind {name!r}; known: {', '.join(KIND_NAMES)}", where
                )
            )
            continue
        try:
            cert = validate_record(load_kind(name), record, at, base_dir, where)
        except RecordError as exc:
            problems.extend(exc.about(where).problems)
            continue
        refused = sealer.problems(cert) if sealer is not None else []
        problems.extend(replace(p, record=where) for p in refused)
        certificates.append(cert)
    if problems:
        raise RecordError(problems)
    return certificates


def issue_records(
    kind_name: str | None,
    records: Sequence[Mapping[str, Any]],
    at: datetime,
    out_dir: Path,
    *,
    base_dir: Path | None = None,
    source: str = "record",
    overwrite: bool = False,
) -> list[IssuedCertificate]:
    """Validate, render and write ``records`` as unsigned drafts (placeholder QR, no seal,
    not registered); all or nothing. Sealed certificates are issued, and registered, by
    :func:`docgen.registry.lifecycle.issue`.

    Raises:
        RecordError: any record is invalid (problems of all records, nothing written).
        OutputError: a target exists (without ``overwrite``) or cannot be written.
    """
    certificates = validate_records(kind_name, records, at, base_dir=base_dir, source=source)
    problems: list[FieldProblem] = []
    rendered: list[Rendered] = []
    for index, cert in enumerate(certificates):
        where = source if len(records) == 1 else f"{source}[{index}]"
        try:
            rendered.append(render(cert))
        except RecordError as exc:
            problems.extend(exc.about(where).problems)
    if problems:
        raise RecordError(problems)
    refuse_repeated_numbers([r.certificate.number for r in rendered])
    files: dict[Path, bytes] = {}
    issued = []
    for item in rendered:
        number = item.certificate.number
        ofd_path, pdf_path = out_dir / f"{number}.ofd", out_dir / f"{number}.pdf"
        for path in (ofd_path, pdf_path):
            if path.exists() and not overwrite:
                raise OutputError(f"{path} exists; pass --overwrite to replace it")
        files[ofd_path], files[pdf_path] = item.ofd, item.pdf
        issued.append(IssuedCertificate(number, item.certificate.identifier, ofd_path, pdf_path))
    write_atomically(files)
    return issued
