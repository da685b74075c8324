"""Annotating a certificate: the rules checked, the annotation recorded and audited, and
its annotated copy (OFD and PDF, :mod:`.copies`) written in the same all-or-nothing unit as
the registry row (lifecycle's protocol: staged files, one transaction, rename)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from ..clock import BEIJING
from ..errors import RecordError
from ..kinds import load_kind
from ..registry import NotFoundError, RefusedError, Registry, Status, audit
from ..registry.lifecycle import StagedFiles
from ..registry.lookup import current_version
from ..registry.models import AnnotationRow, CertificateRow, Holder
from ..registry.status import answer
from ..signing.sealer import Sealer
from ..validation import Certificate, validate_record
from .copies import annotated_copy
from .rules import AnnotationRules

__all__ = ["Annotation", "LimitReached", "annotate"]


class LimitReached(RefusedError):
    """The recent-days limit of 加注 is reached; ``first_possible`` is the first day on which
    a new annotation can be applied for."""

    def __init__(self, first_possible: date, message: str) -> None:
        super().__init__(message)
        self.first_possible = first_possible


@dataclass(frozen=True)
class Annotation:
    """A recorded 加注: its number, the certificate version, scenario and window (days,
    both ends included)."""

    number: str
    certificate: str  # the certificate version's identifier
    certificate_number: str
    scenario: str
    applied_on: date
    valid_from: date
    valid_to: date
    shortened: bool = False  # the window was cut at the certificate's own validity end
    ofd: Path | None = None  # the annotated copy's files, when written
    pdf: Path | None = None


def _registered_file(path: str | None, sha256: str | None, number: str) -> bytes:
    """A certificate's registered file, refused when missing or changed on disk."""
    if path is None or sha256 is None:
        raise RefusedError(f"{number}: the registry holds no file of this certificate")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RefusedError(f"{number}: cannot read its registered file {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RefusedError(f"{number}: its registered file {path} changed since it was issued")
    return data


def _certificate(registry: Registry, row: CertificateRow, at: datetime) -> Certificate:
    if row.record is None:
        raise RefusedError(f"{row.number}: the registry holds no record of this certificate")
    record = registry.key.open(row.record, row.identifier)
    return validate_record(load_kind(row.kind), record, at, None, row.number)


def annotate(
    registry: Registry,
    holder: Holder,
    number: str,
    *,
    scenario: str,
    days: int,
    at: datetime,
    sealer: Sealer | None = None,
    out_dir: Path | None = None,
) -> Annotation:
    """Annotate the current version of certificate ``number`` for ``holder``; with the
    issuer's ``sealer`` and an ``out_dir``, also write the annotated copy there (named
    ``NUMBER-ANNOTATION.ofd`` and ``.pdf``), recorded with the annotation.

    Raises:
        NotFoundError: the holder has no certificate of that number.
        RefusedError: the kind has no 加注 or needs none, the scenario or days are not
            allowed, the certificate is not valid, or the recent-days limit is reached
            (with the first day a new annotation is possible), or a registered file
            changed on disk.
        RecordError: the sealer is not the certificate's issuer's.
        OutputError: a copy's file cannot be written.
    """
    if (sealer is None) != (out_dir is None):
        raise ValueError("an annotated copy needs both the sealer and the output folder")
    files = StagedFiles()
    try:
        result = _annotate(registry, holder, number, scenario, days, at, sealer, out_dir, files)
    except BaseException:
        files.discard()
        raise
    files.settle(registry)
    return result


def _annotate(
    registry: Registry,
    holder: Holder,
    number: str,
    scenario: str,
    days: int,
    at: datetime,
    sealer: Sealer | None,
    out_dir: Path | None,
    files: StagedFiles,
) -> Annotation:
    day = at.astimezone(BEIJING).date()
    with registry.writing() as session:
        row = current_version(session, number)
        if row is None or row.id_hash != holder.id_hash:
            raise NotFoundError(f"{number}: you hold no certificate of this number")
        kind = load_kind(row.kind)
        rules = AnnotationRules.of(kind)
        if rules is None:
            raise RefusedError(f"{kind.type_name} has no 加注 (annotation)")
        exempt = rules.exemption(row.issue_date, row.issuer.code)
        if exempt is not None:
            raise RefusedError(f"{number} needs no 加注 ({exempt.note}): view it directly")
        if scenario not in rules.scenarios:
            raise RefusedError(
                f"scenario {scenario!r} is not allowed for {kind.type_name}; "
                f"allowed: {'、'.join(rules.scenarios)}"
            )
        if not 1 <= days <= rules.max_days:
            raise RefusedError(f"--days: {days} is not within 1-{rules.max_days} days")
        status = answer(row, at)
        if status.status is not Status.VALID:
            raise RefusedError(f"{number} is {status.sentence()}: it cannot be annotated")
        applied = list(
            session.scalars(
                select(AnnotationRow.applied_on)
                .join(CertificateRow, AnnotationRow.certificate_id == CertificateRow.id)
                .where(CertificateRow.number == row.number)
            )
        )
        possible = rules.next_possible(applied, day)
        if possible is not None:
            raise LimitReached(
                possible,
                f"{number} has {rules.max_recent} annotations applied for within the "
                f"{rules.recent_days} days back from {day.isoformat()}: a new one is possible "
                f"from {possible.isoformat()}",
            )
        valid_to = day + timedelta(days=days - 1)
        shortened = row.valid_to is not None and valid_to > row.valid_to
        if row.valid_to is not None:
            valid_to = min(valid_to, row.valid_to)
        record = AnnotationRow(
            number="",
            certificate_id=row.id,
            holder_id=holder.id,
            scenario=scenario,
            applied_on=day,
            valid_from=day,
            valid_to=valid_to,
            created_at=at,
        )
        session.add(record)
        session.flush()
        # The band's glyphs are reserved for these characters (docgen.layout BAND_ALPHABETS).
        record.number = f"JZ{day:%Y%m%d}{record.id:08d}"
        ofd_path = pdf_path = None
        if sealer is not None and out_dir is not None:
            cert = _certificate(registry, row, at)
            refused = sealer.problems(cert)
            if refused:
                raise RecordError(refused)
            copy = annotated_copy(
                cert,
                _registered_file(row.ofd_path, row.ofd_sha256, number),
                _registered_file(row.pdf_path, row.pdf_sha256, number),
                annotation=record.number,
                scenario=scenario,
                valid_from=day,
                valid_to=valid_to,
                sealer=sealer,
                when=at,
            )
            ofd_path = out_dir / f"{row.number}-{record.number}.ofd"
            pdf_path = out_dir / f"{row.number}-{record.number}.pdf"
            record.ofd_path, record.pdf_path = str(ofd_path.resolve()), str(pdf_path.resolve())
            record.ofd_sha256 = files.add(session, ofd_path, copy.ofd, overwrite=False)
            record.pdf_sha256 = files.add(session, pdf_path, copy.pdf, overwrite=False)
        audit.append(
            session,
            at=at,
            operator=f"holder {row.id_masked}",
            action="annotate",
            subject=row.identifier,
            reason=scenario,
            detail={
                "annotation": record.number,
                "window": [day.isoformat(), valid_to.isoformat()],
                **(
                    {"files": {"ofd": record.ofd_sha256, "pdf": record.pdf_sha256}}
                    if ofd_path is not None
                    else {}
                ),
            },
        )
        return Annotation(
            number=record.number,
            certificate=row.identifier,
            certificate_number=row.number,
            scenario=scenario,
            applied_on=day,
            valid_from=day,
            valid_to=valid_to,
            shortened=shortened,
            ofd=ofd_path,
            pdf=pdf_path,
        )
