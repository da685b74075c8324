"""Register export for the national platform: GB/T 36903 core items of what changed.

``export_since`` writes every certificate version created or changed since a day as JSON
and CSV. The files depend only on the registry's rows (sorted, no export time inside), so
the same call twice gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..atomic import write_atomically
from ..clock import BEIJING
from ..kinds import load_kind
from .models import CertificateRow, IssuingBody
from .store import Registry

__all__ = ["ITEMS", "export_since"]

#: The exported items: GB/T 36903 core metadata, then the registry's own.
ITEMS = (
    "证照标识",
    "证照类型名称",
    "证照类型代码",
    "证照名称",
    "证照编号",
    "颁发机构",
    "颁发机构代码",
    "颁发日期",
    "持证主体",
    "持证主体代码",
    "持证主体代码类型",
    "有效期起始",
    "有效期截止",
    "关联证照标识",
    "版本",
    "状态",
    "旧版证书",
    "变更时间",
)
_LONG_TERM = "长期"


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _items(registry: Registry, row: CertificateRow) -> dict[str, Any]:
    kind = load_kind(row.kind)
    record = registry.key.open(row.record, row.identifier) if row.record else {}
    return {
        "证照标识": row.identifier,
        "证照类型名称": kind.type_name,
        "证照类型代码": kind.type_code,
        "证照名称": kind.title,
        "证照编号": row.number,
        "颁发机构": row.issuer.name,
        "颁发机构代码": row.issuer.code,
        "颁发日期": _day(row.issue_date),
        "持证主体": row.holder_name,
        "持证主体代码": str(record.get("id_number", "")),
        "持证主体代码类型": str(record.get("id_type", "")),
        "有效期起始": _day(row.valid_from or row.issue_date),
        "有效期截止": _day(row.valid_to) or _LONG_TERM,
        "关联证照标识": row.related_identifier or "",
        "版本": row.version,
        "状态": row.state,
        "旧版证书": row.legacy,
        "变更时间": row.changed_at.astimezone(BEIJING).isoformat(),
    }


def export_since(
    registry: Registry, since: date, out_dir: Path, issuer_code: str | None = None
) -> tuple[Path, Path, int]:
    """Write ``register-since-<day>.json`` and ``.csv`` into ``out_dir`` (only the versions of
    the issuing body ``issuer_code`` when given); returns both paths and the number of
    certificate versions.

    Raises:
        OutputError: the files cannot be written.
        RegistryError: a stored record does not decrypt with this registry's key.
    """
    start = datetime.combine(since, time(), BEIJING)
    query = select(CertificateRow).where(CertificateRow.changed_at >= start)
    if issuer_code is not None:
        query = query.where(CertificateRow.issuer.has(IssuingBody.code == issuer_code))
    with registry.reading() as session:
        rows = session.scalars(
            query.options(selectinload(CertificateRow.superseded_by)).order_by(
                CertificateRow.number, CertificateRow.version
            )
        )
        items = [_items(registry, row) for row in rows]
    data = json.dumps(
        {"since": since.isoformat(), "count": len(items), "certificates": items},
        ensure_ascii=False,
        indent=2,
    ).encode()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=ITEMS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(items)
    stem = out_dir / f"register-since-{since.isoformat()}"
    json_path, csv_path = stem.with_suffix(".json"), stem.with_suffix(".csv")
    write_atomically({json_path: data, csv_path: text.getvalue().encode("utf-8-sig")})
    return json_path, csv_path, len(items)
