"""Holder photos: load from a path or data URI, check they are real images, normalise."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["MIN_PHOTO_PIXELS", "Photo", "load_photo"]

#: Smallest acceptable photo, width × height in pixels (a 1-inch photo at ~100 dpi).
MIN_PHOTO_PIXELS = (90, 120)
_ACCEPTED_FORMATS = {"JPEG", "PNG"}
_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg);base64,(.*)$", re.S)
_JPEG_QUALITY = 90
# JPEG markers (ITU-T T.81, table B.1): start of frame (all but DHT 0xC4, JPG 0xC8, DAC
# 0xCC), baseline DCT among them, start of scan.
_FRAME_MARKERS = frozenset(range(0xFFC0, 0xFFD0)) - {0xFFC4, 0xFFC8, 0xFFCC}
_BASELINE = 0xFFC0
_START_OF_SCAN = 0xFFDA
# What Pillow reports of a JPEG that load_photo would change: metadata, progressive scans.
_NOT_NORMAL = frozenset({"comment", "progressive", "progression", "adobe", "exif", "icc_profile"})


@dataclass(frozen=True)
class Photo:
    """A normalised photo: baseline RGB JPEG without metadata, upright."""

    jpeg: bytes
    width: int
    height: int


def _read(value: str, base_dir: Path | None) -> bytes:
    match = _DATA_URI.match(value.strip())
    if match:
        try:
            return base64.b64decode(match.group(2), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"data URI is not valid base64 ({exc})") from exc
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read photo file {value!r} ({exc.strerror})") from exc


def _normal_already(image: Image.Image, raw: bytes) -> bool:
    """Whether ``raw`` is already what :func:`load_photo` makes: a baseline JPEG of three
    components (YCbCr), with no application segment but JFIF's, no comment, and nothing after
    its end marker. Such a photo is kept byte for byte (faster, and no second compression)."""
    segments = getattr(image, "applist", [])
    return (
        image.format == "JPEG"
        and image.mode == "RGB"
        and getattr(image, "layers", 0) == 3
        and all(marker == "APP0" and data.startswith(b"JFIF\0") for marker, data in segments)
        and not _NOT_NORMAL.intersection(image.info)
        and raw.endswith(b"\xff\xd9")
        and _frame_marker(raw) == _BASELINE
    )


def _frame_marker(raw: bytes) -> int | None:
    """The JPEG's start-of-frame marker (0xFFC0 baseline, others extended, progressive,
    lossless or arithmetic-coded), read from the segments before the first scan."""
    at = 2  # after SOI
    while at + 4 <= len(raw) and raw[at] == 0xFF:
        marker, length = int.from_bytes(raw[at : at + 2]), int.from_bytes(raw[at + 2 : at + 4])
        if marker in _FRAME_MARKERS:
            return marker
        if marker == _START_OF_SCAN:
            return None
        at += 2 + length
    return None


def _check_size(image: Image.Image) -> None:
    min_w, min_h = MIN_PHOTO_PIXELS
    if image.width < min_w or image.height < min_h:
        raise ValueError(
            f"is {image.width}×{image.height} px; at least {min_w}×{min_h} px is needed"
        )


def load_photo(value: object, base_dir: Path | None = None) -> Photo:
    """Load and check a photo given as a file path (relative to ``base_dir``), a data URI, or
    the file's bytes; a :class:`Photo` already loaded is returned as it is.

    Returns the photo re-encoded as a plain RGB JPEG, EXIF orientation applied.

    Raises:
        ValueError: not a string, unreadable, not a JPEG/PNG image, or too small.
    """
    if isinstance(value, Photo):
        return value
    if isinstance(value, bytes):
        raw = value
    elif not isinstance(value, str) or not value.strip():
        raise ValueError("must be a file path or a data:image/...;base64 URI")
    else:
        raw = _read(value, base_dir)
    try:
        opened = Image.open(io.BytesIO(raw))
        if opened.format not in _ACCEPTED_FORMATS:
            raise ValueError(f"must be JPEG or PNG, got {opened.format}")
        if _normal_already(opened, raw):  # no EXIF (so upright), RGB, baseline: kept as is
            _check_size(opened)
            width, height = opened.size
            # Read whole to prove it is, but at an eighth of the size: the decoder still
            # reads every coded block (a damaged or cut one fails), and skips most of the
            # inverse transforms and colour conversion (0.25 -> 0.15 ms a photo).
            opened.draft("RGB", (width // 8, height // 8))
            opened.load()
            return Photo(jpeg=raw, width=width, height=height)
        if opened.format == "PNG":
            with Image.open(io.BytesIO(raw)) as probe:
                probe.verify()  # every chunk's CRC, which loading does not check
            opened = Image.open(io.BytesIO(raw))
        opened.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"is not a readable image ({exc})") from exc
    image: Image.Image = ImageOps.exif_transpose(opened)
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    else:
        image = image.convert("RGB")
    _check_size(image)
    out = io.BytesIO()
    image.info.clear()  # Pillow would otherwise write the source's comment again
    image.save(out, "JPEG", quality=_JPEG_QUALITY, optimize=False, progressive=False)
    return Photo(jpeg=out.getvalue(), width=image.width, height=image.height)
