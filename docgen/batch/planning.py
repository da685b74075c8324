"""The first pass of a batch: every row checked, eligible rows given their numbers.

Rows are read in order and committed in chunks: each chunk is one registry transaction that
takes the chunk's serial numbers and status-list entries, records every row (planned with
its number, or rejected with the reason) and audits the allocation. A crash loses at most
the chunk in flight, which the next run plans again from the first row not recorded.

The photo is judged here by its header (found, JPEG/PNG, large enough); the worker decodes
it. A record is validated with a stand-in photo and a stand-in serial, so a row that passes
here fails later only if its photo does not decode — and then its number is recorded as
void with the reason, never skipped silently.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from PIL import Image
from sqlalchemy import select
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError

from ..clock import BEIJING
from ..errors import RecordError
from ..identifiers import PROVINCE_CODES, licence_identifier, validate_resident_id
from ..kinds import KindSpec
from ..photo import Photo, load_photo
from ..qrpayload import masked
from ..registry import audit
from ..registry.lifecycle import issuing_body
from ..registry.models import BatchItem, BatchRow, CertificateRow
from ..registry.numbering import NumberPattern, allocate
from ..registry.store import Registry
from ..signing.keystore import IssuerIdentity
from ..validation import RESIDENT_ID, validate_record
from .chunks import chunked
from .eligibility import Reason, assess
from .photos import PhotoSource
from .results import ResultsFile

__all__ = [
    "CHUNK_ROWS",
    "ISSUED",
    "PLANNED",
    "REJECTED",
    "VOID",
    "batch_items",
    "item_record",
    "plan",
]

#: Rows per planning transaction.
CHUNK_ROWS = 500
PLANNED, ISSUED, REJECTED, VOID = "planned", "issued", "rejected", "void"
_SITE_CODE = re.compile(r"^[YS]\d{12}$")


@cache
@cache
def _stand_in_photo() -> Photo:
    """A photo that passes the checks, loaded once: rows are checked before their own
    photos are read (a photo's header is checked separately)."""
    out = io.BytesIO()
    Image.new("RGB", (90, 120), (200, 200, 200)).save(out, "PNG")
    return load_photo(out.getvalue())


@dataclass
class _Row:
    line: int
    name: str
    id_masked: str
    unit: str
    candidate: str | None
    record: dict[str, Any]
    photo: str = ""
    prefix: str | None = None
    number: str | None = None
    reasons: list[Reason] | None = None


def batch_items(
    registry: Registry, batch_id: str, states: Sequence[str], page: int = 500
) -> Iterator[BatchItem]:
    """The rows of a batch in ``states``, in line order, read page by page."""
    after = 0
    while True:
        with registry.reading() as session:
            found = list(
                session.scalars(
                    select(BatchItem)
                    .where(BatchItem.batch_id == batch_id, BatchItem.state.in_(states))
                    .where(BatchItem.row_no > after)
                    .order_by(BatchItem.row_no)
                    .limit(page)
                )
            )
        if not found:
            return
        yield from found
        after = found[-1].row_no


def item_record(registry: Registry, batch_id: str, line: int, blob: bytes) -> dict[str, Any]:
    """The sealed record of a planned row."""
    return registry.key.open(blob, f"batch:{batch_id}:{line}")


class _Checker:
    def __init__(
        self,
        kind: KindSpec,
        identity: IssuerIdentity,
        photos: PhotoSource,
        at: datetime,
        id_hash: Callable[[str], str],
        seen: dict[str, int],
    ) -> None:
        self.kind = kind
        self.identity = identity
        self.photos = photos
        self.at = at
        self.day = at.astimezone(BEIJING).date()
        self.id_hash = id_hash
        self.seen = seen
        self.pattern = NumberPattern(kind.number.allocate) if kind.number.allocate else None
        self.fields = {f.name: f for f in kind.fields}

    def row(self, line: int, cells: Mapping[str, str]) -> _Row:
        id_number = cells.get("id_number", "").strip().upper()
        reasons: list[Reason] = []
        row = _Row(
            line=line,
            name=cells.get("name", ""),
            id_masked=masked(id_number, len(id_number)) if id_number else "",
            unit=cells.get("unit", "") or "（未填单位）",
            candidate=self.id_hash(id_number) if id_number else None,
            record={},
            reasons=reasons,
        )
        self._identity(cells, id_number, reasons)
        first = self.seen.get(row.candidate) if row.candidate is not None else None
        if first is not None:
            reasons.append(
                Reason(
                    "id_number",
                    f"与第 {first} 行为同一考生（证件号码相同）",
                    f"the same candidate as line {first} (same ID number)",
                )
            )
            return row
        assessment = assess(self.kind, cells, self.day)
        reasons.extend(assessment.reasons)
        record = self._record(cells, assessment.values, reasons)
        row.record = record
        photo = self.photos.find(cells.get("photo", ""), id_number)
        if photo is None:
            wanted = cells.get("photo") or f"{id_number}.jpg"
            reasons.append(
                Reason("photo", f"照片缺失：找不到 {wanted}", f"photo missing: no {wanted}")
            )
        else:
            why = self.photos.check(photo)
            if why is not None:
                reasons.append(Reason("photo", f"照片无法使用：{why}", f"photo unusable: {why}"))
            row.photo = photo
        if reasons:
            return row
        self._validate(row, reasons, cells.get("site_code", ""))
        if not reasons and row.candidate is not None:
            # only a row that will be issued makes a later one a repeat (as on a resume,
            # which reads the planned rows back)
            self.seen[row.candidate] = line
        return row

    def _identity(self, cells: Mapping[str, str], id_number: str, reasons: list[Reason]) -> None:
        id_type = cells.get("id_type") or self.fields["id_type"].default or RESIDENT_ID
        if id_type != RESIDENT_ID or not id_number:
            return
        try:
            validate_resident_id(id_number)
        except InvalidChecksum:
            expected = ric.calc_check_digit(id_number)
            reasons.append(
                Reason(
                    "id_number",
                    f"证件号码 {id_number} 校验位错误（应为 {expected}）",
                    f"ID number {id_number}: the check character is wrong (expected {expected})",
                )
            )
        except InvalidLength:
            reasons.append(
                Reason(
                    "id_number",
                    f"证件号码应为 18 位，现为 {len(id_number)} 位",
                    f"the ID number must have 18 characters, not {len(id_number)}",
                )
            )
        except (InvalidComponent, StdnumError):
            reasons.append(
                Reason(
                    "id_number",
                    f"证件号码 {id_number} 的地区码或出生日期无效",
                    f"ID number {id_number}: area code or birth date is not valid",
                )
            )

    def _record(
        self, cells: Mapping[str, str], scores: Mapping[str, float], reasons: list[Reason]
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"kind": self.kind.name}
        for name, spec in self.fields.items():
            value = cells.get(name, "")
            if value and name != "photo":
                record[name] = value
            if spec.type == "choice" and value:
                choices = spec.options()
                if value not in choices:
                    reasons.append(
                        Reason(
                            name,
                            f"{spec.label}「{value}」不在可选范围内（{'、'.join(choices)}）",
                            f"{name} {value!r} is not one of: {', '.join(choices)}",
                        )
                    )
        record.update(scores)
        issuer_field = self.kind.issuer_field
        record.setdefault(issuer_field, self.identity.name)
        record.setdefault("issuer_code", self.identity.code)
        if record["issuer_code"] != self.identity.code:
            reasons.append(
                Reason(
                    "issuer_code",
                    f"发证机构代码 {record['issuer_code']} 不是本批次密钥的机构 "
                    f"{self.identity.code}",
                    f"issuer code {record['issuer_code']} is not the key store's "
                    f"{self.identity.code}",
                )
            )
        site = cells.get("site_code", "")
        needs_site = self.pattern is not None and "{site_code}" in self.pattern.pattern
        if needs_site and (not _SITE_CODE.match(site) or site[5:7] not in PROVINCE_CODES):
            reasons.append(
                Reason(
                    "site_code",
                    f"鉴定站点代码「{site}」应为 13 位：Y 或 S、4 位部委代码、2 位省份代码、"
                    "6 位站点序号",
                    f"site code {site!r} must be 13 characters: Y or S, 4-digit body, "
                    "2-digit province, 6-digit site",
                )
            )
        return record

    def _context(self, row: _Row, site: str) -> dict[str, Any]:
        level_field = self.kind.number.level_field or "level"
        spec = self.fields.get(level_field)
        level = row.record.get(level_field) or (spec.default if spec else None) or ""
        digit = self.kind.number.level_digits.get(level, "")
        return {**row.record, "site_code": site, "level_digit": digit}

    def _validate(self, row: _Row, reasons: list[Reason], site: str) -> None:
        record = dict(row.record)
        if self.pattern is not None and "number" not in record:
            context = self._context(row, site)
            width = self.pattern.width
            try:
                row.prefix = self.pattern.prefix(context, self.day)
                record["number"] = self.pattern.number(context, self.day, 0 if width else None)
            except KeyError as exc:
                reasons.append(
                    Reason(str(exc.args[0]), f"缺少 {exc.args[0]}", f"{exc.args[0]} is missing")
                )
                return
            if width is None:
                row.number, row.prefix = record["number"], None
        record["photo"] = _stand_in_photo()
        try:
            cert = validate_record(self.kind, record, self.at, None, f"line {row.line}")
        except RecordError as exc:
            for problem in exc.problems:
                label = self.fields[problem.field].label if problem.field in self.fields else ""
                reasons.append(
                    Reason(
                        problem.field,
                        f"{label or problem.field}填写有误：{problem.message}",
                        f"{problem.field}: {problem.message}",
                    )
                )
            return
        if row.prefix is None:
            row.number = cert.number
        row.name = str(cert.values["name"])


def plan(
    registry: Registry,
    batch_id: str,
    kind: KindSpec,
    results: ResultsFile,
    photos: PhotoSource,
    identity: IssuerIdentity,
    *,
    at: datetime,
    operator: str,
    progress: Callable[[int], None] = lambda n: None,
) -> None:
    """Check and record every row not recorded yet, allocating numbers to eligible ones."""
    with registry.reading() as session:
        batch = session.get(BatchRow, batch_id)
        assert batch is not None
        start = batch.rows_read
        seen = {
            candidate: line
            for candidate, line in session.execute(
                select(BatchItem.candidate, BatchItem.row_no).where(
                    BatchItem.batch_id == batch_id,
                    BatchItem.state != REJECTED,
                    BatchItem.candidate.is_not(None),
                )
            )
            if candidate is not None
        }
    checker = _Checker(kind, identity, photos, at, registry.key.id_hash, seen)
    pattern = checker.pattern
    for chunk in chunked(results.rows(start_after=start), CHUNK_ROWS):
        rows = [checker.row(line, cells) for line, cells in chunk]
        with registry.writing() as session:
            body = issuing_body(session, identity.code, identity.name, at)
            wanted = [r.number for r in rows if not r.reasons and r.number is not None]
            taken = set(
                session.scalars(
                    select(CertificateRow.number).where(CertificateRow.number.in_(wanted))
                )
            ) | set(session.scalars(select(BatchItem.number).where(BatchItem.number.in_(wanted))))
            by_prefix: dict[str, list[_Row]] = {}
            for row in rows:
                if row.reasons:
                    continue
                if row.prefix is not None:
                    by_prefix.setdefault(row.prefix, []).append(row)
                elif row.number in taken:
                    assert row.number is not None
                    if row.candidate is not None:
                        checker.seen.pop(row.candidate, None)
                    row.reasons = [
                        Reason(
                            "number",
                            f"证号 {row.number} 已登记（更正或补发请用 docgen correct / reissue）",
                            f"number {row.number} is already registered (use docgen correct "
                            "or reissue)",
                        )
                    ]
                else:
                    taken.add(row.number)
            assert pattern is not None or not by_prefix
            for prefix, group in by_prefix.items():
                assert pattern is not None and pattern.width is not None
                first = allocate(session, prefix, pattern.width, len(group))
                for serial, row in enumerate(group, first):
                    row.number = prefix + f"{serial:0{pattern.width}d}"
            numbers = []
            for row in rows:
                item = BatchItem(
                    batch_id=batch_id,
                    row_no=row.line,
                    candidate=row.candidate,
                    holder_name=row.name[:100],
                    id_masked=row.id_masked,
                    unit=row.unit[:200],
                )
                if row.reasons:
                    item.state = REJECTED
                    item.candidate = None
                    item.field = row.reasons[0].field
                    item.reason_zh = "；".join(r.zh for r in row.reasons)
                    item.reason_en = "; ".join(r.en for r in row.reasons)
                else:
                    assert row.number is not None
                    item.state = PLANNED
                    item.number = row.number
                    item.identifier = licence_identifier(
                        kind.type_code, identity.code, row.number, 1
                    )
                    item.status_index = body.next_status_index
                    body.next_status_index += 1
                    record = {**row.record, "number": row.number}
                    item.record = registry.key.seal(
                        {"record": record, "photo": row.photo}, f"batch:{batch_id}:{row.line}"
                    )
                    numbers.append(row.number)
                session.add(item)
            batch_row = session.get(BatchRow, batch_id)
            assert batch_row is not None
            batch_row.rows_read = chunk[-1][0]
            audit.append(
                session,
                at=at,
                operator=operator,
                action="batch-plan",
                subject=batch_id,
                reason=None,
                detail={
                    "lines": [chunk[0][0], chunk[-1][0]],
                    "planned": len(numbers),
                    "rejected": len(rows) - len(numbers),
                    "numbers": numbers,
                },
            )
        progress(len(rows))
