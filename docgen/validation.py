"""Check a certificate record against its kind before anything is drawn.

:func:`validate_record` either returns a complete :class:`Certificate` (normalised values,
derived fields, printed forms, GB/T 36904 identifier) or raises one
:class:`~docgen.errors.RecordError` listing every problem found, each naming its field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError

from .clock import add_years
from .errors import FieldProblem, RecordError
from .fonts import font_stack
from .identifiers import licence_identifier, parse_skill_number, validate_resident_id
from .kinds import FieldSpec, KindSpec, load_table
from .photo import Photo, load_photo

__all__ = ["RESIDENT_ID", "Certificate", "display_value", "validate_record"]

#: The 证件类型 whose number is a GB 11643 居民身份证号码.
RESIDENT_ID = "居民身份证"
_OTHER_ID = re.compile(r"^[A-Z0-9]{5,20}$")
_ISSUE_DATE_DEFAULT = "@issue_date"
#: Keys a record may carry besides its kind's fields.
_RECORD_META = frozenset({"kind", "version"})


@dataclass(frozen=True)
class Certificate:
    """A validated certificate, ready to be laid out."""

    kind: KindSpec
    values: Mapping[str, Any]
    display: Mapping[str, str]
    identifier: str
    version: int
    issued_at: datetime
    status_index: int | None = None  # its entry in the issuer's status list, once registered

    @property
    def number(self) -> str:
        """The certificate number printed on it."""
        return str(self.values["number"])

    @property
    def photo(self) -> Photo:
        """The holder's photo."""
        photo = self.values["photo"]
        assert isinstance(photo, Photo)
        return photo


def display_value(value: Any) -> str:
    """How a value is printed: dates as 2025年01月15日, scores without trailing .0."""
    if isinstance(value, date):
        return f"{value.year}年{value.month:02d}月{value.day:02d}日"
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return str(value)


