"""The layout model: one per certificate, resolved down to glyph positions in millimetres.

:func:`build_layout` turns a kind's declarative page templates and a validated
:class:`~docgen.validation.Certificate` into a :class:`DocumentLayout`. Everything a renderer
needs is decided here — which face draws each character, where each glyph starts, how big a
photo is drawn — so the OFD and PDF renderers only translate, and cannot drift apart.

Coordinates: millimetres, origin at the top-left of the page, y downwards (as in OFD).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from .errors import ConfigurationError, FieldProblem, RecordError
from .fonts import Face, FontStack, font_stack
from .metadata import core_metadata
from .qr import placeholder_qr_png, qr_modules, qr_png
from .validation import Certificate

__all__ = [
    "PT_TO_MM",
    "AnnotationSlot",
    "Box",
    "DocumentLayout",
    "GlyphRun",
    "ImageItem",
    "Item",
    "PageLayout",
    "PathItem",
    "RectsItem",
    "SlotItem",
    "TextItem",
    "build_band",
    "build_layout",
    "seal_slots",
]

#: One typographic point in millimetres; template font sizes are in points.
PT_TO_MM = 25.4 / 72.0
_SHRINK_STEP_PT = 0.25
# Room below the baseline a line of CJK text needs, in ems; the first baseline sits half of
# it lower than the ascent, so the glyphs are centred in their line box.
_DESCENT_EM = 0.2
#: Characters that may not begin a line, and ones that may not end one (GB/T 15834 usage).
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕’”…·%,.;:?!)]")
_NO_LINE_END = frozenset("（《「『【〔‘“([")
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Box:
    """A rectangle: top-left corner and size, in mm."""

    x: float
    y: float
    w: float
    h: float

    def moved(self, dx: float, dy: float) -> Box:
        """The same box shifted by ``(dx, dy)``."""
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def contains(self, other: Box, slack: float = 1e-6) -> bool:
        """Whether ``other`` lies inside this box."""
        return (
            other.x >= self.x - slack
            and other.y >= self.y - slack
            and other.x + other.w <= self.x + self.w + slack
            and other.y + other.h <= self.y + self.h + slack
        )


@dataclass(frozen=True)
class GlyphRun:
    """Consecutive characters drawn with one face: origin of the first glyph and advances."""

    face: Face
    size: float  # em size in mm
    x: float
    baseline: float
    text: str
    advances: tuple[float, ...]  # mm, one per character

    @property
    def width(self) -> float:
        """Sum of the advances."""
        return sum(self.advances)


@dataclass(frozen=True)
class TextItem:
    """Text in a box; ``id`` is the field name when the text shows one field."""

    id: str
    box: Box
    runs: tuple[GlyphRun, ...]
    color: RGB
    text: str


@dataclass(frozen=True)
class ImageItem:
    """A raster image drawn to fill ``box`` (aspect ratio already applied)."""

    id: str
    box: Box
    data: bytes
    format: str  # "JPEG" or "PNG"


@dataclass(frozen=True)
class PathItem:
    """A stroked polyline or closed polygon; points are absolute mm."""

    id: str
    points: tuple[tuple[float, float], ...]
    closed: bool
    stroke: float
    color: RGB

    @property
    def box(self) -> Box:
        """Bounding box of the points, widened by half the stroke."""
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        half = self.stroke / 2
        return Box(
            min(xs) - half,
            min(ys) - half,
            max(xs) - min(xs) + 2 * half,
            max(ys) - min(ys) + 2 * half,
        )


@dataclass(frozen=True)
class SlotItem:
    """An area reserved for something drawn later (the seal)."""

    id: str
    box: Box


@dataclass(frozen=True)
class RectsItem:
    """Filled rectangles of one colour, ``(x, y, w, h)`` in absolute mm: a QR code drawn as
    vectors (the 加注 band's, which may add no image resource to a sealed OFD)."""

    id: str
    box: Box
    rects: tuple[tuple[float, float, float, float], ...]
    color: RGB


@dataclass(frozen=True)
class AnnotationSlot:
    """Where an annotated copy's 加注 band will be drawn, and every character it may draw:
    the sealed OFD embeds their glyphs now, since its fonts cannot change after sealing."""

    id: str
    box: Box
    glyphs: tuple[GlyphRun, ...]


Item = TextItem | ImageItem | PathItem | RectsItem | SlotItem | AnnotationSlot


@dataclass(frozen=True)
class PageLayout:
    """One page: its size in mm and its items in drawing order."""

    id: str
    width: float
    height: float
    items: tuple[Item, ...]

    def find(self, item_id: str) -> list[Item]:
        """Items with the given id."""
        return [i for i in self.items if i.id == item_id]


@dataclass(frozen=True)
class DocumentLayout:
    """A whole certificate, ready for the renderers."""

    certificate: Certificate
    pages: tuple[PageLayout, ...]
    metadata: tuple[tuple[str, str, str], ...] = field(default=())

    @property
    def title(self) -> str:
        """Document title: certificate name and number."""
        return f"{self.certificate.kind.title} {self.certificate.number}"

    def faces(self) -> dict[str, tuple[Face, str]]:
        """Faces used, by key, each with every character it draws (sorted, unique)."""
        used: dict[str, tuple[Face, set[str]]] = {}
        for page in self.pages:
            for item in page.items:
                if isinstance(item, TextItem | AnnotationSlot):
                    runs = item.runs if isinstance(item, TextItem) else item.glyphs
                    for run in runs:
                        used.setdefault(run.face.key, (run.face, set()))[1].update(run.text)
        return {k: (face, "".join(sorted(chars))) for k, (face, chars) in used.items()}


def seal_slots(layout: DocumentLayout) -> list[tuple[int, SlotItem]]:
    """Every seal slot of the layout with its page index, in document order."""
    return [
        (n, item)
        for n, page in enumerate(layout.pages)
        for item in page.items
        if isinstance(item, SlotItem) and item.id == "seal"
    ]


# -- template interpretation ----------------------------------------------------------


#: What the 加注 band's own values may contain, so the sealed OFD embeds those glyphs:
#: dates (YYYY-MM-DD) and the annotation number (see docgen.annotation.rules).
BAND_ALPHABETS = {
    "annotation": "JZ0123456789",
    "annotation_from": "0123456789-",
    "annotation_to": "0123456789-",
}


def _dark_runs(line: Sequence[bool]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each run of dark modules in a row."""
    start = None
    for n, dark in enumerate([*line, False]):
        if dark and start is None:
            start = n
        elif not dark and start is not None:
            yield start, n
            start = None


class _Chained(Mapping[str, str]):
    """The first mapping's value, else the second's."""

    def __init__(self, first: Mapping[str, str], second: Mapping[str, str]) -> None:
        self._first, self._second = first, second

    def __getitem__(self, key: str) -> str:
        return self._first[key] if key in self._first else self._second[key]

    def __iter__(self) -> Iterator[str]:
        return iter({*self._first, *self._second})

    def __len__(self) -> int:
        return len({*self._first, *self._second})


class _Values(Mapping[str, str]):
    """Printed field values for ``str.format``; a missing optional field prints as empty."""

    def __init__(self, display: Mapping[str, str]) -> None:
        self._display = display

    def __getitem__(self, key: str) -> str:
        return self._display.get(key, "")

    def __iter__(self) -> Iterator[str]:
        return iter(self._display)

    def __len__(self) -> int:
        return len(self._display)


def _color(value: str | None, where: str) -> RGB:
    if value is None:
        return (0, 0, 0)
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise ConfigurationError(where, f"colour {value!r} is not #RRGGBB")
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


def _box(value: Sequence[float], where: str) -> Box:
    if len(value) != 4:
        raise ConfigurationError(where, f"box must be [x, y, w, h], got {value!r}")
    return Box(*(float(v) for v in value))


def _field_of(template: str) -> str | None:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    return names[0] if len(names) == 1 and template.strip() == "{" + names[0] + "}" else None


class _Builder:
    def __init__(
        self, cert: Certificate, stack: FontStack, extra: Mapping[str, str] | None = None
    ) -> None:
        self.cert = cert
        self.stack = stack
        printed = dict(cert.display)
        printed.update(
            {
                f"{k}__dots": v.strftime("%Y.%m.%d")
                for k, v in cert.values.items()
                if isinstance(v, date)
            }
        )
        printed.update(title=cert.kind.title, identifier=cert.identifier)
        printed.update(extra or {})
        self.values = _Values(printed)
        self.problems: list[FieldProblem] = []
        self.source = cert.kind.source
        self.templates = {p["id"]: p for p in cert.kind.pages}
        self.qr: bytes | None = None  # encoded once, drawn wherever the pages show it
        self.vector_qr: str | None = None  # the band's QR text, drawn as rectangles

    def page(self, template: Mapping[str, Any]) -> PageLayout:
        width, height = (float(v) for v in template["size"])
        items = tuple(self.items(template, 0.0, 0.0))
        return PageLayout(id=template["id"], width=width, height=height, items=items)

    def items(self, template: Mapping[str, Any], dx: float, dy: float) -> Iterator[Item]:
        for i, raw in enumerate(template["items"]):
            where = f"{self.source}: page {template['id']} item {i}"
            kind = raw.get("type")
            handler = getattr(self, f"item_{kind}", None)
            if handler is None:
                raise ConfigurationError(where, f"unknown item type {kind!r}")
            yield from handler(raw, dx, dy, where)

    # Each item_* yields layout items for one template entry.

    def item_frame(
        self, raw: Mapping[str, Any], dx: float, dy: float, where: str
    ) -> Iterator[Item]:
        box = _box(raw["box"], where).moved(dx, dy)
        color = _color(raw.get("color"), where)
        insets = [0.0, *raw.get("insets", [])]
        for n, inset in enumerate(insets):
            x0, y0 = box.x + inset, box.y + inset
            x1, y1 = box.x + box.w - inset, box.y + box.h - inset
            stroke = float(raw.get("stroke", 0.5)) if n == 0 else float(raw.get("inner", 0.3))
            yield PathItem(
                raw.get("id", "frame"),
                ((x0, y0), (x1, y0), (x1, y1), (x0, y1)),
                True,
                stroke,
                color,
            )

    def item_line(self, raw: Mapping[str, Any], dx: float, dy: float, where: str) -> Iterator[Item]:
        (x0, y0), (x1, y1) = raw["from"], raw["to"]
        yield PathItem(
            raw.get("id", "line"),
            ((x0 + dx, y0 + dy), (x1 + dx, y1 + dy)),
            False,
            float(raw.get("stroke", 0.3)),
            _color(raw.get("color"), where),
        )

    def item_text(self, raw: Mapping[str, Any], dx: float, dy: float, where: str) -> Iterator[Item]:
        template = raw["text"]
        try:
            text = template.format_map(self.values)
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(where, f"bad text template {template!r}: {exc}") from exc
        item_id = raw.get("id") or _field_of(template) or "text"
        box = _box(raw["box"], where).moved(dx, dy)
        item = self.text(item_id, text, box, raw, where)
        if item is not None:
            yield item

    def item_rows(self, raw: Mapping[str, Any], dx: float, dy: float, where: str) -> Iterator[Item]:
        x, y = (float(v) for v in raw["origin"])
        label_w, value_w = float(raw["label_width"]), float(raw["value_width"])
        gap, step = float(raw.get("gap", 3.0)), float(raw["row_height"])
        label_style = {
            "size": raw["size"],
            "align": raw.get("label_align", "distribute"),
            "color": raw.get("label_color"),
        }
        value_style = {
            "size": raw.get("value_size", raw["size"]),
            "align": "left",
            "color": raw.get("value_color"),
            "min_size": raw.get("min_size"),
        }
        for n, row in enumerate(raw["rows"]):
            if "only_if" in row and self.cert.values.get(row["only_if"]) is None:
                continue  # an optional row whose field is absent is not drawn
            top = y + dy + n * step
            yield from self.item_text(
                {
                    "text": row["label"],
                    "id": f"label:{row['label']}",
                    "box": [x + dx, top, label_w, step],
                    **label_style,
                },
                0,
                0,
                where,
            )
            value = {
                "text": row["value"],
                "box": [x + dx + label_w + gap, top, value_w, step],
                **value_style,
            }
            if "id" in row:
                value["id"] = row["id"]
            yield from self.item_text(value, 0, 0, where)

    def item_image(
        self, raw: Mapping[str, Any], dx: float, dy: float, where: str
    ) -> Iterator[Item]:
        if raw.get("source") != "photo":
            raise ConfigurationError(where, "image source must be 'photo'")
        box = _box(raw["box"], where).moved(dx, dy)
        photo = self.cert.photo
        scale = min(box.w / photo.width, box.h / photo.height)
        w, h = photo.width * scale, photo.height * scale
        drawn = Box(box.x + (box.w - w) / 2, box.y + (box.h - h) / 2, w, h)
        yield ImageItem("photo", drawn, photo.jpeg, "JPEG")

    def item_qr(self, raw: Mapping[str, Any], dx: float, dy: float, where: str) -> Iterator[Item]:
        box = _box(raw["box"], where).moved(dx, dy)
        if self.vector_qr is not None:
            modules = qr_modules(self.vector_qr, raw.get("error_correction", "Q"))
            size = min(box.w, box.h) / len(modules)
            x0 = box.x + (box.w - size * len(modules)) / 2
            y0 = box.y + (box.h - size * len(modules)) / 2
            rects = tuple(
                (x0 + start * size, y0 + row * size, (end - start) * size, size)
                for row, line in enumerate(modules)
                for start, end in _dark_runs(line)
            )
            yield RectsItem("qr", box, rects, (0, 0, 0))
            return
        if self.qr is None:
            self.qr = placeholder_qr_png(self.cert.identifier)
        yield ImageItem("qr", box, self.qr, "PNG")

    def item_seal(self, raw: Mapping[str, Any], dx: float, dy: float, where: str) -> Iterator[Item]:
        yield SlotItem("seal", _box(raw["box"], where).moved(dx, dy))

    def item_annotation(
        self, raw: Mapping[str, Any], dx: float, dy: float, where: str
    ) -> Iterator[Item]:
        """The 加注 band's slot: the band template is the kind's ``[annotation.band]``."""
        band = self.cert.kind.annotation.get("band")
        if not isinstance(band, Mapping):
            raise ConfigurationError(where, "an annotation slot needs [annotation.band]")
        box = _box(band["box"], f"{self.source}: annotation.band").moved(dx, dy)
        alphabets = _Values(
            {
                "scenario": "".join(self.cert.kind.annotation.get("scenarios", [])),
                **{key: alphabet for key, alphabet in BAND_ALPHABETS.items()},
            }
        )
        chars: set[str] = set()
        for item in band["items"]:
            if "text" in item:
                chars.update(item["text"].format_map(_Chained(alphabets, self.values)))
        glyphs = tuple(self.runs("".join(sorted(chars)), 1.0, 0.0, 0.0))
        yield AnnotationSlot("annotation", box, glyphs)

    def item_include(
        self, raw: Mapping[str, Any], dx: float, dy: float, where: str
    ) -> Iterator[Item]:
        target = self.templates.get(raw["page"])
        if target is None:
            raise ConfigurationError(where, f"include of unknown page {raw['page']!r}")
        ox, oy = (float(v) for v in raw["origin"])
        w, h = (float(v) for v in target["size"])
        if raw.get("outline", True):
            yield from self.item_frame(
                {"box": [ox, oy, w, h], "stroke": 0.2, "color": "#999999", "id": "outline"},
                dx,
                dy,
                where,
            )
        yield from self.items(target, dx + ox, dy + oy)

    # -- text -------------------------------------------------------------------------

    def runs(
        self, text: str, size: float, x: float, baseline: float, spacing: float = 0.0
    ) -> list[GlyphRun]:
        groups: list[tuple[Face, float, list[str], list[float]]] = []
        pen = x
        for char in text:
            face = self.face(char)
            advance = face.advance(char) * size + spacing
            if not groups or groups[-1][0] is not face:
                groups.append((face, pen, [], []))
            groups[-1][2].append(char)
            groups[-1][3].append(advance)
            pen += advance
        return [
            GlyphRun(face, size, start, baseline, "".join(chars), tuple(advances))
            for face, start, chars, advances in groups
        ]

    def face(self, char: str) -> Face:
        # Validation refused characters no face has; the primary face is only a backstop.
        return self.stack.face_for(char) or self.stack.primary

    def natural_width(self, text: str, size: float) -> float:
        return sum(self.face(c).advance(c) for c in text) * size

    def text(
        self, item_id: str, text: str, box: Box, raw: Mapping[str, Any], where: str
    ) -> TextItem | None:
        if not text:
            return None
        key = (
            self.stack,
            item_id,
            text,
            box,
            *(str(raw.get(name)) for name in _TEXT_STYLE),
        )
        laid_out = _LAID_OUT.get(key)
        if laid_out is not None:
            return laid_out
        item = self._text(item_id, text, box, raw, where)
        if item is not None:
            if len(_LAID_OUT) >= _LAID_OUT_KEPT:
                _LAID_OUT.clear()
            _LAID_OUT[key] = item
        return item

    def _text(
        self, item_id: str, text: str, box: Box, raw: Mapping[str, Any], where: str
    ) -> TextItem | None:
        size_pt = float(raw["size"])
        min_pt = float(raw.get("min_size") or size_pt)
        align = raw.get("align", "left")
        if align not in {"left", "center", "right", "distribute"}:
            raise ConfigurationError(where, f"unknown align {align!r}")
        color = _color(raw.get("color"), where)
        ascent = self.stack.primary.ascent_em()
        wrap = bool(raw.get("wrap", False))
        line_height = float(raw.get("line_height", 1.4))
        while True:
            size = size_pt * PT_TO_MM
            lines = self.wrap(text, size, box.w) if wrap else [text]
            widths = [self.natural_width(line, size) for line in lines]
            height = size * (ascent + line_height * (len(lines) - 1) + _DESCENT_EM)
            if max(widths) <= box.w + 1e-6 and height <= box.h + 1e-6:
                break
            if size_pt - _SHRINK_STEP_PT < min_pt - 1e-9:
                self.problems.append(
                    FieldProblem(
                        item_id,
                        f"{text!r} does not fit its {box.w:g}×{box.h:g} mm box "
                        f"even at {min_pt:g} pt",
                    )
                )
                return None
            size_pt -= _SHRINK_STEP_PT
        runs: list[GlyphRun] = []
        top = box.y + (box.h - height) / 2 if not wrap else box.y
        for n, (line, width) in enumerate(zip(lines, widths, strict=True)):
            baseline = top + size * (ascent + _DESCENT_EM / 2 + line_height * n)
            spacing = 0.0
            if align == "distribute" and len(line) > 1:
                spacing = (box.w - width) / (len(line) - 1)
                x = box.x
            elif align in ("center", "distribute"):
                x = box.x + (box.w - width) / 2
            elif align == "right":
                x = box.x + box.w - width
            else:
                x = box.x
            line_runs = self.runs(line, size, x, baseline, spacing)
            if spacing and line_runs:  # the last glyph carries no trailing space
                last = line_runs[-1]
                line_runs[-1] = replace(
                    last, advances=(*last.advances[:-1], last.advances[-1] - spacing)
                )
            runs.extend(line_runs)
        return TextItem(item_id, box, tuple(runs), color, text)

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Break ``text`` into lines no wider than ``width``, at any character (CJK), except
        that closing punctuation never starts a line and opening punctuation never ends one
        (the 避头尾 rule): the character before the break moves down with it."""
        lines: list[str] = []
        for para in text.split("\n"):
            line, used = "", 0.0
            for char in para:
                advance = self.face(char).advance(char) * size
                if line and used + advance > width:
                    carry = ""
                    while len(line) > 1 and (char in _NO_LINE_START or line[-1] in _NO_LINE_END):
                        carry = line[-1] + carry
                        line = line[:-1]
                        if line[-1] not in _NO_LINE_END:
                            break
                    lines.append(line)
                    line = carry + char
                    used = self.natural_width(line, size)
                else:
                    line += char
                    used += advance
            lines.append(line)
        return lines


# What a text item's layout depends on besides its text, box and id (the template's style).
_TEXT_STYLE = ("size", "min_size", "align", "color", "wrap", "line_height")
# Text items laid out already, shared by every certificate of a process: labels, titles and
# the values many certificates share are measured and shaped once (items are immutable).
# Bounded low: most values are one certificate's own (8 192 items held 12 MB a worker).
_LAID_OUT: dict[tuple[object, ...], TextItem] = {}
_LAID_OUT_KEPT = 1024


def build_layout(
    cert: Certificate, stack: FontStack | None = None, qr_text: str | None = None
) -> DocumentLayout:
    """Lay out every page of ``cert``'s kind.

    The QR shows ``qr_text`` (the signed payload) or, without it, the unsigned placeholder.

    Raises:
        RecordError: a value does not fit its box even at the smallest allowed size.
        ConfigurationError: the kind's template is malformed.
    """
    builder = _Builder(cert, stack or font_stack())
    if qr_text is not None:
        builder.qr = qr_png(qr_text)
    pages = tuple(builder.page(p) for p in cert.kind.pages)
    if builder.problems:
        raise RecordError(builder.problems)
    return DocumentLayout(cert, pages, core_metadata(cert))


def build_band(
    cert: Certificate, values: Mapping[str, str], qr_text: str, stack: FontStack | None = None
) -> PageLayout:
    """The 加注 band of an annotated copy of ``cert``, as a page the size of the band with
    coordinates relative to its top-left corner (where the annotation slot puts it).

    ``values`` fills the band template: ``scenario``, ``annotation`` (its number),
    ``annotation_from`` and ``annotation_to``; the QR (vectors) shows ``qr_text``.

    Raises:
        ConfigurationError: the kind has no band, or a value has a character the sealed
            OFD's fonts did not reserve.
        RecordError: a value does not fit its box.
    """
    band = cert.kind.annotation.get("band")
    where = f"{cert.kind.source}: annotation.band"
    if not isinstance(band, Mapping):
        raise ConfigurationError(where, "the kind has no 加注 band")
    for key, alphabet in BAND_ALPHABETS.items():
        if not set(values.get(key, "")) <= set(alphabet):
            raise ConfigurationError(
                where, f"{key} {values.get(key)!r} has characters outside {alphabet!r}"
            )
    box = _box(band["box"], where)
    builder = _Builder(cert, stack or font_stack(), values)
    builder.vector_qr = qr_text
    items = tuple(builder.items({"id": "annotation", **band}, -box.x, -box.y))
    if builder.problems:
        raise RecordError(builder.problems)
    whole = Box(0, 0, box.w, box.h)
    outside = [i.id for i in items if not whole.contains(i.box, slack=0.01)]
    if outside:
        raise ConfigurationError(where, f"items outside the band's box: {', '.join(outside)}")
    return PageLayout(id="annotation", width=box.w, height=box.h, items=items)
