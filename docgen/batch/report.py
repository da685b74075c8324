"""What a batch leaves for people: the manifest (CSV and JSON), the rejection report and one
ZIP per applying unit — each written whole (temporary name, then rename) from the registry,
so writing them again after a resume gives the same files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..registry.models import BatchItem, CertificateRow
from ..registry.store import Registry
from .planning import ISSUED, REJECTED, VOID, batch_items

__all__ = ["Reports", "write_reports"]

_PAGE = 1000
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


class Reports:
    """Where a batch's reports are."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest_csv = folder / "manifest.csv"
        self.manifest_json = folder / "manifest.json"
        self.rejected_csv = folder / "rejected.csv"
        self.units = folder / "units"


def _replace(target: Path, write: Any, mode: str = "w", encoding: str = "utf-8-sig") -> None:
    """Write ``target`` whole: CSV for Excel (UTF-8 with BOM), JSON as plain UTF-8, or bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        text = mode == "w"
        with os.fdopen(
            fd, mode, encoding=encoding if text else None, newline="" if text else None
        ) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _issued(registry: Registry, batch_id: str, unit: str | None = None) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        # Only the columns the reports print (whole rows would load each sealed record).
        query = (
            select(
                BatchItem.row_no,
                BatchItem.unit,
                CertificateRow.number,
                CertificateRow.identifier,
                CertificateRow.holder_name,
                CertificateRow.id_masked,
                CertificateRow.ofd_path,
                CertificateRow.ofd_sha256,
                CertificateRow.pdf_path,
                CertificateRow.pdf_sha256,
            )
            .join(CertificateRow, CertificateRow.identifier == BatchItem.identifier)
            .where(BatchItem.batch_id == batch_id, BatchItem.state == ISSUED)
            .where(BatchItem.row_no > after)
            .order_by(BatchItem.row_no)
            .limit(_PAGE)
        )
        if unit is not None:
            query = query.where(BatchItem.unit == unit)
        with registry.reading() as session:
            page = session.execute(query).all()
        if not page:
            return
        for row in page:
            assert row.ofd_path is not None and row.pdf_path is not None
            yield {
                "line": row.row_no,
                "number": row.number,
                "identifier": row.identifier,
                "holder": row.holder_name,
                "id_number": row.id_masked,
                "unit": row.unit or "",
                "ofd": os.path.basename(row.ofd_path),
                "ofd_sha256": row.ofd_sha256,
                "pdf": os.path.basename(row.pdf_path),
                "pdf_sha256": row.pdf_sha256,
                "_folder": os.path.dirname(row.ofd_path),
            }
        after = page[-1].row_no


_MANIFEST = ["line", "number", "identifier", "holder", "id_number", "unit", "ofd",
             "ofd_sha256", "pdf", "pdf_sha256"]  # fmt: skip
_REJECTED = ["行号 line", "姓名 name", "证件号码 ID number", "单位 unit", "字段 field",
             "原因 reason", "reason", "作废证书编号 voided number"]  # fmt: skip


def write_reports(registry: Registry, batch_id: str, folder: Path) -> Reports:
    """Write the manifest, the rejection report and the units' ZIPs of a batch."""
    reports = Reports(folder)

    def manifest_csv(handle: Any) -> None:
        writer = csv.DictWriter(handle, _MANIFEST, extrasaction="ignore")
        writer.writeheader()
        for entry in _issued(registry, batch_id):
            writer.writerow(entry)

    def manifest_json(handle: Any) -> None:
        handle.write(f'{{"batch": {json.dumps(batch_id)}, "certificates": [\n')
        for index, entry in enumerate(_issued(registry, batch_id)):
            entry.pop("_folder")
            handle.write(("," if index else "") + json.dumps(entry, ensure_ascii=False) + "\n")
        handle.write("]}\n")

    def rejected_csv(handle: Any) -> None:
        writer = csv.writer(handle)
        writer.writerow(_REJECTED)
        for item in batch_items(registry, batch_id, [REJECTED, VOID]):
            writer.writerow(
                [item.row_no, item.holder_name, item.id_masked, item.unit, item.field,
                 item.reason_zh, item.reason_en, item.number if item.state == VOID else ""]
            )  # fmt: skip

    _replace(reports.manifest_csv, manifest_csv)
    _replace(reports.manifest_json, manifest_json, "w", "utf-8")
    _replace(reports.rejected_csv, rejected_csv)
    _write_units(registry, batch_id, reports.units)
    return reports


def _unit_file(unit: str) -> str:
    return (_UNSAFE.sub("_", unit).strip(" .") or "unit")[:100] + ".zip"


def _write_units(registry: Registry, batch_id: str, folder: Path) -> None:
    """One ZIP per unit: its certificates' files and its part of the manifest, read from
    the registry in pages, so memory stays flat."""
    with registry.reading() as session:
        units = sorted(
            {
                u or ""
                for u in session.scalars(
                    select(BatchItem.unit)
                    .where(BatchItem.batch_id == batch_id, BatchItem.state == ISSUED)
                    .distinct()
                )
            }
        )
    for unit in units:

        def write(handle: Any, unit: str = unit) -> None:
            listing = io.StringIO()
            writer = csv.DictWriter(listing, _MANIFEST, extrasaction="ignore")
            writer.writeheader()
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
                for entry in _issued(registry, batch_id, unit):
                    writer.writerow(entry)
                    for name in (entry["ofd"], entry["pdf"]):
                        # Whole (a certificate's file is some 100 kB): zipfile's write() would
                        # copy and checksum it 8 kB at a time in Python.
                        path = Path(entry["_folder"]) / name
                        archive.writestr(zipfile.ZipInfo.from_file(path, name), path.read_bytes())
                archive.writestr("manifest.csv", "\ufeff" + listing.getvalue())

        _replace(folder / _unit_file(unit), write, "wb")