class _Checker:
    def __init__(self, kind: KindSpec, raw: Mapping[str, Any], at: datetime, base: Path | None):
        self.kind = kind
        self.raw = raw
        self.at = at
        self.base = base
        self.values: dict[str, Any] = {}
        self.problems: list[FieldProblem] = []

    def problem(self, name: str, message: str) -> None:
        self.problems.append(FieldProblem(name, message))

    # -- fields -----------------------------------------------------------------------

    def run_fields(self) -> None:
        known = {f.name for f in self.kind.fields} | _RECORD_META
        for key in self.raw:
            if key not in known:
                self.problem(key, f"is not a field of kind {self.kind.name}")
        for spec in self.kind.fields:
            value = self.raw.get(spec.name)
            if isinstance(value, str):
                value = value.strip()
            if value in (None, ""):
                if spec.default == _ISSUE_DATE_DEFAULT:
                    value = self.at.date().isoformat()
                elif spec.default is not None:
                    value = spec.default
                elif spec.derived or spec.type == "number":
                    continue  # filled in by a rule or the numbering scheme
                elif spec.required:
                    self.problem(spec.name, f"is required ({spec.label})")
                    continue
                else:
                    continue
            checked = self.check(spec, value)
            if checked is not None:
                self.values[spec.name] = checked

    def check(self, spec: FieldSpec, value: Any) -> Any:
        check: Callable[[FieldSpec, Any], Any] = getattr(self, f"check_{spec.type}")
        try:
            return check(spec, value)
        except ValueError as exc:
            self.problem(spec.name, str(exc))
            return None

    def _string(self, spec: FieldSpec, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, got {type(value).__name__}")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise ValueError(f"is {len(value)} characters long; at most {spec.max_length}")
        if any(ord(c) < 0x20 for c in value):
            raise ValueError("contains control characters")
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            raise ValueError(f"{value!r} does not match the pattern {spec.pattern}")
        return value

    def check_text(self, spec: FieldSpec, value: Any) -> str:
        text = self._string(spec, value)
        missing = font_stack().missing(text)
        if missing:
            raise ValueError(_no_glyph(missing))
        return text

    def check_name(self, spec: FieldSpec, value: Any) -> str:
        text = self._string(spec, value)
        if any(c.isdigit() for c in text):
            raise ValueError(f"{text!r} contains digits")
        missing = font_stack().missing(text)
        if missing:
            raise ValueError(_no_glyph(missing))
        return text

    def check_choice(self, spec: FieldSpec, value: Any) -> str:
        text = self._string(spec, value)
        choices = spec.options()
        if text not in choices:
            raise ValueError(f"{text!r} is not one of: {'、'.join(choices)}")
        return text

    def check_date(self, spec: FieldSpec, value: Any) -> date:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a real date ({exc})") from exc
        if not spec.future_ok and day > self.at.date():
            raise ValueError(
                f"{value} is in the future (issue time is {self.at.date().isoformat()})"
            )
        return day

    def check_id_number(self, spec: FieldSpec, value: Any) -> str:
        text = self._string(spec, value).upper()
        id_type = self.raw.get("id_type") or self._default("id_type")
        if id_type == RESIDENT_ID:
            try:
                text = validate_resident_id(text)
            except StdnumError as exc:
                raise ValueError(
                    f"{text!r} is not a valid 居民身份证号码: {_why(exc, text)}"
                ) from exc
            birth = ric.get_birth_date(text)
            if birth > self.at.date():
                raise ValueError(f"birth date {birth} in {text!r} is in the future")
        elif not _OTHER_ID.match(text):
            raise ValueError(f"{text!r} must be 5-20 letters or digits for {id_type}")
        return text

    def check_uscc(self, spec: FieldSpec, value: Any) -> str:
        text = self._string(spec, value).upper()
        try:
            return str(uscc.validate(text))
        except StdnumError as exc:
            raise ValueError(f"{text!r} is not a valid 统一社会信用代码 ({exc})") from exc

    def check_score(self, spec: FieldSpec, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number 0-100, got {value!r}")
        if not 0 <= value <= 100:
            raise ValueError(f"{value} is outside 0-100")
        return float(value)

    def check_photo(self, spec: FieldSpec, value: Any) -> Photo:
        return load_photo(value, self.base)

    def check_number(self, spec: FieldSpec, value: Any) -> str:
        text = self._string(spec, value).upper()
        if not re.fullmatch(r"[0-9A-Z]+", text):
            raise ValueError(f"{text!r} may hold only upper-case letters and digits")
        return text

    def _default(self, name: str) -> str | None:
        try:
            return self.kind.field(name).default
        except KeyError:
            return None

    # -- rules ------------------------------------------------------------------------

    def run_rules(self) -> None:
        for rule in self.kind.rules:
            getattr(self, f"rule_{rule['type']}")(rule)

    def rule_id_consistency(self, rule: Mapping[str, Any]) -> None:
        """Gender and birth date must agree with a 居民身份证号码; fill them when derived."""
        number = self.values.get("id_number")
        if self.values.get("id_type") != RESIDENT_ID or number is None:
            return
        gender = "男" if int(number[16]) % 2 else "女"
        birth = ric.get_birth_date(number)
        for name, expected in (("gender", gender), ("birth_date", birth)):
            if name not in {f.name for f in self.kind.fields}:
                continue
            given = self.values.get(name)
            if given is None and name not in self.raw:
                self.values[name] = expected
            elif given is not None and given != expected:
                self.problem(
                    name,
                    f"{display_value(given)} disagrees with the 居民身份证号码 "
                    f"(which says {display_value(expected)})",
                )

    def rule_min_score(self, rule: Mapping[str, Any]) -> None:
        """A score must reach the pass mark."""
        name, minimum = rule["field"], rule["min"]
        score = self.values.get(name)
        if score is not None and score < minimum:
            self.problem(name, f"{display_value(score)} is below the pass mark {minimum}")

    def rule_weighted_score(self, rule: Mapping[str, Any]) -> None:
        """A derived score is a weighted sum of parts (e.g. K1 skill = 75 % + 25 %)."""
        parts: Mapping[str, float] = rule["weights"]
        if any(self.values.get(p) is None for p in parts):
            return
        total = round_score(sum(self.values[p] * w for p, w in parts.items()))
        name = rule["field"]
        given = self.raw.get(name)
        if given is not None and round_score(float(given)) != total:
            self.problem(name, f"{given} disagrees with the weighted parts (= {total})")
            return
        self.values[name] = total

    def rule_item_in_category(self, rule: Mapping[str, Any]) -> None:
        """An item (操作项目) must belong to its category (作业类别)."""
        category = self.values.get(rule["category"])
        item = self.values.get(rule["item"])
        if category is None or item is None:
            return
        items = load_table(rule["table"])["items"].get(category, [])
        if items and item not in items:
            self.problem(rule["item"], f"{item!r} is not an item of {category}: {'、'.join(items)}")

    def rule_derived_date(self, rule: Mapping[str, Any]) -> None:
        """A date is another date plus whole years; filled in when absent."""
        start = self.values.get(rule["from"])
        if start is None:
            return
        expected = add_years(start, int(rule["years"]))
        allowed = {expected} | {add_years(start, int(y)) for y in rule.get("also_years", [])}
        name = rule["field"]
        given = self.values.get(name)
        if given is None and name not in self.raw:
            self.values[name] = expected
        elif given is not None and given not in allowed:
            self.problem(
                name,
                f"{given.isoformat()} must be {rule['years']} years after "
                f"{rule['from']} ({expected.isoformat()})",
            )

    def rule_default_copy(self, rule: Mapping[str, Any]) -> None:
        """A field left empty takes another field's value (e.g. 有效期起始 = 初领日期)."""
        name, source = rule["field"], rule["from"]
        if self.values.get(name) is None and name not in self.raw and source in self.values:
            self.values[name] = self.values[source]

    def rule_not_before(self, rule: Mapping[str, Any]) -> None:
        """One date may not precede another (e.g. 有效期起始 ≥ 初领日期)."""
        first, later = self.values.get(rule["other"]), self.values.get(rule["field"])
        if first is not None and later is not None and later < first:
            self.problem(
                rule["field"], f"{later.isoformat()} is before {rule['other']} {first.isoformat()}"
            )

    # -- number -----------------------------------------------------------------------

    def run_number(self) -> None:
        scheme = self.kind.number
        given = self.values.get("number")
        if scheme.scheme == "template":
            try:
                expected = scheme.pattern.format(**self.values).upper()
            except KeyError:
                return  # a field it needs is already reported
            if given is None:
                self.values["number"] = expected
            elif given != expected:
                self.problem("number", f"{given!r} must be {expected!r} ({scheme.note})")
            return
        if given is None:
            if "number" not in self.raw:
                self.problem("number", "is required")
            return
        if scheme.scheme == "regex":
            if not re.fullmatch(scheme.pattern, given):
                self.problem("number", f"{given!r} does not match {scheme.pattern} ({scheme.note})")
            return
        try:
            parts = parse_skill_number(given)
        except ValueError as exc:
            self.problem("number", f"{given!r}: {exc}")
            return
        level = self.values.get(scheme.level_field or "level")
        digit = scheme.level_digits.get(str(level))
        if digit is not None and parts.level != digit:
            self.problem(
                "number",
                f"level digit (position 16) is {parts.level} but the level {level} needs {digit}",
            )

    def identifier(self) -> str | None:
        issuer_code = self.values.get("issuer_code")
        number = self.values.get("number")
        if issuer_code is None or number is None:
            return None
        try:
            return licence_identifier(self.kind.type_code, issuer_code, number, self.version())
        except ValueError as exc:
            self.problem("number", f"cannot form the GB/T 36904 identifier: {exc}")
            return None

    def version(self) -> int:
        version = self.raw.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 1000:
            self.problem("version", f"must be a whole number 1-999, got {version!r}")
            return 1
        return version


def round_score(value: float) -> float:
    """Scores are kept to one decimal, rounded half up as examiners do (79.75 → 79.8)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _why(exc: StdnumError, text: str) -> str:
    if len(text) != 18:
        return f"must be 18 characters, got {len(text)}"
    if isinstance(exc, InvalidChecksum):
        return f"the check character is wrong (expected {ric.calc_check_digit(text)})"
    if isinstance(exc, InvalidComponent):
        return f"area code {text[:6]} or birth date {text[6:14]} is not valid"
    return str(exc)


def _no_glyph(missing: list[str]) -> str:
    chars = "、".join(f"{c} (U+{ord(c):04X})" for c in missing)
    return f"no installed font can draw {chars}; add a font that has it to fonts.toml"


def validate_record(
    kind: KindSpec,
    record: Mapping[str, Any],
    at: datetime,
    base_dir: Path | None = None,
    source: str = "record",
) -> Certificate:
    """Check ``record`` against ``kind`` at issue time ``at``.

    ``base_dir`` resolves relative photo paths; ``source`` prefixes error lines.

    Raises:
        RecordError: with one :class:`FieldProblem` per problem; nothing is half-checked.
    """
    if not isinstance(record, Mapping):
        raise RecordError([FieldProblem("record", "must be a JSON object", source)])
    declared = record.get("kind")
    if declared is not None and declared != kind.name:
        raise RecordError(
            [FieldProblem("kind", f"record says {declared!r}, not {kind.name!r}", source)]
        )
    checker = _Checker(kind, record, at, base_dir)
    checker.run_fields()
    checker.run_rules()
    checker.run_number()
    identifier = checker.identifier()
    if checker.problems:
        raise RecordError(checker.problems).about(source)
    assert identifier is not None
    display = {k: display_value(v) for k, v in checker.values.items() if k != "photo"}
    return Certificate(
        kind=kind,
        values=dict(checker.values),
        display=display,
        identifier=identifier,
        version=checker.version(),
        issued_at=at,
    )
