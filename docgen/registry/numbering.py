"""Certificate numbers allocated in the registry: a sequence per number prefix.

A kind's ``[numbering] allocate`` pattern says how a new number is built, e.g. the skill
number ``"{site_code}{yy}{level_digit}{serial:06d}"``: everything before ``{serial}`` is the
prefix, and each prefix has its own sequence of serials. Serials are taken only inside the
write transaction that also records who got them (a batch row), so a number is never given
twice and never skipped without a record; a new sequence starts after the highest serial
already registered under its prefix.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import RefusedError
from .models import BatchItem, CertificateRow, NumberSequence

__all__ = ["NumberPattern", "allocate"]


@dataclass(frozen=True)
class NumberPattern:
    """A parsed ``allocate`` pattern: fixed parts from values, then an optional serial."""

    pattern: str

    def _split(self) -> tuple[str, int | None, str]:
        head: list[str] = []
        tail: list[str] = []
        width: int | None = None
        for literal, name, spec, _ in string.Formatter().parse(self.pattern):
            target = tail if width is not None else head
            target.append(literal)
            if name is None:
                continue
            if name == "serial":
                if width is not None:
                    raise ValueError(f"{self.pattern!r}: {{serial}} appears twice")
                digits = (spec or "").removeprefix("0").removesuffix("d")
                if not digits.isdigit():
                    raise ValueError(f"{self.pattern!r}: write the serial as {{serial:06d}}")
                width = int(digits)
            else:
                target.append(f"{{{name}{':' + spec if spec else ''}}}")
        return "".join(head), width, "".join(tail)

    @property
    def width(self) -> int | None:
        """Digits of the serial (None: the number has no serial)."""
        return self._split()[1]

    def prefix(self, values: Mapping[str, Any], day: date) -> str:
        """The part before the serial, filled from ``values`` and the issue ``day``.

        Raises:
            KeyError: a value the pattern names is missing.
        """
        head, _, _ = self._split()
        return head.format(**_context(values, day)).upper()

    def number(self, values: Mapping[str, Any], day: date, serial: int | None) -> str:
        """The whole number (``serial`` is ignored by a pattern without one)."""
        head, width, tail = self._split()
        context = _context(values, day)
        text = head.format(**context)
        if width is not None:
            assert serial is not None
            text += f"{serial:0{width}d}"
        return (text + tail.format(**context)).upper()


def _context(values: Mapping[str, Any], day: date) -> dict[str, Any]:
    return {**values, "year": f"{day.year:04d}", "yy": f"{day.year % 100:02d}"}


def _highest(session: Session, prefix: str, width: int) -> int:
    """The highest serial already used under ``prefix`` (0 if none)."""
    length = len(prefix) + width
    best = 0
    for column in (CertificateRow.number, BatchItem.number):
        found = session.scalar(
            select(func.max(column)).where(
                column.startswith(prefix, autoescape=True), func.length(column) == length
            )
        )
        if found and found[len(prefix) :].isdigit():
            best = max(best, int(found[len(prefix) :]))
    return best


def allocate(session: Session, prefix: str, width: int, count: int) -> int:
    """Take ``count`` consecutive serials of ``prefix``; returns the first.

    Call inside the write transaction that records the numbers.

    Raises:
        RefusedError: the serials of this prefix would run out.
    """
    sequence = session.get(NumberSequence, prefix, with_for_update=True)
    if sequence is None:
        sequence = NumberSequence(prefix=prefix, next_serial=_highest(session, prefix, width) + 1)
        session.add(sequence)
    first = sequence.next_serial
    if first + count - 1 >= 10**width:
        raise RefusedError(
            f"numbers starting {prefix} have run out ({width}-digit serial at {first - 1})"
        )
    sequence.next_serial = first + count
    return first
