"""The picture of an electronic seal: a red round seal drawn with Pillow.

Issuer name along the upper arc, a five-pointed star in the centre, the seal's title below
(wrapped to two lines when long, as on the 人社部 专业技术人员职业资格证书专用章). Transparent
background, so what lies under the seal stays readable. Deterministic: the same text gives
the same PNG.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from ..fonts import font_stack

__all__ = ["SEAL_RED", "draw_seal"]

#: The seal red (印泥红).
SEAL_RED = (214, 24, 31, 255)
_SIZE = 600
# Levels of ink coverage in the stored picture (4-bit palette).
_ALPHA_LEVELS = 16


def _font(px: int) -> ImageFont.FreeTypeFont:
    face = font_stack().primary
    return ImageFont.truetype(str(face.path), px, index=face.index)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        angle = math.radians(-90 + 36 * i)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=SEAL_RED)


def _arc_text(image: Image.Image, text: str, radius: float, px: int) -> None:
    """Characters upright along the upper arc, spread over at most 210°."""
    font = _font(px)
    centre = _SIZE / 2
    span = min(210.0, 24.0 * (len(text) - 1))
    step = span / max(1, len(text) - 1) if len(text) > 1 else 0.0
    start = -90.0 - span / 2
    for i, char in enumerate(text):
        angle = start + i * step
        tile = Image.new("RGBA", (px * 2, px * 2), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((px, px), char, font=font, fill=SEAL_RED, anchor="mm")
        tile = tile.rotate(-(angle + 90), resample=Image.Resampling.BICUBIC)
        x = centre + radius * math.cos(math.radians(angle)) - px
        y = centre + radius * math.sin(math.radians(angle)) - px
        image.alpha_composite(tile, (round(x), round(y)))


def draw_seal(issuer: str, title: str) -> bytes:
    """A PNG (600×600, one ink in 16 levels of coverage) of a round seal for ``issuer``
    with ``title`` below the star."""
    return _one_ink(_drawing(issuer, title))


def _drawing(issuer: str, title: str) -> Image.Image:
    image = Image.new("RGBA", (_SIZE, _SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ring = 12
    draw.ellipse((ring, ring, _SIZE - ring, _SIZE - ring), outline=SEAL_RED, width=22)
    name_px = 64 if len(issuer) <= 12 else max(36, int(64 * 12 / len(issuer)))
    _arc_text(image, issuer, _SIZE / 2 - 70 - name_px / 4, name_px)
    _star(draw, _SIZE / 2, _SIZE / 2, 78)
    lines = (
        [title]
        if len(title) <= 8
        else [title[: (len(title) + 1) // 2], title[(len(title) + 1) // 2 :]]
    )
    title_px = 44 if len(lines) == 1 else 36
    font = _font(title_px)
    for n, line in enumerate(lines):
        y = _SIZE / 2 + 125 + n * (title_px + 8)
        draw.text((_SIZE / 2, y), line, font=font, fill=SEAL_RED, anchor="mm")
    return image


def _one_ink(image: Image.Image) -> bytes:
    """The seal as an indexed PNG: one ink at ``_ALPHA_LEVELS`` levels of coverage. A seal
    has one colour; its edges' smoothing needs only coverage, not the 256 levels and the
    colour fringes of the drawing. A fifth of the size of the RGBA picture (every OFD carries
    the seal twice, in ``Seal.esl`` and in the signature), the same to the eye."""
    top = _ALPHA_LEVELS - 1
    levels = image.getchannel("A").point(lambda a: round(a * top / 255))
    indexed = Image.frombytes("P", image.size, levels.tobytes())
    indexed.putpalette(list(SEAL_RED[:3]) * _ALPHA_LEVELS)
    out = io.BytesIO()
    alphas = bytes(round(level * 255 / top) for level in range(_ALPHA_LEVELS))
    indexed.save(out, "PNG", transparency=alphas, optimize=True)
    return out.getvalue()
