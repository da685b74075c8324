"""Step 6, status: what the issuer says about a certificate now.

Online from the registry (read only: the verifier never needs its key), offline from a
signed status list checked against the trust list. With neither, the report says the
status was not checked and the offline verdict stands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from docgen.clock import BEIJING
from docgen.qrpayload import QRClaims
from docgen.statuslist import Code, StatusList, StatusListError, verify_status_list

from .report import Outcome, Report
from .trust import TrustedSigner, TrustList

if TYPE_CHECKING:  # the registry (SQLAlchemy) is imported only when one is asked
    from sqlalchemy.orm import Session

    from docgen.registry import Registry
    from docgen.registry.models import CertificateRow

__all__ = ["StatusSources"]


@dataclass
class StatusSources:
    """Where status comes from: a registry (online) and/or signed status list files."""

    registry: Registry | None = None
    lists: Sequence[tuple[str, bytes]] = field(default_factory=list)

    def check(
        self,
        report: Report,
        data: bytes,
        claims: QRClaims | None,
        signer: TrustedSigner | None,
        identifier: str | None,
        trust: TrustList,
        at: datetime,
    ) -> None:
        """Add the status checks of one certificate to ``report``."""
        if self.registry is None and not self.lists:
            report.add(
                "status",
                "not_checked",
                Outcome.INFO,
                "status not checked: no registry (--db) or status list (--status-list) given; "
                "the verdict rests on the document alone",
            )
            return
        if claims is None and identifier is None:
            return
        if self.registry is not None:
            _registry(report, self.registry, data, claims, identifier, at)
        if self.lists:
            _status_list(report, self.lists, claims, signer, trust, at)


def _registry(
    report: Report,
    registry: Registry,
    data: bytes,
    claims: QRClaims | None,
    identifier: str | None,
    at: datetime,
) -> None:
    from docgen.registry import RegistryError, Status
    from docgen.registry.lookup import by_identifier, version_of
    from docgen.registry.status import answer

    try:
        with registry.reading() as session:
            if claims is not None:
                row = version_of(session, claims.number, claims.version)
                asked = f"{claims.number} version {claims.version}"
            else:
                assert identifier is not None
                row = by_identifier(session, identifier)
                asked = identifier
            if row is None:
                report.add(
                    "status",
                    "registry",
                    Outcome.FAIL,
                    f"the registry has no certificate {asked}",
                )
                return
            status = answer(row, at)
            digests = {row.ofd_sha256, row.pdf_sha256} - {None}
            recorded = _recorded_annotation(session, report, row)
            if recorded is not None:
                digests |= recorded
    except (RegistryError, OSError) as exc:
        report.add("status", "registry", Outcome.CANNOT, f"the registry did not answer: {exc}")
        return
    outcome = Outcome.PASS if status.status in (Status.VALID, Status.LEGACY) else Outcome.FAIL
    report.add("status", "registry", outcome, status.sentence())
    report.registry_status = status.to_dict()
    if hashlib.sha256(data).hexdigest() in digests:
        report.add(
            "status",
            "registry_file",
            Outcome.PASS,
            "this file is byte for byte the registered one"
            + (" (the recorded annotated copy)" if report.annotation else ""),
        )


def _recorded_annotation(session: Session, report: Report, row: CertificateRow) -> set[str] | None:
    """Whether the copy's signed 加注 is the one the registry recorded for this certificate
    version (same scenario and window); returns the recorded copy's file digests."""
    from sqlalchemy import select

    from docgen.registry.models import AnnotationRow

    shown = report.annotation
    if shown is None:
        return None
    recorded = session.scalars(
        select(AnnotationRow).where(AnnotationRow.number == shown["number"])
    ).first()
    if recorded is None or recorded.certificate_id != row.id:
        report.add(
            "status",
            "registry_annotation",
            Outcome.FAIL,
            f"the registry has no 加注 {shown['number']} for {row.number} version {row.version}",
        )
        return set()
    window = (recorded.valid_from.isoformat(), recorded.valid_to.isoformat())
    if (recorded.scenario, *window) != (shown["scenario"], shown["valid_from"], shown["valid_to"]):
        report.add(
            "status",
            "registry_annotation",
            Outcome.FAIL,
            f"the registry recorded 加注 {recorded.number} as {recorded.scenario}, "
            f"{window[0]} – {window[1]}, not as shown",
        )
        return set()
    report.add(
        "status",
        "registry_annotation",
        Outcome.PASS,
        f"加注 {recorded.number} is recorded for this certificate ({recorded.scenario}, "
        f"{window[0]} – {window[1]})",
    )
    return {d for d in (recorded.ofd_sha256, recorded.pdf_sha256) if d is not None}


def _status_list(
    report: Report,
    files: Sequence[tuple[str, bytes]],
    claims: QRClaims | None,
    signer: TrustedSigner | None,
    trust: TrustList,
    at: datetime,
) -> None:
    lists: list[tuple[str, StatusList]] = []
    for name, data in files:
        try:
            status_list, kid = verify_status_list(data, trust.qr_certificates(), at)
        except StatusListError as exc:
            report.add("status", "status_list", Outcome.CANNOT, f"{name}: {exc}")
            continue
        by = trust.signer_by_kid(kid)
        if by is None or by.issuer_code != status_list.issuer_code:
            report.add(
                "status",
                "status_list",
                Outcome.CANNOT,
                f"{name}: a list for {status_list.issuer_code} signed by another body",
            )
            continue
        lists.append((name, status_list))
    if signer is None or claims is None:
        return
    mine = [(n, s) for n, s in lists if s.issuer_code == signer.issuer_code]
    if not mine:
        if len(lists) == len(files):
            report.add(
                "status",
                "status_list",
                Outcome.INFO,
                f"no status list of {signer.issuer_name} given",
            )
        return
    name, status_list = max(mine, key=lambda item: item[1].issued)
    if claims.status_index is None:
        report.add("status", "status_list", Outcome.CANNOT, "the QR carries no status-list index")
        return
    when = (
        f"{name}, issued {status_list.issued.astimezone(BEIJING):%Y-%m-%d %H:%M}, "
        f"next update {status_list.next_update.astimezone(BEIJING):%Y-%m-%d %H:%M}"
    )
    try:
        code = status_list.code(claims.status_index)
    except StatusListError as exc:
        report.add("status", "status_list", Outcome.CANNOT, f"{name}: {exc}")
        return
    entry = status_list.details.get(claims.status_index)
    if code is Code.VALID:
        report.add("status", "status_list", Outcome.PASS, f"有效 valid ({when})")
    elif code is Code.REVOKED and entry is not None:
        report.add(
            "status",
            "status_list",
            Outcome.FAIL,
            f"已撤销 revoked on {entry.since.isoformat()}: "
            f"{entry.reason or 'no reason given'} ({when})",
        )
    elif code is Code.SUPERSEDED and entry is not None:
        report.add(
            "status",
            "status_list",
            Outcome.FAIL,
            f"已被替代 superseded by {entry.by} on {entry.since.isoformat()} ({when})",
        )
    else:
        report.add(
            "status", "status_list", Outcome.FAIL, f"the entry is {code.name.lower()} ({when})"
        )
