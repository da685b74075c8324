"""The 加注 rules of a kind, read from its ``[annotation]`` table (DOMAIN.md K3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..errors import ConfigurationError
from ..kinds import KindSpec

__all__ = ["AnnotationRules", "Exemption"]


@dataclass(frozen=True)
class Exemption:
    """Certificates that need no annotation: issued before a day by bodies whose credit
    code starts with a prefix (e.g. 51 = 社会团体)."""

    issued_before: date
    issuer_code_prefix: str
    note: str

    def applies(self, issue_date: date, issuer_code: str) -> bool:
        """Whether a certificate issued on ``issue_date`` by ``issuer_code`` is exempt."""
        return issue_date < self.issued_before and issuer_code.startswith(self.issuer_code_prefix)


@dataclass(frozen=True)
class AnnotationRules:
    """Scenarios, the longest window, and how many annotations the recent days allow."""

    kind: str
    required: bool
    scenarios: tuple[str, ...]
    max_days: int
    max_recent: int
    recent_days: int
    exempt: tuple[Exemption, ...] = ()

    @classmethod
    def of(cls, kind: KindSpec) -> AnnotationRules | None:
        """The rules of ``kind``, or None when it has no 加注.

        Raises:
            ConfigurationError: the ``[annotation]`` table is malformed (names the key).
        """
        raw: dict[str, Any] = kind.annotation
        if not raw:
            return None
        where = f"{kind.source}: annotation"
        try:
            exempt = tuple(
                Exemption(
                    date.fromisoformat(str(e["issued_before"])),
                    str(e.get("issuer_code_prefix", "")),
                    str(e.get("note", "")),
                )
                for e in raw.get("exempt", [])
            )
            rules = cls(
                kind=kind.name,
                required=bool(raw.get("required", True)),
                scenarios=tuple(str(s) for s in raw["scenarios"]),
                max_days=int(raw["max_days"]),
                max_recent=int(raw["max_recent"]),
                recent_days=int(raw["recent_days"]),
                exempt=exempt,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(where, f"missing or bad key ({exc})") from exc
        if not rules.scenarios or rules.max_days < 1 or rules.max_recent < 1:
            raise ConfigurationError(where, "needs scenarios, max_days ≥ 1, max_recent ≥ 1")
        return rules

    def exemption(self, issue_date: date, issuer_code: str) -> Exemption | None:
        """The exemption that frees a certificate from annotation, if any."""
        return next((e for e in self.exempt if e.applies(issue_date, issuer_code)), None)

    def recent(self, applied: list[date], day: date) -> list[date]:
        """The application days that count against an application on ``day``: those within
        the ``recent_days`` back from it (``day`` − application < ``recent_days``)."""
        return sorted(a for a in applied if timedelta(0) <= day - a < timedelta(self.recent_days))

    def next_possible(self, applied: list[date], day: date) -> date | None:
        """None when an application on ``day`` is within the limit, else the first day on
        which one becomes possible."""
        counted = self.recent(applied, day)
        if len(counted) < self.max_recent:
            return None
        return counted[len(counted) - self.max_recent] + timedelta(days=self.recent_days)
