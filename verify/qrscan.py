"""Find and decode QR codes in scans and photos.

zxing-cpp first (it reads more real-world photos, and faster), pyzbar second; each image is
tried as it is and then through preprocessing steps until something decodes: grayscale,
the red channel (a red seal over the code vanishes in it), contrast stretch, a local-mean
threshold, an upscaled copy (small modules), a sharpened copy. Only QR codes are looked for:
with every format enabled, zxing-cpp "finds" 1-D barcodes in printed text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import zxingcpp
from PIL import Image, ImageChops, ImageFilter, ImageOps
from pyzbar import pyzbar

__all__ = ["DECODERS", "MAX_IMAGE_PIXELS", "STEPS", "ScanResult", "scan_image"]

#: The largest picture read for a QR code (a 300 dpi A3 scan is 17 megapixels); a larger
#: one would take more memory than a verification may (a PNG of a few kB can declare 400).
MAX_IMAGE_PIXELS = 40_000_000

_ZXING_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# Only very large photos are scaled down first (zxing-cpp also tries smaller scales itself,
# faster than any resize here): a 300-dpi A4 page rotated 45° is ≈ 4200 px and decodes in
# ≈ 0.1 s as it is, while resizing it first cost 0.3-0.7 s (bench/scan.py).
_MAX_SIDE = 6000


def _gray(image: Image.Image) -> Image.Image:
    return image.convert("L")


def _red(image: Image.Image) -> Image.Image:
    return image.convert("RGB").getchannel("R")


def _contrast(image: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(image.convert("L"), cutoff=2)


def _threshold(image: Image.Image) -> Image.Image:
    gray = image.convert("L")
    local = gray.filter(ImageFilter.BoxBlur(max(8, min(gray.size) // 40)))
    # dark where the pixel is darker than its neighbourhood (minus a margin)
    diff = ImageChops.subtract(local, gray, scale=1.0, offset=0)
    return diff.point(lambda v: 0 if v > 12 else 255)


def _upscale(image: Image.Image) -> Image.Image:
    gray = image.convert("L")
    return gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.LANCZOS)


def _sharpen(image: Image.Image) -> Image.Image:
    return image.convert("L").filter(ImageFilter.UnsharpMask(radius=3, percent=200, threshold=2))


#: Preprocessing steps, in the order they are tried.
STEPS: tuple[tuple[str, Callable[[Image.Image], Image.Image]], ...] = (
    ("gray", _gray),
    ("red", _red),
    ("contrast", _contrast),
    ("threshold", _threshold),
    ("upscale", _upscale),
    ("sharpen", _sharpen),
)


def _zxing(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, formats=_ZXING_QR) if r.valid]


def _zbar(image: Image.Image) -> list[str]:
    found = pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [s.data.decode("utf-8", "replace") for s in found]


#: The decoders, in the order they are tried.
DECODERS: tuple[tuple[str, Callable[[Image.Image], list[str]]], ...] = (
    ("zxing-cpp", _zxing),
    ("pyzbar", _zbar),
)


@dataclass(frozen=True)
class ScanResult:
    """QR texts found in an image, and how."""

    texts: tuple[str, ...]
    decoder: str | None  # which decoder read them
    step: str | None  # which preprocessing step made them readable
    attempts: int
    milliseconds: float

    @property
    def found(self) -> bool:
        """Whether any QR code was read."""
        return bool(self.texts)


def scan_image(image: Image.Image) -> ScanResult:
    """Every distinct QR text in ``image`` from the first decoder and step that reads one."""
    start = time.perf_counter()
    if max(image.size) > _MAX_SIDE:
        image = image.copy()
        image.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    attempts = 0
    for decoder, decode in DECODERS:
        for step, prepare in STEPS:
            attempts += 1
            texts = decode(prepare(image))
            if texts:
                unique = tuple(dict.fromkeys(texts))
                elapsed = (time.perf_counter() - start) * 1000
                return ScanResult(unique, decoder, step, attempts, elapsed)
    return ScanResult((), None, None, attempts, (time.perf_counter() - start) * 1000)
