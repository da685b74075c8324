"""Reading a results file (CSV or XLSX) row by row, its headers in Chinese or English.

A kind's fields are found by label or name; exam scores by the kind's ``[eligibility]``
table; the other columns by ``templates/batch_columns.toml``. The file is streamed: CSV
line by line (UTF-8, or GB18030 as Chinese Excel writes it), XLSX with openpyxl in
read-only mode, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import DocgenError
from ..kinds import KindSpec, load_table

__all__ = [
    "BatchInputError",
    "Column",
    "ResultsFile",
    "attempt_suffix",
    "columns_of",
    "normalise",
]

_ROW_LIMIT = 1_000_000


class BatchInputError(DocgenError):
    """The results file cannot be read as a whole (format, headers); nothing was issued."""


def normalise(header: str) -> str:
    """A header as compared: NFKC, no spaces, underscores, hyphens or brackets, lower case."""
    text = unicodedata.normalize("NFKC", header)
    return "".join(c for c in text if c not in " \t_-()[]【】").casefold()


@dataclass(frozen=True)
class Column:
    """A column a results file may have: its key in a row and the headers that name it."""

    key: str
    headers: tuple[str, ...]
    required: bool = False


def attempt_suffix(attempt: int) -> tuple[str, str]:
    """How an exam attempt's columns are told apart: ``("", "")`` for the first, then
    ``("补考", "_makeup")``, ``("第2次补考", "_makeup2")``, …"""
    if attempt == 1:
        return "", ""
    if attempt == 2:
        return "补考", "_makeup"
    return f"第{attempt - 1}次补考", f"_makeup{attempt - 1}"


def columns_of(kind: KindSpec) -> list[Column]:
    """Every column a results file of ``kind`` may have."""
    table = load_table("batch_columns")
    columns: dict[str, Column] = {}
    for spec in kind.fields:
        if spec.name == "photo":
            continue
        needed = spec.required and spec.default is None and not spec.derived
        needed = needed and spec.type not in {"number", "score"} and spec.name != "issuer_code"
        needed = needed and spec.name not in {"issuer", "issue_date", kind.issuer_field}
        columns[spec.name] = Column(spec.name, (spec.label, spec.name), needed)
    for key, headers in table["columns"].items():
        required = key == "site_code" and "{site_code}" in kind.number.allocate
        columns[key] = Column(key, tuple(headers), required)
    rules = kind.eligibility
    for subject in rules.get("subject", []):
        if rules.get("scheme") == "rolling":
            name, label = subject["name"], subject["label"]
            columns[f"{name}_score"] = Column(
                f"{name}_score", (f"{label}成绩", label, f"{name}_score"), True
            )
            columns[f"{name}_year"] = Column(
                f"{name}_year", (f"{label}考试年度", f"{label}年度", f"{name}_year"), True
            )
            continue
        parts = subject.get("parts") or [subject["score"]]
        for attempt in range(1, int(subject.get("attempts", 1)) + 1):
            zh, en = attempt_suffix(attempt)
            zh = f"（{zh}）" if zh else ""
            for part in parts:
                label = kind.field(part).label if part in _field_names(kind) else subject["label"]
                if part not in _field_names(kind) and len(parts) == 1:
                    label = subject["label"] + "成绩"
                key = part + en
                columns[key] = Column(key, (label + zh, key), attempt == 1)
            date_key = f"{subject['name']}{en}_date"
            columns[date_key] = Column(date_key, (f"{subject['label']}{zh}日期", date_key))
    return list(columns.values())


def _field_names(kind: KindSpec) -> set[str]:
    return {f.name for f in kind.fields}


def _cell(value: Any) -> str:
    """A cell as text (Excel numbers without a trailing .0, dates as YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value).strip()


def _digest_and_encoding(path: Path) -> tuple[str, str]:
    """The file's SHA-256 and its text encoding, in one read: UTF-8 (with or without BOM)
    if it decodes as such, else GB18030 (as Chinese Excel saves CSV)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return digest.hexdigest(), "utf-8-sig" if utf8 else "gb18030"


class ResultsFile:
    """A results file: its digest, its columns, and its rows as ``(line, {key: text})``.

    ``line`` is the line a person sees in a spreadsheet (the header is line 1).
    """

    def __init__(self, path: Path, kind: KindSpec) -> None:
        if not path.is_file():
            raise BatchInputError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix not in {".csv", ".xlsx"}:
            raise BatchInputError(f"{path}: give a .csv or .xlsx results file")
        self.path = path
        self.kind = kind
        self.format = suffix[1:]
        self.sha256, encoding = _digest_and_encoding(path)
        self.columns = columns_of(kind)
        self._encoding = encoding if self.format == "csv" else ""
        with self._raw_rows() as rows:
            header = next(rows, None)
        if header is None:
            raise BatchInputError(f"{path}: the file is empty (no header row)")
        self.keys = self._map_headers(header)

    def _map_headers(self, header: list[str]) -> list[str | None]:
        by_header: dict[str, str] = {}
        for column in self.columns:
            for name in column.headers:
                by_header.setdefault(normalise(name), column.key)
        ignored = {normalise(h) for h in load_table("batch_columns")["ignored"]["headers"]}
        keys: list[str | None] = []
        problems: list[str] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(header, 1):
            text = raw.strip()
            norm = normalise(text)
            if not norm or norm in ignored:
                keys.append(None)
                continue
            key = by_header.get(norm)
            if key is None:
                problems.append(
                    f"column {index} 「{text}」 is not a column of kind {self.kind.name}"
                )
                keys.append(None)
                continue
            if key in seen:
                problems.append(f"columns {seen[key]} and {index} both mean {key}")
            seen[key] = index
            keys.append(key)
        for column in self.columns:
            if column.required and column.key not in seen:
                problems.append(
                    f"no column for {column.key} (header {' or '.join(column.headers[:2])})"
                )
        if problems:
            raise BatchInputError(
                f"{self.path}: " + "; ".join(problems) + " — see `docgen batch --help` and the "
                "README for the headers"
            )
        return keys

    @contextmanager
    def _raw_rows(self) -> Iterator[Iterator[list[str]]]:
        if self.format == "csv":
            with self.path.open(encoding=self._encoding, newline="") as handle:
                yield (row for row in csv.reader(handle))
            return
        from openpyxl import load_workbook

        try:
            book = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise BatchInputError(f"{self.path}: not a readable XLSX workbook ({exc})") from exc
        try:
            sheet = book.worksheets[0]
            yield ([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
        finally:
            book.close()

    def rows(self, start_after: int = 1) -> Iterator[tuple[int, dict[str, str]]]:
        """The data rows after spreadsheet line ``start_after`` (1 = the header); blank
        rows are skipped.

        Raises:
            BatchInputError: more than a million rows, or the file changed under us.
        """
        with self._raw_rows() as rows:
            next(rows, None)
            for line, cells in enumerate(rows, 2):
                if line > _ROW_LIMIT:
                    raise BatchInputError(f"{self.path}: more than {_ROW_LIMIT} rows; split it")
                if line <= start_after or not any(c.strip() for c in cells):
                    continue
                row = {
                    key: cells[i].strip() if i < len(cells) else ""
                    for i, key in enumerate(self.keys)
                    if key is not None
                }
                yield line, row
