"""Who passed: a candidate's exam results against the kind's ``[eligibility]`` table.

Two schemes, both data in the kind files (with their source in DOMAIN.md):

- ``attempts`` (K1, K2, K4): each subject has a pass mark — the kind's ``min_score`` rule
  for that field when it has one (one source of truth with the record's own check), else the
  subject's ``min`` — and may be a weighted sum of parts (the kind's ``weighted_score``
  rule). Make-up attempts are further columns; the first passing attempt counts. With
  ``ordered`` the subjects must be passed in order, and with ``valid_months`` a passing score
  expires (both checked when exam dates are given).
- ``rolling`` (K3): every subject not exempted reaches ``min`` and all were passed within
  ``window_years[number of exempt subjects]`` consecutive exam years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from ..kinds import KindSpec, load_table
from ..validation import display_value, round_score
from .results import attempt_suffix

__all__ = ["Assessment", "Reason", "assess"]


@dataclass(frozen=True)
class Reason:
    """Why a row is refused: the column or field, in Chinese and in English."""

    field: str
    zh: str
    en: str


@dataclass
class Assessment:
    """The scores a certificate record takes from the results, or why the row fails."""

    values: dict[str, float] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def _rule(kind: KindSpec, kind_of: str, target: str) -> Mapping[str, Any] | None:
    for rule in kind.rules:
        if rule.get("type") == kind_of and rule.get("field") == target:
            return rule
    return None


def _score(text: str, column: str, reasons: list[Reason]) -> float | None:
    """A score cell: None when empty or 缺考; a reason when not a number 0-100."""
    if text in {"", "缺考", "absent"}:
        return None
    try:
        value = float(text)
    except ValueError:
        reasons.append(Reason(column, f"成绩「{text}」不是数字", f"score {text!r} is not a number"))
        return None
    if not 0 <= value <= 100:
        reasons.append(
            Reason(column, f"成绩 {text} 不在 0–100 之间", f"score {text} is outside 0-100")
        )
        return None
    return value


def _date(text: str, column: str, reasons: list[Reason]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        reasons.append(
            Reason(column, f"日期「{text}」应为 YYYY-MM-DD", f"date {text!r} is not YYYY-MM-DD")
        )
        return None


@dataclass(frozen=True)
class _Passed:
    total: float
    parts: dict[str, float]
    day: date | None


def _attempts(
    kind: KindSpec, subject: Mapping[str, Any], row: Mapping[str, str], reasons: list[Reason]
) -> tuple[_Passed | None, bool]:
    """The first passing attempt of ``subject`` (or None) and whether any attempt was taken."""
    target = subject["score"]
    parts: Sequence[str] = subject.get("parts") or [target]
    weights: Sequence[float] = [1.0]
    if len(parts) > 1:
        rule = _rule(kind, "weighted_score", target)
        weights = [rule["weights"][p] for p in parts] if rule else subject["weights"]
    mark_rule = _rule(kind, "min_score", target)
    mark = float(mark_rule["min"] if mark_rule else subject["min"])
    label, label_en = subject["label"], subject.get("label_en", subject["name"])
    taken = False
    last: tuple[float, dict[str, float], int] | None = None
    for attempt in range(1, int(subject.get("attempts", 1)) + 1):
        zh, en = attempt_suffix(attempt)
        scores = {p: _score(row.get(p + en, ""), p + en, reasons) for p in parts}
        if all(v is None for v in scores.values()):
            continue
        taken = True
        missing = [p + en for p, v in scores.items() if v is None]
        if missing:
            reasons.append(
                Reason(
                    missing[0],
                    f"{label}{zh}缺少部分成绩",
                    f"{label_en}{en.replace('_', ' ')}: a part's score is missing",
                )
            )
            return None, taken
        numbers = {p: float(v) for p, v in scores.items() if v is not None}
        total = round_score(sum(numbers[p] * w for p, w in zip(parts, weights, strict=True)))
        day = _date(row.get(f"{subject['name']}{en}_date", ""), f"{subject['name']}_date", reasons)
        if total >= mark:
            return _Passed(total, numbers, day), taken
        last = (total, numbers, attempt)
    if last is not None:
        total, numbers, attempt = last
        how = (
            ""
            if len(parts) == 1
            else "（"
            + "、".join(
                f"{display_value(numbers[p])}×{w:g}" for p, w in zip(parts, weights, strict=True)
            )
            + "）"
        )
        tries = "" if attempt == 1 else f"（含补考，共{attempt}次）"
        tries_en = "" if attempt == 1 else f" (after {attempt} attempts)"
        reasons.append(
            Reason(
                target,
                f"{label}成绩 {display_value(total)}{how} 低于合格线 {mark:g}{tries}",
                f"{label_en} score {display_value(total)} is below the pass mark "
                f"{mark:g}{tries_en}",
            )
        )
    return None, taken


def _attempt_scheme(kind: KindSpec, row: Mapping[str, str], at: date) -> Assessment:
    rules = kind.eligibility
    result = Assessment()
    passed: list[tuple[Mapping[str, Any], _Passed]] = []
    any_taken = False
    absent: list[Mapping[str, Any]] = []
    for subject in rules["subject"]:
        got, taken = _attempts(kind, subject, row, result.reasons)
        any_taken |= taken
        if not taken:
            absent.append(subject)
        elif got is not None:
            passed.append((subject, got))
    if not any_taken:
        return Assessment(
            reasons=[
                Reason(
                    rules["subject"][0]["score"],
                    "缺考：没有任何科目的成绩，本次考试无效",
                    "absent from every subject: the sitting is void",
                )
            ]
        )
    for subject in absent:
        result.reasons.append(
            Reason(
                subject["score"],
                f"缺少{subject['label']}成绩（缺考可补考一次）",
                f"no {subject.get('label_en', subject['name'])} score (absent; one make-up)",
            )
        )
    if result.reasons:
        return result
    days = [(s, p.day) for s, p in passed if p.day is not None]
    if rules.get("ordered"):
        for (first, day1), (then, day2) in pairwise(days):
            if day2 is not None and day1 is not None and day2 < day1:
                result.reasons.append(
                    Reason(
                        f"{then['name']}_date",
                        f"{then['label']}（{day2}）早于{first['label']}（{day1}）",
                        f"{then.get('label_en')} ({day2}) was taken before the "
                        f"{first.get('label_en')} ({day1})",
                    )
                )
    months = rules.get("valid_months")
    if months:
        for subject, day in days:
            assert day is not None
            expires = _add_months(day, int(months))
            if expires < at:
                result.reasons.append(
                    Reason(
                        f"{subject['name']}_date",
                        f"{subject['label']}合格成绩（{day}）已超过{months}个月有效期",
                        f"the {subject.get('label_en')} pass of {day} expired after "
                        f"{months} months ({expires})",
                    )
                )
    fields = {f.name for f in kind.fields}
    for _subject, got in passed:
        for part, value in got.parts.items():
            if part in fields:
                result.values[part] = value
    return result


def _add_months(day: date, months: int) -> date:
    years, month = divmod(day.month - 1 + months, 12)
    target = date(day.year + years, month + 1, 1)
    try:
        return target.replace(day=day.day)
    except ValueError:  # 31 January + 1 month: the last day of February
        return _month_end(target)


def _month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _rolling_scheme(kind: KindSpec, row: Mapping[str, str], at: date) -> Assessment:
    rules = kind.eligibility
    exempt_marks = {v.casefold() for v in load_table("batch_columns")["exempt"]["values"]}
    mark = float(rules["min"])
    windows: Sequence[int] = rules["window_years"]
    result = Assessment()
    exempt, years = [], []
    for subject in rules["subject"]:
        name, label = subject["name"], subject["label"]
        label_en = subject.get("label_en", name)
        text = row.get(f"{name}_score", "")
        if text.casefold() in exempt_marks:
            exempt.append(subject)
            continue
        score = _score(text, f"{name}_score", result.reasons)
        if score is None:
            if text in {"", "缺考", "absent"}:
                result.reasons.append(
                    Reason(f"{name}_score", f"缺少{label}成绩", f"no {label_en} score")
                )
            continue
        if score < mark:
            result.reasons.append(
                Reason(
                    f"{name}_score",
                    f"{label}成绩 {display_value(score)} 低于合格线 {mark:g}",
                    f"{label_en} score {display_value(score)} is below the pass mark {mark:g}",
                )
            )
            continue
        year_text = row.get(f"{name}_year", "")
        if not (year_text.isdigit() and len(year_text) == 4 and int(year_text) <= at.year):
            result.reasons.append(
                Reason(
                    f"{name}_year",
                    f"{label}考试年度「{year_text}」应为不晚于 {at.year} 的四位年份",
                    f"{label_en} exam year {year_text!r} must be a year up to {at.year}",
                )
            )
            continue
        years.append(int(year_text))
    if len(exempt) >= len(windows):
        result.reasons.append(
            Reason(
                f"{exempt[-1]['name']}_score",
                f"免考科目 {len(exempt)} 门，最多 {len(windows) - 1} 门",
                f"{len(exempt)} subjects exempt; at most {len(windows) - 1}",
            )
        )
        return result
    if result.reasons or not years:
        return result
    window = int(windows[len(exempt)])
    span = max(years) - min(years) + 1
    if span > window:
        result.reasons.append(
            Reason(
                f"{rules['subject'][0]['name']}_year",
                f"各科合格年度 {min(years)}–{max(years)} 跨 {span} 年，超过 {window} 个连续考试年度"
                f"（免考 {len(exempt)} 门）",
                f"subjects passed {min(years)}-{max(years)} span {span} exam years; at most "
                f"{window} with {len(exempt)} exempt",
            )
        )
    return result


def assess(kind: KindSpec, row: Mapping[str, str], at: date) -> Assessment:
    """Whether the candidate in ``row`` passed, as of the issue day ``at``; the passing
    scores that the certificate record carries."""
    scheme = kind.eligibility.get("scheme")
    if scheme == "attempts":
        return _attempt_scheme(kind, row, at)
    if scheme == "rolling":
        return _rolling_scheme(kind, row, at)
    return Assessment()
