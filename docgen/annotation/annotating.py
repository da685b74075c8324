"""Annotating a certificate: the rules checked, the annotation recorded and audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..clock import BEIJING
from ..kinds import load_kind
from ..registry import NotFoundError, RefusedError, Registry, Status, audit
from ..registry.lookup import current_version
from ..registry.models import AnnotationRow, CertificateRow, Holder
from ..registry.status import answer
from .rules import AnnotationRules

__all__ = ["Annotation", "annotate"]


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


def annotate(
    registry: Registry,
    holder: Holder,
    number: str,
    *,
    scenario: str,
    days: int,
    at: datetime,
) -> Annotation:
    """Annotate the current version of certificate ``number`` for ``holder``.

    Raises:
        NotFoundError: the holder has no certificate of that number.
        RefusedError: the kind has no 加注 or needs none, the scenario or days are not
            allowed, the certificate is not valid, or the recent-days limit is reached
            (with the first day a new annotation is possible).
    """
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
            raise RefusedError(
                f"{number} has {rules.max_recent} annotations applied for within the "
                f"{rules.recent_days} days back from {day.isoformat()}: a new one is possible "
                f"from {possible.isoformat()}"
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
        record.number = f"JZ{day:%Y%m%d}{record.id:08d}"
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
        )
