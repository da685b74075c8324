"""The font stack shared by both renderers: coverage, metrics and embeddable subsets.

Each face is loaded at most once per process (loading a CJK font is the expensive part of
rendering). Metrics come from reportlab's TrueType reader; the layout's advances are what
both renderers write (the PDF's glyph widths, the OFD's ``DeltaX``), and both embed the same
subset of a layout (:meth:`Face.subset` keeps the last few).
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fontTools.fontBuilder import FontBuilder
from fontTools.ttLib import TTFont as FTFont
from fontTools.ttLib import newTable
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fontTools.ttLib.tables.DefaultTable import DefaultTable
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as RLFont

from .errors import ConfigurationError
from .kinds import load_table

__all__ = ["Face", "FontStack", "Subset", "font_stack"]

# head.created/modified of every subset we write: output must not depend on the clock.
_FIXED_FONT_TIMESTAMP = 0
# Tables the hinting instructions in copied glyph records rely on.
_HINTING_TABLES = ("fpgm", "prep", "cvt ", "gasp")
# maxp limits copied from the source: upper bounds that stay valid for any subset.
_MAXP_LIMITS = (
    "maxPoints",
    "maxContours",
    "maxCompositePoints",
    "maxCompositeContours",
    "maxZones",
    "maxTwilightPoints",
    "maxStorage",
    "maxFunctionDefs",
    "maxInstructionDefs",
    "maxStackElements",
    "maxSizeOfInstructions",
    "maxComponentElements",
    "maxComponentDepth",
)

# Subsets kept per face: the OFD and the PDF of one layout embed the same subset, so the
# second renderer finds it here instead of building it again.
_SUBSETS_KEPT = 4


@dataclass(frozen=True)
class Subset:
    """An embeddable TrueType subset: the font file and each character's glyph index in it."""

    data: bytes
    gids: Mapping[str, int]


@dataclass
class Face:
    """One font face of the stack; loads lazily and only once."""

    key: str
    family: str
    path: Path
    index: int
    serif: bool

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rl: RLFont | None = None
        self._ft: Any = None
        self._advances: dict[str, float] = {}
        self._subsets: OrderedDict[str, Subset] = OrderedDict()
        self._raw: dict[str, DefaultTable] = {}
        self._glyphs: dict[str, Any] = {}

    @property
    def rl_name(self) -> str:
        """The name under which reportlab knows this face."""
        return f"docgen-{self.key}"

    def _reportlab(self) -> RLFont:
        with self._lock:
            if self._rl is None:
                font = RLFont(self.rl_name, str(self.path), subfontIndex=self.index)
                pdfmetrics.registerFont(font)
                self._rl = font
            return self._rl

    def has(self, char: str) -> bool:
        """Whether the face has a glyph for ``char``."""
        return ord(char) in self._reportlab().face.charToGlyph

    def advance(self, char: str) -> float:
        """Advance width of ``char`` in ems (as reportlab writes it into the PDF)."""
        width = self._advances.get(char)
        if width is None:
            self._reportlab()
            width = float(pdfmetrics.stringWidth(char, self.rl_name, 1000.0)) / 1000.0
            self._advances[char] = width
        return width

    def ascent_em(self) -> float:
        """The face's ascent in ems (baseline to the top of the tallest glyphs)."""
        return float(self._reportlab().face.ascent) / 1000.0

    def register(self) -> str:
        """Make sure reportlab knows the face; returns its reportlab name."""
        self._reportlab()
        return self.rl_name

    def _fonttools(self) -> Any:
        with self._lock:
            if self._ft is None:
                self._ft = FTFont(str(self.path), fontNumber=self.index, lazy=True)
            return self._ft

    def metrics(self) -> dict[str, Any]:
        """Font-wide metrics in thousandths of an em, as a PDF font descriptor states them:
        ``ascent``, ``descent``, ``cap_height``, ``bbox``, ``italic_angle``, ``stem_v``,
        ``flags``."""
        face = self._reportlab().face
        return {
            "ascent": face.ascent,
            "descent": face.descent,
            "cap_height": face.capHeight,
            "bbox": tuple(face.bbox),
            "italic_angle": face.italicAngle,
            "stem_v": face.stemV,
            "flags": face.flags,
        }

    def subset(self, chars: Iterable[str]) -> Subset:
        """A TrueType font holding just ``chars`` (plus .notdef), with a Unicode cmap, and
        each character's glyph index in it. The last few subsets are kept: rendering one
        layout twice (OFD, then PDF) builds its subset once.

        Built with fontTools' FontBuilder from the face loaded once per process: the
        general-purpose subsetter re-reads the whole 34 000-glyph font each time (≈0.5 s),
        which a batch of thousands cannot afford. Simple glyphs are copied as their raw
        ``glyf`` records (outline and hinting byte for byte, with the hinting tables they
        need); composite glyphs are re-compiled so their component references follow the
        new glyph order.
        """
        key = "".join(sorted(set(chars)))
        with self._lock:
            kept = self._subsets.get(key)
            if kept is not None:
                self._subsets.move_to_end(key)
                return kept
        made = self._build_subset(key)
        with self._lock:
            self._subsets[key] = made
            while len(self._subsets) > _SUBSETS_KEPT:
                self._subsets.popitem(last=False)
        return made

    def _build_subset(self, chars: str) -> Subset:
        src = self._fonttools()
        with self._lock:
            cmap = src.getBestCmap()
            glyf = src["glyf"]
            mapping = {ord(c): cmap[ord(c)] for c in chars if ord(c) in cmap}
            order = [".notdef"]
            glyphs: dict[str, Any] = {}
            pending = [".notdef", *sorted(set(mapping.values()))]
            while pending:
                name = pending.pop(0)
                if name in glyphs:
                    continue
                glyphs[name] = self._glyph(glyf, name)
                if name != ".notdef":
                    order.append(name)
                if glyphs[name].isComposite():
                    pending.extend(c.glyphName for c in glyphs[name].components)
            head, hhea, os2 = src["head"], src["hhea"], src["OS/2"]
            builder = FontBuilder(head.unitsPerEm, isTTF=True)
            builder.setupGlyphOrder(order)
            builder.setupCharacterMap(mapping)
            # FontBuilder.setupGlyf would expand every glyph; raw records are set directly.
            builder.font["loca"] = newTable("loca")
            builder.font["glyf"] = newTable("glyf")
            builder.font["glyf"].glyphs = glyphs
            builder.font["glyf"].glyphOrder = order
            builder.setupMaxp()
            metrics = src["hmtx"].metrics
            builder.setupHorizontalMetrics({name: tuple(metrics[name]) for name in order})
            builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
            builder.setupNameTable(
                {"familyName": self.family, "styleName": "Regular", "psName": self.rl_name}
            )
            builder.setupOS2(
                sTypoAscender=os2.sTypoAscender,
                sTypoDescender=os2.sTypoDescender,
                sTypoLineGap=os2.sTypoLineGap,
                usWinAscent=os2.usWinAscent,
                usWinDescent=os2.usWinDescent,
                fsType=os2.fsType,
                achVendID=os2.achVendID,
            )
            builder.setupPost(keepGlyphNames=False)  # format 3: readers need no names
            builder.setupHead(
                unitsPerEm=head.unitsPerEm,
                created=_FIXED_FONT_TIMESTAMP,
                modified=_FIXED_FONT_TIMESTAMP,
                xMin=head.xMin,
                yMin=head.yMin,
                xMax=head.xMax,
                yMax=head.yMax,
            )
            for tag in _HINTING_TABLES:
                if tag in src:
                    builder.font[tag] = self._raw_table(src, tag)
            maxp = builder.font["maxp"]
            for attr in _MAXP_LIMITS:
                setattr(maxp, attr, getattr(src["maxp"], attr))
            builder.font.recalcTimestamp = False
            builder.font.recalcBBoxes = False  # raw glyph records keep their own boxes
            out = io.BytesIO()
            builder.font.save(out, reorderTables=False)  # sorted tags already: no second pass
            index = {name: gid for gid, name in enumerate(order)}
            gids = {chr(code): index[name] for code, name in mapping.items()}
            return Subset(out.getvalue(), gids)

    def _raw_table(self, src: Any, tag: str) -> DefaultTable:
        """A table of the source copied as its bytes (compiled once, not per subset)."""
        table = self._raw.get(tag)
        if table is None:
            table = DefaultTable(tag)
            table.data = src.getTableData(tag)
            self._raw[tag] = table
        return table

    def _glyph(self, glyf: Any, name: str) -> Any:
        """The glyph record to put in a subset: a simple glyph's raw record is made once and
        shared (compiling it returns its bytes unchanged); a composite one is copied and
        expanded for each subset, so its component references follow that subset's order."""
        kept = self._glyphs.get(name)
        if kept is not None:
            return kept
        raw = glyf.glyphs[name]
        data = getattr(raw, "data", None)
        if data is None:  # already expanded (e.g. by another reader of this face)
            data = raw.compile(glyf, recalcBBoxes=False)
        glyph = Glyph(data)
        if glyph.isComposite():
            glyph.expand(glyf)
        else:
            self._glyphs[name] = glyph
        return glyph


