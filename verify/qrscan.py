"""Find and decode QR codes in scans and photos.

zxing-cpp first (it reads more real-world photos, and faster), pyzbar second; each image is
tried as it is and then through preprocessing steps until something decodes: grayscale,
the red channel (a red seal over the code vanishes in it), contrast stretch, a local-mean
threshold, an upscaled copy (small modules), a sharpened copy. Only QR codes are looked for:
with every format enabled, zxing-cpp "finds" 1-D barcodes in printed text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import zxingcpp
from PIL import Image, ImageChops, ImageFilter

__all__ = [
    "DECODERS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "SCAN_SECONDS",
    "STEPS",
    "ScanResult",
    "decoded_bytes",
    "scan_image",
    "scan_pictures",
    "size_problem",
]

#: The largest picture read for a QR code (a 300 dpi A3 scan is 17 megapixels); a larger
#: one would take more memory than a verification may (a PNG of a few kB can declare 400).
MAX_IMAGE_PIXELS = 40_000_000
#: The most memory a decoded picture may take. Pillow holds a colour pixel in 4 bytes (a
#: 40-megapixel RGB picture is 160 MB, and with the copies the steps make it passed the
#: 300 MB a verification may take): colour pictures are read up to 25 megapixels (a 24 MP
#: camera's photo, a 300 dpi A3 scan), gray ones up to MAX_IMAGE_PIXELS.
MAX_IMAGE_BYTES = 100_000_000

_ZXING_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# Only very large photos are scaled down first (zxing-cpp also tries smaller scales itself,
# faster than any resize here): a 300-dpi A4 page rotated 45° is ≈ 4200 px and decodes in
# ≈ 0.1 s as it is, while resizing it first cost 0.3-0.7 s (bench/scan.py).
_MAX_SIDE = 6000
_REDUCIBLE = ("L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F")  # modes Image.reduce takes
#: Time spent trying steps on one picture (or on all of an OFD's): no further step is begun
#: after it. bench/scan.py's scans and photos are read in 5-80 ms (p95), at the first or
#: second step; the twelve attempts on a large picture without a QR took up to 2 s under load.
SCAN_SECONDS = 0.5


def decoded_bytes(image: Image.Image) -> int:
    """The memory ``image`` takes decoded (it need not be decoded yet): Pillow's 1, 2 or 4
    bytes a pixel."""
    mode = image.mode
    size = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    return image.width * image.height * size


def size_problem(image: Image.Image) -> str | None:
    """Why a picture opened (its header read, not yet decoded) is too large to read for a
    QR code, or None."""
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        return (
            f"the image is {width}×{height} px: too large to read (at most "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
        )
    if decoded_bytes(image) > MAX_IMAGE_BYTES:
        return (
            f"the image is {width}×{height} px of {image.mode}: "
            f"{decoded_bytes(image) // 1_000_000} MB decoded, too large to read (at most "
            f"{MAX_IMAGE_BYTES // 1_000_000} MB)"
        )
    return None


def _gray(image: Image.Image) -> Image.Image:
    return image.convert("L")


def _red(image: Image.Image) -> Image.Image | None:
    if "R" in image.getbands():
        return image.getchannel("R")  # no RGB copy of the whole picture
    if image.mode not in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
        return None  # no colour: the same as gray
    return image.convert("RGB").getchannel("R")


def _contrast(image: Image.Image) -> Image.Image:
    from PIL import ImageOps  # at first use, as pyzbar: most codes are read before either

    return ImageOps.autocontrast(image.convert("L"), cutoff=2)


def _threshold(image: Image.Image) -> Image.Image:
    gray = image.convert("L")
    local = gray.filter(ImageFilter.BoxBlur(max(8, min(gray.size) // 40)))
    # dark where the pixel is darker than its neighbourhood (minus a margin)
    diff = ImageChops.subtract(local, gray, scale=1.0, offset=0)
    del gray, local  # a large picture's copies are not all held at once
    return diff.point(lambda v: 0 if v > 12 else 255)


def _upscale(image: Image.Image) -> Image.Image | None:
    if image.width * image.height * 4 > MAX_IMAGE_PIXELS:
        return None  # modules too small to read are found in small pictures only
    gray = image.convert("L")
    return gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.LANCZOS)


def _sharpen(image: Image.Image) -> Image.Image:
    return image.convert("L").filter(ImageFilter.UnsharpMask(radius=3, percent=200, threshold=2))


#: Preprocessing steps, in the order they are tried; a step that does not apply to a
#: picture (no colour to take the red of, too large to upscale) gives None.
STEPS: tuple[tuple[str, Callable[[Image.Image], Image.Image | None]], ...] = (
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
    from pyzbar import pyzbar  # at first use: it looks for libzbar with ldconfig (8 ms)

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


def scan_image(image: Image.Image, seconds: float | None = None) -> ScanResult:
    """Every distinct QR text in ``image`` from the first decoder and step that reads one;
    no step is begun after ``seconds`` (None: :data:`SCAN_SECONDS`)."""
    start = time.perf_counter()
    budget = SCAN_SECONDS if seconds is None else seconds
    if max(image.size) > _MAX_SIDE:  # by a whole factor: one new picture, a fraction as large
        if image.mode not in _REDUCIBLE:  # a palette, 1-bit or 16-bit picture: gray first
            image = image.convert("L")
        image = image.reduce(-(-max(image.size) // _MAX_SIDE))
    attempts = 0
    for decoder, decode in DECODERS:
        for step, prepare in STEPS:
            if time.perf_counter() - start > budget:
                break
            prepared = prepare(image)
            if prepared is None:
                continue
            attempts += 1
            texts = decode(prepared)
            del prepared
            if texts:
                unique = tuple(dict.fromkeys(texts))
                elapsed = (time.perf_counter() - start) * 1000
                return ScanResult(unique, decoder, step, attempts, elapsed)
    return ScanResult((), None, None, attempts, (time.perf_counter() - start) * 1000)


#: No QR code is smaller than 21 modules a side.
_QR_SIDE = 21


def scan_pictures(pictures: Iterable[Image.Image], *, every: bool = False) -> ScanResult | None:
    """The QR texts of the first of a document's ``pictures`` that holds one (``every``: of
    all that do, in order): pictures of two to four colours (what a QR is) are tried before
    the others, which every step fails on slowly, and all within :data:`SCAN_SECONDS`. None
    when no picture is large enough to hold a QR code."""
    candidates = [p for p in pictures if min(p.size) >= _QR_SIDE]
    candidates.sort(key=lambda p: p.getcolors(4) is None)  # stable: else as given
    found: list[ScanResult] = []
    tried: ScanResult | None = None
    until = time.monotonic() + SCAN_SECONDS
    for picture in candidates:
        result = scan_image(picture, max(until - time.monotonic(), 0.0))
        tried = tried or result
        if result.found:
            found.append(result)
            if not every:
                break
    if not found:
        return tried
    texts = tuple(dict.fromkeys(t for result in found for t in result.texts))
    first = found[0]
    return ScanResult(
        texts,
        first.decoder,
        first.step,
        sum(r.attempts for r in found),
        sum(r.milliseconds for r in found),
    )
