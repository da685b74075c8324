"""Font subsets: accepted by the OpenType Sanitizer, and holding the source's glyphs."""

from __future__ import annotations

import io
import itertools
import random
from pathlib import Path

import ots
import pytest
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont

from docgen.fonts import Face, font_stack
from docgen.fonts.subset import SubsetWriter

FACES = font_stack().faces


def _drawn(font: TTFont, glyph: str) -> list[tuple[str, tuple[object, ...]]]:
    """The glyph's outline with composite glyphs drawn through their components."""
    glyphs = font.getGlyphSet()
    pen = DecomposingRecordingPen(glyphs)
    glyphs[glyph].draw(pen)
    return list(pen.value)


def _composite(glyf: object, name: str) -> bool:
    return bool(glyf[name].isComposite())  # type: ignore[index]


def _samples(face: Face) -> list[list[str]]:
    """Character sets to subset: random ones, composite glyphs, and characters past the BMP."""
    source = face._fonttools()
    cmap = source.getBestCmap()
    glyf = source["glyf"]
    chars = [chr(code) for code in sorted(cmap)]
    composite = list(
        itertools.islice((c for c in chars[:3000] if _composite(glyf, cmap[ord(c)])), 40)
    )
    astral = [c for c in chars if ord(c) > 0xFFFF][:5]
    rng = random.Random(face.key)
    return [
        rng.sample(chars, 80) + composite + astral,
        [c for c in chars if ord(c) < 0x80][:30],  # BMP only: no format-12 cmap
        astral or chars[-3:],
    ]


@pytest.mark.parametrize("face", FACES, ids=[f.key for f in FACES])
def test_subsets_pass_the_sanitizer_and_keep_the_source_glyphs(face: Face, tmp_path: Path) -> None:
    """Each subset passes the OpenType Sanitizer (the check Chromium and Firefox run on web
    fonts), maps exactly the asked characters, to the glyph indices :class:`Subset` reports,
    and draws each with the source's outline (components resolved) and advance."""
    source = face._fonttools()
    cmap = source.getBestCmap()
    for i, chars in enumerate(_samples(face)):
        subset = face.subset(chars)
        path = tmp_path / f"{face.key}-{i}.ttf"
        path.write_bytes(subset.data)
        judged = ots.sanitize(str(path), str(tmp_path / "out.ttf"), capture_output=True)
        assert judged.returncode == 0, judged.stderr.decode(errors="replace")
        font = TTFont(io.BytesIO(subset.data))
        mapped = font.getBestCmap()
        assert set(mapped) == {ord(c) for c in chars}
        for char in set(chars):
            glyph = mapped[ord(char)]
            assert font.getGlyphID(glyph) == subset.gids[char]
            assert _drawn(font, glyph) == _drawn(source, cmap[ord(char)]), char
            assert font["hmtx"][glyph][0] == source["hmtx"][cmap[ord(char)]][0], char


def test_a_subset_does_not_depend_on_the_clock_or_the_order_of_characters() -> None:
    face = FACES[0]
    writer = SubsetWriter(face._fonttools(), face.family, face.rl_name)
    first = writer.write("证书李晓堃ABC")
    again = writer.write(list("CBA堃晓李书证证"))
    assert first.data == again.data
    head = TTFont(io.BytesIO(first.data)).reader["head"]
    assert head[20:36] == bytes(16)  # created, modified