class FontStack:
    """Faces in order of preference; the first face that has a character draws it."""

    def __init__(self, faces: Sequence[Face]) -> None:
        if not faces:
            raise ConfigurationError("docgen/templates/fonts.toml", "no [[face]] entries")
        self.faces = tuple(faces)
        self._choice: dict[str, Face | None] = {}

    @property
    def primary(self) -> Face:
        """The face used for everything it covers."""
        return self.faces[0]

    def face_for(self, char: str) -> Face | None:
        """The first face that has ``char``, or None."""
        if char not in self._choice:
            self._choice[char] = next((f for f in self.faces if f.has(char)), None)
        return self._choice[char]

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` that no face can draw (whitespace excluded), in order."""
        out: list[str] = []
        for char in text:
            if not char.isspace() and char not in out and self.face_for(char) is None:
                out.append(char)
        return out


def _locate(file: str, package: str, where: str) -> Path:
    name = Path(file).name
    for folder in filter(None, os.environ.get("DOCGEN_FONT_DIRS", "").split(":")):
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    if Path(file).is_file():
        return Path(file)
    raise ConfigurationError(
        where, f"font file {file} not found; install the Debian package {package}"
    )


@cache
def font_stack() -> FontStack:
    """The process-wide font stack from ``docgen/templates/fonts.toml``.

    Raises:
        ConfigurationError: a font file is missing or the table is malformed.
    """
    table = load_table("fonts")
    faces = []
    for i, raw in enumerate(table.get("face", [])):
        where = f"docgen/templates/fonts.toml: face[{i}]"
        try:
            faces.append(
                Face(
                    key=raw["key"],
                    family=raw["family"],
                    path=_locate(raw["file"], raw.get("package", "?"), where),
                    index=int(raw.get("index", 0)),
                    serif=bool(raw.get("serif", False)),
                )
            )
        except KeyError as exc:
            raise ConfigurationError(where, f"missing key {exc}") from exc
    return FontStack(faces)
