"""Old-style certificates (no QR, no file) imported from a register, looked up by number.

The CSV has a header row with these columns (``*`` required): ``kind*``, ``number*``,
``name*``, ``id_type`` (default 居民身份证), ``id_number*``, ``issuer*``, ``issuer_code*``,
``issue_date*``, ``first_issue_date``, ``valid_from``, ``valid_to``, ``review_date``
(dates as YYYY-MM-DD). Every row is checked before anything is written; one error line per
problem names the row and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from ..clock import BEIJING
from ..errors import FieldProblem, RecordError
from ..identifiers import licence_identifier, validate_resident_id
from ..kinds import KIND_NAMES, load_kind
from ..qrpayload import masked
from ..validation import RESIDENT_ID
from . import audit
from .models import CertificateRow, IssuingBody
from .status import State, set_state
from .store import Registry

__all__ = ["COLUMNS", "import_legacy"]

#: The columns of a legacy register file; the first are required.
COLUMNS = (
    "kind",
    "number",
    "name",
    "id_number",
    "issuer",
    "issuer_code",
    "issue_date",
    "id_type",
    "first_issue_date",
    "valid_from",
    "valid_to",
    "review_date",
)
_REQUIRED = frozenset(COLUMNS[:7])
_DATES = ("issue_date", "first_issue_date", "valid_from", "valid_to", "review_date")
_NUMBER = re.compile(r"^[0-9A-Z]{1,40}$")


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, Any]
    identifier: str


def _check(line: int, raw: dict[str, str], where: str) -> tuple[_Row | None, list[FieldProblem]]:
    problems: list[FieldProblem] = []
    row_name = f"{where} row {line}"

    def problem(column: str, message: str) -> None:
        problems.append(FieldProblem(column, message, row_name))

    values: dict[str, Any] = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    for column in _REQUIRED:
        if not values[column]:
            problem(column, "is required")
    if values["kind"] and values["kind"] not in KIND_NAMES:
        problem("kind", f"unknown kind {values['kind']!r}; known: {', '.join(KIND_NAMES)}")
    values["number"] = values["number"].upper()
    if values["number"] and not _NUMBER.match(values["number"]):
        problem("number", f"{values['number']!r} may hold only upper-case letters and digits")
    values["id_type"] = values["id_type"] or RESIDENT_ID
    if values["id_number"] and values["id_type"] == RESIDENT_ID:
        try:
            values["id_number"] = validate_resident_id(values["id_number"])
        except StdnumError as exc:
            problem("id_number", f"{values['id_number']!r} is not a valid 居民身份证号码 ({exc})")
    if values["issuer_code"]:
        try:
            values["issuer_code"] = uscc.validate(values["issuer_code"].upper())
        except StdnumError as exc:
            problem(
                "issuer_code", f"{values['issuer_code']!r} is not a valid 统一社会信用代码 ({exc})"
            )
    for column in _DATES:
        if values[column]:
            try:
                values[column] = date.fromisoformat(values[column])
            except ValueError:
                problem(column, f"{values[column]!r} is not a date YYYY-MM-DD")
        else:
            values[column] = None
    if problems:
        return None, problems
    identifier = licence_identifier(
        load_kind(values["kind"]).type_code, values["issuer_code"], values["number"], 1
    )
    return _Row(line, values, identifier), []


def import_legacy(registry: Registry, path: Path, *, operator: str, at: datetime) -> int:
    """Register every row of the CSV at ``path`` as a legacy record; returns how many.

    Raises:
        RecordError: one problem per bad row and column (nothing is imported).
    """
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError([FieldProblem("file", f"cannot read it ({exc})", str(path))]) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = _REQUIRED - set(reader.fieldnames or ())
    if missing:
        raise RecordError(
            [FieldProblem("header", f"missing columns: {', '.join(sorted(missing))}", str(path))]
        )
    rows: list[_Row] = []
    problems: list[FieldProblem] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        row, found = _check(line, raw, str(path))
        problems += found
        if row is None:
            continue
        number = row.values["number"]
        if number in seen:
            problems.append(
                FieldProblem("number", f"{number} repeats row {seen[number]}", f"{path} row {line}")
            )
            continue
        seen[number] = line
        rows.append(row)
    if not rows and not problems:
        problems.append(FieldProblem("file", "holds no rows", str(path)))
    if problems:
        raise RecordError(problems)
    with registry.writing() as session:
        taken = set(
            session.scalars(
                select(CertificateRow.number).where(CertificateRow.number.in_(list(seen)))
            )
        )
        if taken:
            raise RecordError(
                [
                    FieldProblem(
                        "number",
                        f"{r.values['number']} is already registered",
                        f"{path} row {r.line}",
                    )
                    for r in rows
                    if r.values["number"] in taken
                ]
            )
        bodies: dict[str, IssuingBody] = {}
        for row in rows:
            values = row.values
            code = values["issuer_code"]
            body = (
                bodies.get(code)
                or session.scalars(select(IssuingBody).where(IssuingBody.code == code)).first()
            )
            if body is None:
                body = IssuingBody(
                    code=code, name=values["issuer"], next_status_index=0, created_at=at
                )
                session.add(body)
            bodies[code] = body
            record = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}
            certificate = CertificateRow(
                identifier=row.identifier,
                kind=values["kind"],
                number=values["number"],
                version=1,
                holder_name=values["name"],
                id_hash=registry.key.id_hash(values["id_number"]),
                id_masked=masked(values["id_number"], len(values["id_number"])),
                issuer=body,
                issue_date=values["issue_date"],
                first_issue_date=values["first_issue_date"],
                valid_from=values["valid_from"],
                valid_to=values["valid_to"],
                review_date=values["review_date"],
                legacy=True,
                record=registry.key.seal(record, row.identifier),
                created_at=at,
                changed_at=at,
            )
            # the old certificate has been in force since its issue day, not since the import
            in_force = datetime.combine(values["issue_date"], time(), BEIJING)
            set_state(
                certificate,
                State.ACTIVE,
                at=in_force,
                action="import",
                reason=f"legacy register {path.name}",
                operator=operator,
            )
            session.add(certificate)
            audit.append(
                session,
                at=at,
                operator=operator,
                action="import-legacy",
                subject=row.identifier,
                reason=f"legacy register {path.name} row {row.line}",
                detail={"number": values["number"], "kind": values["kind"]},
            )
    return len(rows)
