"""Sample records: each kind's ``[sample]`` table plus a generated ID-style photo."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image, ImageDraw

from .kinds import load_kind

__all__ = ["sample_photo_png", "sample_record"]

_PHOTO_SIZE = (300, 420)  # 1-inch photo proportions, ≈ 300 dpi


def sample_photo_png() -> bytes:
    """A synthetic head-and-shoulders photo on a blue background (no real person)."""
    w, h = _PHOTO_SIZE
    image = Image.new("RGB", (w, h), (67, 142, 219))
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 300, 270, 560), fill=(38, 44, 58))  # shoulders
    draw.polygon([(150, 330), (122, 300), (178, 300)], fill=(245, 245, 245))  # collar
    draw.rectangle((128, 240, 172, 305), fill=(236, 200, 170))  # neck
    draw.ellipse((88, 90, 212, 260), fill=(240, 205, 176))  # face
    draw.chord((82, 70, 218, 190), 180, 360, fill=(30, 30, 30))  # hair
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def sample_record(kind: str) -> dict[str, Any]:
    """A valid record of ``kind``, photo embedded as a data URI.

    Raises:
        ConfigurationError: unknown kind.
    """
    spec = load_kind(kind)
    record: dict[str, Any] = {"kind": spec.name, **spec.sample}
    record["photo"] = "data:image/png;base64," + base64.b64encode(sample_photo_png()).decode()
    return record
