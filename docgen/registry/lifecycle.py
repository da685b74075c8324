"""Changes of a certificate's life, each recorded, audited and all-or-nothing.

Issue, revoke, correct, reissue (补发), review (复审) and extend (延期). A change that
writes files follows one protocol: render and seal, stage every file under a temporary
name beside its target (written whole and synced), then in **one transaction** add the
rows, the state changes, the audit entries and one *file intent* per file; after the
commit, rename the staged files into place and drop the intents. A crash before the commit
leaves only staged temporaries (removed); a crash after it is finished by the next
:meth:`Registry.open`. So no file exists without its row, and no row without its files.

The rules (review window, intervals, extension years) are data in each kind's
``[lifecycle]`` table, with their source in DOMAIN.md.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..clock import BEIJING, add_years
from ..errors import FieldProblem, OutputError, RecordError
from ..issuing import Rendered, refuse_repeated_numbers, render
from ..kinds import load_kind
from ..qrpayload import masked
from ..signing.sealer import Sealer
from ..validation import Certificate, validate_record
from . import audit
from .errors import NotFoundError, RefusedError
from .lookup import current_version
from .models import CertificateRow, FileIntent, IssuingBody, StatusChange
from .status import State, Status, answer, set_state
from .store import Registry, settle

__all__ = [
    "ABANDONED_AFTER_SECONDS",
    "StagedFiles",
    "VersionFacts",
    "Written",
    "correct",
    "extend",
    "file_name",
    "issue",
    "issuing_body",
    "record_of",
    "record_version",
    "record_versions",
    "reissue",
    "review",
    "revoke",
    "stage",
    "version_audit",
]


@dataclass(frozen=True)
class Written:
    """A certificate version the registry now holds, and where its files are."""

    number: str
    version: int
    identifier: str
    ofd: Path
    pdf: Path


def record_of(cert: Certificate) -> dict[str, Any]:
    """A validated certificate as a record that validates again to the same values
    (dates as ISO text, the normalised photo as a data URI, the version)."""
    record: dict[str, Any] = {"kind": cert.kind.name, "version": cert.version}
    for name, value in cert.values.items():
        if name == "photo":
            record[name] = "data:image/jpeg;base64," + base64.b64encode(cert.photo.jpeg).decode()
        elif isinstance(value, date):
            record[name] = value.isoformat()
        else:
            record[name] = value
    return record


def file_name(number: str, version: int, suffix: str) -> str:
    """A version's file name: ``<number>.ofd``, then ``<number>-v2.ofd`` and so on."""
    return f"{number}{suffix}" if version == 1 else f"{number}-v{version}{suffix}"


