"""Holder photos: a clean baseline JPEG is kept as it is; anything else is made one."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from docgen.photo import load_photo


def _jpeg(size: tuple[int, int] = (120, 160), **save: object) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    for x in range(0, 120, 8):
        image.paste((20, 40, 200), (x, 0, x + 4, 160))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "CameraMaker"
    return exif


def test_a_clean_baseline_jpeg_is_kept_byte_for_byte() -> None:
    raw = _jpeg()
    photo = load_photo(raw)
    assert photo.jpeg == raw
    assert (photo.width, photo.height) == (120, 160)


def test_a_clean_jpeg_too_small_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 90×120"):
        load_photo(_jpeg((60, 80)))


@pytest.mark.parametrize(
    "raw, what",
    [
        (_jpeg(exif=_exif(1)), "EXIF"),
        (_jpeg(progressive=True), "progressive"),
        (_jpeg(comment=b"secret note"), "comment"),
        (_jpeg() + b"appended payload", "bytes after the end marker"),
        (_jpeg(icc_profile=b"\0" * 200), "ICC profile"),
    ],
    ids=["exif", "progressive", "comment", "trailing", "icc"],
)
def test_metadata_and_progressive_scans_are_removed(raw: bytes, what: str) -> None:
    photo = load_photo(raw)
    assert photo.jpeg != raw, what
    again = Image.open(io.BytesIO(photo.jpeg))
    assert [marker for marker, _ in again.applist] in ([], ["APP0"]), what  # type: ignore[attr-defined]
    assert not {"exif", "comment", "progressive", "progression", "icc_profile"} & set(again.info)
    assert b"CameraMaker" not in photo.jpeg and b"secret note" not in photo.jpeg
    assert b"appended payload" not in photo.jpeg
    assert load_photo(photo.jpeg).jpeg == photo.jpeg  # what it makes is kept from then on


def test_a_frame_other_than_baseline_is_made_baseline() -> None:
    """An extended-sequential frame (SOF1) decodes the same, but not every PDF reader takes
    it: only baseline (SOF0) is kept as it is."""
    raw = _jpeg()
    extended = raw.replace(b"\xff\xc0", b"\xff\xc1", 1)
    assert Image.open(io.BytesIO(extended)).size == (120, 160)
    photo = load_photo(extended)
    assert photo.jpeg != extended
    assert b"\xff\xc0" in photo.jpeg and b"\xff\xc1" not in photo.jpeg


def test_exif_orientation_is_applied_before_the_metadata_goes() -> None:
    photo = load_photo(_jpeg(exif=_exif(6)))  # rotated 90°: stored landscape
    assert (photo.width, photo.height) == (160, 120)
