"""The font stack shared by both renderers: coverage, metrics and embeddable subsets.

Each face is loaded at most once per process (loading a CJK font is the expensive part of
rendering). Metrics come from reportlab's TrueType reader; the layout's advances are what
both renderers write (the PDF's glyph widths, the OFD's ``DeltaX``), and both embed the same
subset of a layout (:meth:`Face.subset` keeps the last few).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont as FTFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as RLFont

from ..errors import ConfigurationError
from ..kinds import load_table
from .subset import Subset, SubsetWriter

__all__ = ["Face", "FontStack", "Subset", "font_stack"]

# Subsets kept per face: the OFD and the PDF of one layout embed the same subset, so the
# second renderer finds it here instead of building it again.
_SUBSETS_KEPT = 4


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
        self._writer: SubsetWriter | None = None

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

        Written by :class:`~docgen.fonts.subset.SubsetWriter` from the face read once per
        process: fontTools' general-purpose subsetter re-reads the whole 34 000-glyph font
        each time (≈0.5 s), which a batch of thousands cannot afford.
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
        source = self._fonttools()
        with self._lock:
            if self._writer is None:
                self._writer = SubsetWriter(source, self.family, self.rl_name)
            writer = self._writer
        return writer.write(chars)


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
