"""Issue time handling. Time is always a parameter; nothing reads the clock implicitly."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

__all__ = ["BEIJING", "add_years", "now", "parse_at"]

#: China Standard Time; certificates print dates in Beijing time.
BEIJING = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    """The current time in Beijing, to the second."""
    return datetime.now(BEIJING).replace(microsecond=0)


def parse_at(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are taken as Beijing time.

    Raises:
        ValueError: the text is not an ISO 8601 date or date-time.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(BEIJING).replace(microsecond=0)


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