def stage(target: Path, data: bytes) -> Path:
    """Write ``data`` whole to a temporary file beside ``target``; returns its path.

    Raises:
        OSError: the file cannot be written (a full disk, a read-only folder); nothing of
            it is left.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".staged", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


#: A staged file older than this, that no running change holds and no committed intent names,
#: was left by a process killed before its commit, and is removed by the next change staging
#: beside it. A batch's files wait for their commit a few seconds (a batch that fails
#: removes its own); an hour leaves a stalled coordinator all the room it needs.
ABANDONED_AFTER_SECONDS = 3600


def _sweep(session: Session, folder: Path) -> None:
    """Remove the abandoned staged files in ``folder`` (see :data:`ABANDONED_AFTER_SECONDS`):
    old enough, not locked by the change that staged them (a single change holds a shared
    lock on each of its files until they are renamed), and named by no file intent."""
    now = time.time()
    with os.scandir(folder) as entries:
        old = [
            Path(e.path)
            for e in entries
            if e.name.startswith(".")
            and e.name.endswith(".staged")
            and now - e.stat().st_mtime > ABANDONED_AFTER_SECONDS
        ]
    if not old:
        return
    names = [str(path) for path in old]
    named = set(session.scalars(select(FileIntent.staged).where(FileIntent.staged.in_(names))))
    for path in old:
        if str(path) in named:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its change is still running
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)


class StagedFiles:
    """Staged files of one transaction: renamed after the commit, removed on failure. Files
    staged here (not adopted from a batch's workers) are locked until then, and abandoned
    ones beside them removed (:func:`_sweep`)."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path, str]] = []
        self._locks: list[int] = []
        self._swept: set[Path] = set()

    def add(self, session: Session, target: Path, data: bytes, overwrite: bool) -> str:
        if target.exists() and not overwrite:
            raise OutputError(f"{target} exists; pass --overwrite to replace it")
        digest = hashlib.sha256(data).hexdigest()
        if target.parent not in self._swept and target.parent.is_dir():
            self._swept.add(target.parent)
            with contextlib.suppress(OSError):  # tidying only: never a reason to fail
                _sweep(session, target.parent)
        try:
            staged = stage(target, data)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
        self.adopt(session, target, staged, digest)  # from here discard() removes it
        try:
            fd = os.open(staged, os.O_RDONLY)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
        self._locks.append(fd)
        fcntl.flock(fd, fcntl.LOCK_SH)
        return digest

    def _release(self) -> None:
        for fd in self._locks:
            os.close(fd)
        self._locks.clear()

    def adopt(self, session: Session, target: Path, staged: Path, digest: str) -> None:
        """Take on a file another process staged beside ``target``."""
        self.adopt_many(session, [(target, staged, digest)])

    def adopt_many(self, session: Session, files: Sequence[tuple[Path, Path, str]]) -> None:
        """Take on files other processes staged (``(target, staged, sha256)`` each), their
        intents added in one statement."""
        if not files:
            return
        self.staged += files
        session.execute(
            insert(FileIntent),
            [{"path": str(t), "staged": str(s), "sha256": d} for t, s, d in files],
        )

    def discard(self) -> None:
        for _, staged, _ in self.staged:
            staged.unlink(missing_ok=True)
        self._release()

    def settle(self, registry: Registry) -> None:
        try:
            for target, staged, digest in self.staged:
                settle(str(target), str(staged), digest, hashed=True)
        finally:
            self._release()
        with registry.writing() as session:
            paths = [str(t) for t, _, _ in self.staged]
            session.execute(delete(FileIntent).where(FileIntent.path.in_(paths)))


def _body(session: Session, cert: Certificate, at: datetime) -> IssuingBody:
    return issuing_body(
        session, str(cert.values["issuer_code"]), str(cert.values[cert.kind.issuer_field]), at
    )


def issuing_body(session: Session, code: str, name: str, at: datetime) -> IssuingBody:
    """The issuing body of credit code ``code``, added to the registry if new."""
    body = session.scalars(select(IssuingBody).where(IssuingBody.code == code)).first()
    if body is None:
        body = IssuingBody(
            code=code,
            name=name,
            next_status_index=0,
            created_at=at,
        )
        session.add(body)
        session.flush()
    return body


def _date(values: Mapping[str, Any], name: str) -> date | None:
    value = values.get(name)
    return value if isinstance(value, date) else None


@dataclass(frozen=True)
class VersionFacts:
    """What the registry records of a rendered certificate version; plain values, so it can
    be made where the certificate was rendered (another process, another machine)."""

    kind: str
    number: str
    version: int
    identifier: str
    status_index: int | None
    holder_name: str
    id_number: str
    issue_date: date
    first_issue_date: date | None
    valid_from: date | None
    valid_to: date | None
    review_date: date | None
    record: dict[str, Any]

    @classmethod
    def of(cls, cert: Certificate) -> VersionFacts:
        values, meta = cert.values, cert.kind.metadata
        return cls(
            kind=cert.kind.name,
            number=cert.number,
            version=cert.version,
            identifier=cert.identifier,
            status_index=cert.status_index,
            holder_name=str(values["name"]),
            id_number=str(values["id_number"]),
            issue_date=values["issue_date"],
            first_issue_date=_date(values, "first_issue_date"),
            valid_from=_date(values, meta.get("valid_from", "valid_from")),
            valid_to=_date(values, meta.get("valid_to", "valid_to")),
            review_date=_date(values, "review_date"),
            record=record_of(cert),
        )


def _version_values(
    registry: Registry,
    facts: VersionFacts,
    files: Mapping[str, tuple[Path, str]],
    at: datetime,
    related: str | None,
) -> dict[str, Any]:
    """The columns of a version's row but its issuer and state (``files``' paths as they
    are: the callers resolve them)."""
    (ofd, ofd_sha), (pdf, pdf_sha) = files["ofd"], files["pdf"]
    return {
        "identifier": facts.identifier,
        "kind": facts.kind,
        "number": facts.number,
        "version": facts.version,
        "holder_name": facts.holder_name,
        "id_hash": registry.key.id_hash(facts.id_number),
        "id_masked": masked(facts.id_number, len(facts.id_number)),
        "issue_date": facts.issue_date,
        "first_issue_date": facts.first_issue_date,
        "valid_from": facts.valid_from,
        "valid_to": facts.valid_to,
        "review_date": facts.review_date,
        "legacy": False,
        "related_identifier": related,
        "status_index": facts.status_index,
        "ofd_path": str(ofd),
        "ofd_sha256": ofd_sha,
        "pdf_path": str(pdf),
        "pdf_sha256": pdf_sha,
        "record": registry.key.seal(facts.record, facts.identifier),
        "created_at": at,
        "changed_at": at,
    }


def version_audit(
    facts: VersionFacts,
    files: Mapping[str, tuple[Path, str]],
    *,
    operator: str,
    at: datetime,
    action: str,
    reason: str | None,
    related: str | None = None,
) -> dict[str, Any]:
    """The audit entry of a recorded version (the arguments of :func:`audit.append`)."""
    return {
        "at": at,
        "operator": operator,
        "action": action,
        "subject": facts.identifier,
        "reason": reason,
        "detail": {
            "number": facts.number,
            "version": facts.version,
            "kind": facts.kind,
            "files": {"ofd": files["ofd"][1], "pdf": files["pdf"][1]},
            "status_index": facts.status_index,
            **({"replaces": related} if related is not None else {}),
        },
    }


def record_version(
    registry: Registry,
    session: Session,
    body: IssuingBody,
    facts: VersionFacts,
    files: Mapping[str, tuple[Path, str]],
    *,
    operator: str,
    at: datetime,
    action: str,
    reason: str | None,
    related: CertificateRow | None = None,
) -> CertificateRow:
    """Add the row of a rendered version (``files``: ``{"ofd"|"pdf": (path, sha256)}``, staged
    in this transaction), its state change and its audit entry."""
    replaces = related.identifier if related is not None else None
    files = {key: (path.resolve(), digest) for key, (path, digest) in files.items()}
    row = CertificateRow(issuer=body, **_version_values(registry, facts, files, at, replaces))
    set_state(row, State.ACTIVE, at=at, action=action, reason=reason, operator=operator)
    session.add(row)
    audit.append(
        session,
        **version_audit(
            facts, files, operator=operator, at=at, action=action, reason=reason, related=replaces
        ),
    )
    return row


def record_versions(
    registry: Registry,
    session: Session,
    body: IssuingBody,
    versions: Sequence[tuple[VersionFacts, Mapping[str, tuple[Path, str]], str | None]],
    *,
    operator: str,
    at: datetime,
    action: str,
) -> None:
    """Add the rows and state changes of many new versions (``(facts, files, reason)``
    each) in two statements, as :func:`record_version` adds one, without an object per
    row: a batch's commit group, whose paths are resolved already (its output folder is,
    once: resolving each file's path cost 0.3 ms a certificate). Their audit entries are
    the caller's to append (:func:`version_audit`, :func:`audit.append_many`), in the order
    it keeps."""
    if not versions:
        return
    rows = [
        {
            **_version_values(registry, facts, files, at, None),
            "issuer_id": body.id,
            "state": State.ACTIVE,
        }
        for facts, files, _ in versions
    ]
    ids = session.scalars(
        insert(CertificateRow).returning(CertificateRow.id, sort_by_parameter_order=True), rows
    ).all()
    session.execute(
        insert(StatusChange),
        [
            {
                "certificate_id": row_id,
                "at": at,
                "action": action,
                "state": State.ACTIVE,
                "reason": reason,
                "operator": operator,
            }
            for row_id, (_, _, reason) in zip(ids, versions, strict=True)
        ],
    )


def _add_version(
    registry: Registry,
    session: Session,
    files: StagedFiles,
    cert: Certificate,
    sealer: Sealer,
    out_dir: Path,
    *,
    operator: str,
    at: datetime,
    action: str,
    reason: str | None,
    related: CertificateRow | None,
    overwrite: bool,
) -> tuple[CertificateRow, Written]:
    """Render, seal and stage ``cert`` and add its row, state change and audit entry."""
    body = _body(session, cert, at)
    cert = replace(cert, status_index=body.next_status_index)
    body.next_status_index += 1
    rendered: Rendered = render(cert, sealer)
    ofd = out_dir / file_name(cert.number, cert.version, ".ofd")
    pdf = out_dir / file_name(cert.number, cert.version, ".pdf")
    staged = {
        "ofd": (ofd, files.add(session, ofd, rendered.ofd, overwrite)),
        "pdf": (pdf, files.add(session, pdf, rendered.pdf, overwrite)),
    }
    row = record_version(
        registry,
        session,
        body,
        VersionFacts.of(cert),
        staged,
        operator=operator,
        at=at,
        action=action,
        reason=reason,
        related=related,
    )
    return row, Written(cert.number, cert.version, cert.identifier, ofd, pdf)


def issue(
    registry: Registry,
    certificates: Sequence[Certificate],
    out_dir: Path,
    sealer: Sealer,
    *,
    operator: str,
    at: datetime,
    overwrite: bool = False,
) -> list[Written]:
    """Register, seal and write validated certificates (version 1 each); all or nothing.

    Raises:
        RecordError: the sealer may not sign one of them.
        RefusedError: a number is already registered.
        OutputError: a file exists (without ``overwrite``) or cannot be written.
    """
    numbers = [c.number for c in certificates]
    refuse_repeated_numbers(numbers)
    files = StagedFiles()
    written = []
    try:
        with registry.writing() as session:
            taken = session.scalars(
                select(CertificateRow.number).where(CertificateRow.number.in_(numbers))
            ).all()
            if taken:
                raise RefusedError(
                    f"already registered: {', '.join(sorted(set(taken)))} — use `docgen correct` "
                    "or `docgen reissue` for a new version"
                )
            for cert in certificates:
                if cert.version != 1:
                    raise RefusedError(
                        f"{cert.number}: a new certificate is version 1, not {cert.version}"
                    )
                _, item = _add_version(
                    registry,
                    session,
                    files,
                    cert,
                    sealer,
                    out_dir,
                    operator=operator,
                    at=at,
                    action="issue",
                    reason=None,
                    related=None,
                    overwrite=overwrite,
                )
                written.append(item)
    except BaseException:
        files.discard()
        raise
    files.settle(registry)
    return written


def _current(session: Session, number: str, at: datetime, verb: str) -> CertificateRow:
    row = current_version(session, number)
    if row is None:
        raise NotFoundError(f"{number}: no such certificate in the registry")
    status = answer(row, at)
    if status.status is Status.REVOKED:
        raise RefusedError(f"{number} is {status.sentence()}: cannot {verb} it")
    if status.status is Status.NOT_ISSUED:
        raise RefusedError(f"{number} was not yet issued at {at.isoformat()}: cannot {verb} it")
    return row


def _supersede(
    session: Session,
    old: CertificateRow,
    new: CertificateRow,
    *,
    operator: str,
    at: datetime,
    action: str,
    reason: str | None,
) -> None:
    set_state(old, State.SUPERSEDED, at=at, action=action, reason=reason, operator=operator)
    old.superseded_by = new
    old.changed_at = at


def _new_version(
    registry: Registry,
    number: str,
    make_record: Callable[[CertificateRow], Mapping[str, Any]],
    sealer: Sealer,
    *,
    operator: str,
    at: datetime,
    action: str,
    verb: str,
    reason: str | None,
    out_dir: Path | None,
    overwrite: bool,
) -> Written:
    """The shared path of correct, reissue, review and extend: a new sealed version that
    supersedes the current one."""
    files = StagedFiles()
    try:
        with registry.writing() as session:
            old = _current(session, number, at, verb)
            record = dict(make_record(old))
            record["version"] = old.version + 1
            kind = load_kind(old.kind)
            try:
                cert = validate_record(kind, record, at, None, number)
            except RecordError as exc:
                raise exc.about(f"{number} v{old.version + 1}") from None
            if cert.number != old.number:
                raise RefusedError(
                    f"{number}: the number cannot change in a {verb} (record has {cert.number})"
                )
            if str(cert.values["issuer_code"]) != old.issuer.code:
                raise RefusedError(
                    f"{number}: the issuing body cannot change (registered: {old.issuer.code})"
                )
            folder = out_dir or (Path(old.ofd_path).parent if old.ofd_path else Path("."))
            new, item = _add_version(
                registry,
                session,
                files,
                cert,
                sealer,
                folder,
                operator=operator,
                at=at,
                action=action,
                reason=reason,
                related=old,
                overwrite=overwrite,
            )
            _supersede(session, old, new, operator=operator, at=at, action=action, reason=reason)
    except BaseException:
        files.discard()
        raise
    files.settle(registry)
    return item


def revoke(
    registry: Registry, number: str, *, reason: str, operator: str, at: datetime
) -> CertificateRow:
    """Revoke the current version of ``number``.

    Raises:
        NotFoundError: no such certificate.
        RefusedError: no reason given, or already revoked.
    """
    if not reason.strip():
        raise RefusedError("--reason: say why the certificate is revoked")
    with registry.writing() as session:
        row = _current(session, number, at, "revoke")
        set_state(
            row, State.REVOKED, at=at, action="revoke", reason=reason.strip(), operator=operator
        )
        row.changed_at = at
        audit.append(
            session,
            at=at,
            operator=operator,
            action="revoke",
            subject=row.identifier,
            reason=reason.strip(),
            detail={"number": row.number, "version": row.version},
        )
    return row


def correct(
    registry: Registry,
    number: str,
    record: Mapping[str, Any],
    sealer: Sealer,
    *,
    operator: str,
    at: datetime,
    reason: str | None = None,
    out_dir: Path | None = None,
    overwrite: bool = False,
) -> Written:
    """A corrected new version from ``record``: version +1, 关联证照标识 = the old one, which
    becomes superseded.

    Raises:
        NotFoundError, RefusedError, RecordError, OutputError.
    """
    if not isinstance(record, Mapping):
        raise RecordError([FieldProblem("record", "must be a JSON object", number)])

    def corrected(old: CertificateRow) -> dict[str, Any]:
        if old.legacy:
            raise RefusedError(
                f"{number} is a legacy record without an e-certificate: use `docgen reissue "
                f"{number} --data RECORD.json` to replace it by one"
            )
        return {k: v for k, v in record.items() if k != "version"}

    return _new_version(
        registry,
        number,
        corrected,
        sealer,
        operator=operator,
        at=at,
        action="correct",
        verb="correct",
        reason=reason or "更正 correction",
        out_dir=out_dir,
        overwrite=overwrite,
    )


def reissue(
    registry: Registry,
    number: str,
    sealer: Sealer,
    *,
    operator: str,
    at: datetime,
    record: Mapping[str, Any] | None = None,
    reason: str | None = None,
    out_dir: Path | None = None,
    overwrite: bool = False,
) -> Written:
    """补发: a lost or damaged certificate is replaced by a new e-certificate version (never
    by paper). A legacy (paper) record needs ``record`` (with the photo); its number, holder
    and ID number must match the register.

    Raises:
        NotFoundError, RefusedError, RecordError, OutputError.
    """

    def again(old: CertificateRow) -> dict[str, Any]:
        if old.legacy:
            if record is None:
                raise RefusedError(
                    f"{number} is a legacy paper record: give --data RECORD.json (with the "
                    "holder's photo) to issue its e-certificate"
                )
            given = dict(record)
            id_number = str(given.get("id_number", ""))
            if given.get("name") != old.holder_name or (
                registry.key.id_hash(id_number) != old.id_hash
            ):
                raise RefusedError(
                    f"{number}: the record's holder or ID number differs from the register"
                )
            return {k: v for k, v in given.items() if k != "version"}
        if record is not None:
            raise RefusedError(
                f"{number}: a reissue repeats the registered data; use `docgen correct` to "
                "change it"
            )
        assert old.record is not None
        return registry.key.open(old.record, old.identifier)

    return _new_version(
        registry,
        number,
        again,
        sealer,
        operator=operator,
        at=at,
        action="reissue",
        verb="reissue",
        reason=reason or "补发 reissue (lost or damaged)",
        out_dir=out_dir,
        overwrite=overwrite,
    )


def _rule(kind_name: str, name: str, verb: str) -> dict[str, Any]:
    kind = load_kind(kind_name)
    rule = kind.lifecycle.get(name)
    if rule is None:
        raise RefusedError(f"{kind.type_name} ({kind.name}) has no {verb}")
    return rule


def review(
    registry: Registry,
    number: str,
    sealer: Sealer,
    *,
    operator: str,
    at: datetime,
    clean_record: bool = False,
    out_dir: Path | None = None,
    overwrite: bool = False,
) -> Written:
    """复审: only within the kind's window before 应复审日期; the new version's validity
    restarts at that date (初领日期 never changes) and its 应复审日期 moves by the interval
    (the longer one with ``clean_record``, allowed after the kind's clean-record years).

    Raises:
        NotFoundError, RefusedError, RecordError, OutputError.
    """
    day = at.astimezone(BEIJING).date()

    def reviewed(old: CertificateRow) -> dict[str, Any]:
        rule = _rule(old.kind, "review", "review (复审)")
        field = rule["field"]
        due = old.review_date
        if due is None or old.record is None:
            raise RefusedError(f"{number} has no 应复审日期 to review")
        opens = due - timedelta(days=int(rule["opens_days_before"]))
        if day < opens:
            raise RefusedError(
                f"{number}: review opens {opens.isoformat()}, {rule['opens_days_before']} days "
                f"before 应复审日期 {due.isoformat()} (asked on {day.isoformat()})"
            )
        if day > due:
            raise RefusedError(
                f"{number}: 应复审日期 {due.isoformat()} has passed; an overdue certificate "
                "cannot be reviewed"
            )
        record = registry.key.open(old.record, old.identifier)
        years = int(rule["years"])
        if clean_record:
            first = date.fromisoformat(record[rule["first_issue_field"]])
            needed = int(rule["clean_record_after_years"])
            if add_years(first, needed) > day:
                raise RefusedError(
                    f"{number}: the clean-record extension needs {needed} years since "
                    f"初领日期 {first.isoformat()}"
                )
            years = int(rule["clean_record_years"])
        restart = rule["restart_field"]
        record[restart] = due.isoformat()
        record[field] = add_years(due, years).isoformat()
        for derived in rule.get("rederive", []):
            record.pop(derived, None)
        record["issue_date"] = day.isoformat()
        return record

    return _new_version(
        registry,
        number,
        reviewed,
        sealer,
        operator=operator,
        at=at,
        action="review",
        verb="review",
        reason="复审 review" + ("（连续10年无违法，延长复审期）" if clean_record else ""),
        out_dir=out_dir,
        overwrite=overwrite,
    )


def extend(
    registry: Registry,
    number: str,
    sealer: Sealer,
    *,
    operator: str,
    at: datetime,
    out_dir: Path | None = None,
    overwrite: bool = False,
) -> Written:
    """证书延期: a new version whose validity end moves by the kind's years.

    Raises:
        NotFoundError, RefusedError, RecordError, OutputError.
    """
    day = at.astimezone(BEIJING).date()

    def extended(old: CertificateRow) -> dict[str, Any]:
        rule = _rule(old.kind, "extend", "extension (延期)")
        if old.valid_to is None or old.record is None:
            raise RefusedError(f"{number} has no end of validity (长期): nothing to extend")
        if day > old.valid_to:
            raise RefusedError(
                f"{number} expired on {old.valid_to.isoformat()}: a lapsed certificate "
                "cannot be extended"
            )
        record = registry.key.open(old.record, old.identifier)
        record[rule["field"]] = add_years(old.valid_to, int(rule["years"])).isoformat()
        record["issue_date"] = day.isoformat()
        return record

    return _new_version(
        registry,
        number,
        extended,
        sealer,
        operator=operator,
        at=at,
        action="extend",
        verb="extend",
        reason="延期 extension",
        out_dir=out_dir,
        overwrite=overwrite,
    )
