"""Certificate kinds: fields, rules and layout, read from ``docgen/templates/<kind>.toml``.

The files are data; this module turns them into typed objects and rejects a malformed file
with a :class:`~docgen.errors.ConfigurationError` naming the file and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "FIELD_TYPES",
    "KIND_NAMES",
    "FieldSpec",
    "KindSpec",
    "NumberScheme",
    "load_kind",
    "load_table",
]

#: The kinds the CLI offers, in the order of DOMAIN.md.
KIND_NAMES = ("rescuer", "skill", "safety-engineer", "special-ops", "safety-manager")

#: Field types a kind file may use; each is checked by :mod:`docgen.validation`.
FIELD_TYPES = frozenset(
    {"text", "name", "choice", "date", "id_number", "uscc", "score", "photo", "number"}
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a certificate record."""

    name: str
    label: str
    type: str
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] = ()
    choices_from: str | None = None
    max_length: int | None = None
    pattern: str | None = None
    future_ok: bool = False
    derived: bool = False

    def options(self) -> tuple[str, ...]:
        """The values a ``choice`` field allows (``choices``, or the data table named by
        ``choices_from``, e.g. ``special_ops.categories``)."""
        if not self.choices_from:
            return self.choices
        table, _, key = self.choices_from.partition(".")
        return tuple(load_table(table)[key])


@dataclass(frozen=True)
class NumberScheme:
    """How certificate numbers of a kind are built and checked.

    ``scheme`` is ``osta22`` (22-character skill certificate number), ``template``
    (the number is ``pattern`` with record fields filled in) or ``regex``.
    """

    scheme: str
    pattern: str = ""
    level_field: str | None = None
    level_digits: dict[str, int] = field(default_factory=dict)
    note: str = ""
    allocate: str = ""  # how a new number is made (docgen.registry.numbering)


@dataclass(frozen=True)
class KindSpec:
    """Everything the issuer knows about one certificate kind."""

    name: str
    title: str
    type_name: str
    type_code: str
    fields: tuple[FieldSpec, ...]
    number: NumberScheme
    rules: tuple[dict[str, Any], ...]
    pages: tuple[dict[str, Any], ...]
    metadata: dict[str, str]
    sample: dict[str, Any]
    source: str
    seal_title: str = "电子证照专用章"
    lifecycle: dict[str, dict[str, Any]] = field(default_factory=dict)
    annotation: dict[str, Any] = field(default_factory=dict)
    eligibility: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer_field(self) -> str:
        """The field that names the issuing body (GB/T 36903 颁发机构)."""
        return self.metadata.get("issuer", "issuer")

    def field(self, name: str) -> FieldSpec:
        """The field called ``name``. Raises KeyError if the kind has none."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigurationError(where, f"missing key {key!r}")
    return data[key]


def _field(raw: dict[str, Any], where: str) -> FieldSpec:
    name = _require(raw, "name", where)
    where = f"{where}[{name}]"
    if "type" not in raw:
        common = {f["name"]: f for f in load_table("common_fields").get("field", [])}
        if name not in common:
            raise ConfigurationError(where, "no type, and no common field of that name")
        raw = {**common[name], **raw}
    ftype = _require(raw, "type", where)
    if ftype not in FIELD_TYPES:
        raise ConfigurationError(where, f"unknown field type {ftype!r}")
    known = set(FieldSpec.__dataclass_fields__)
    extra = set(raw) - known
    if extra:
        raise ConfigurationError(where, f"unknown keys {sorted(extra)}")
    values = dict(raw)
    values["choices"] = tuple(raw.get("choices", ()))
    values.setdefault("label", name)
    return FieldSpec(**values)


def _parse(text: str, source: str) -> KindSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(source, f"not valid TOML: {exc}") from exc
    kind = _require(data, "kind", source)
    where = f"{source}: kind"
    fields = tuple(_field(f, f"{source}: field") for f in data.get("field", []))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"{source}: field", "field names repeat")
    num = dict(_require(data, "numbering", source))
    scheme = _require(num, "scheme", f"{source}: numbering")
    if scheme not in {"osta22", "template", "regex"}:
        raise ConfigurationError(f"{source}: numbering", f"unknown scheme {scheme!r}")
    number = NumberScheme(
        scheme=scheme,
        pattern=num.get("pattern", ""),
        level_field=num.get("level_field"),
        level_digits=dict(num.get("level_digits", {})),
        note=num.get("note", ""),
        allocate=num.get("allocate", ""),
    )
    pages = tuple(_require(data, "page", source))
    for i, page in enumerate(pages):
        for key in ("id", "size", "items"):
            _require(page, key, f"{source}: page[{i}]")
    return KindSpec(
        name=_require(kind, "name", where),
        title=_require(kind, "title", where),
        type_name=kind.get("type_name", kind["title"]),
        type_code=_require(kind, "type_code", where),
        fields=fields,
        number=number,
        rules=tuple(data.get("rule", [])),
        pages=pages,
        metadata=dict(data.get("metadata", {})),
        sample=dict(data.get("sample", {})),
        source=source,
        seal_title=kind.get("seal_title", "电子证照专用章"),
        lifecycle={k: dict(v) for k, v in data.get("lifecycle", {}).items()},
        annotation=dict(data.get("annotation", {})),
        eligibility=dict(data.get("eligibility", {})),
    )


@cache
def load_kind(name: str) -> KindSpec:
    """Load the kind called ``name`` from the packaged templates.

    Raises:
        ConfigurationError: no such kind, or its file is malformed.
    """
    if name not in KIND_NAMES:
        raise ConfigurationError("kind", f"unknown kind {name!r}; known: {', '.join(KIND_NAMES)}")
    source = f"docgen/templates/{name}.toml"
    text = resources.files("docgen.templates").joinpath(f"{name}.toml").read_text("utf-8")
    return _parse(text, source)


@cache
def load_table(name: str) -> dict[str, Any]:
    """Load a shared data table (e.g. ``special_ops``) from ``docgen/templates/<name>.toml``.

    Raises:
        ConfigurationError: the table does not exist or is not valid TOML.
    """
    path = resources.files("docgen.templates").joinpath(f"{name}.toml")
    if not path.is_file():
        raise ConfigurationError(f"docgen/templates/{name}.toml", "no such data table")
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"docgen/templates/{name}.toml", str(exc)) from exc
