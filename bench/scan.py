"""QR reading from scans and photos: how often, and how fast, the printed code is read.

Issues one sealed certificate of every kind in-process (throw-away development key stores),
renders every PDF page that carries a QR code at 300 dpi with poppler's ``pdftoppm``, and
takes the text zxing-cpp reads from each clean page as the ground truth. Each page is then
degraded the way scans and phone photos are (rotation, keystone, blur, JPEG, low contrast,
uneven light, a phone-sized re-encode, a red seal over part of the code) and read by the
verifier's scanner (``verify.qrscan.scan_image``) and by bare zxing-cpp and bare pyzbar.

Prints JSON, no pass/fail: per condition the number of images, and per reader the share
read correctly with the median and p95 milliseconds of the read call alone (the grayscale
conversion a bare decoder needs is inside its timing; image synthesis is not), plus which
verifier decoder/step read them; then a summary. Each condition cycles ``--n`` images over
the clean pages; random parameters come from a fixed ``--seed``.

    .venv/bin/python bench/scan.py --n 24 [--seed 1]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from pyzbar import pyzbar

from docgen.clock import parse_at
from docgen.issuing import Rendered, render
from docgen.kinds import KIND_NAMES, load_kind
from docgen.samples import sample_record
from docgen.signing.keystore import IssuerIdentity, KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record
from verify.qrscan import scan_image

AT = parse_at("2026-11-20T10:00:00")
KEYS_AT = parse_at("2024-01-01T00:00:00")
DPI = 300
MM_PER_INCH = 25.4
A4_WIDTH_MM = 210.0
QR_PREFIX = "EC1:"
QR_ITEM_ID = "qr"
WHITE = (255, 255, 255)

ROTATIONS_DEG = (5, 15, 45, 90)
KEYSTONE_SHIFT = (0.03, 0.08)  # each corner moves inward by this share of the page size
BLUR_RADIUS_PX = 1.5
JPEG_LOW_QUALITY = 30
LOW_CONTRAST_RANGE = (90, 170)  # black prints as 90, white as 170
LIGHT_FLOOR = 0.45  # the dark end of the lighting gradient multiplies by this
LIGHT_GRID_PX = 64  # the gradient is computed on this grid and scaled up
LIGHT_DIRECTIONS_DEG = (0, 45, 135, 180, 225, 315)  # horizontal or diagonal fall-off
PHONE_WIDTH_PX = (1200, 2000)
PHONE_JPEG_QUALITY = 80
SEAL_RGB = (214, 24, 31)  # seal ink multiplies with what is printed under it
SEAL_CENTRE = (0.75, 0.75)  # share of the QR box: middle of the lower-right quadrant
SEAL_COVERAGES = (0.10, 0.20)  # disc area as a share of the QR area
P95 = 0.95
READERS = ("verifier", "zxing-cpp", "pyzbar")
EXCLUDED = "red_seal_20"


@dataclass(frozen=True)
class Page:
    """A clean 300-dpi page with a QR code, where the code is and what it says."""

    label: str
    image: Image.Image
    qr_box: tuple[float, float, float, float]  # x, y, w, h in pixels
    a4: bool
    expected: str


@dataclass
class Tally:
    """Outcomes of one reader under one condition."""

    ok: list[bool] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)


Condition = Callable[[Page, random.Random], Image.Image]


# --- certificates and clean pages -------------------------------------------------------


def mm_to_px(mm: float) -> float:
    return mm * DPI / MM_PER_INCH


def sealed_render(kind: str, keys: Path) -> Rendered:
    """The sealed rendering (layout and PDF) of the sample record of ``kind``."""
    spec = load_kind(kind)
    cert = validate_record(spec, sample_record(kind), AT)
    identity = IssuerIdentity(
        str(cert.values[spec.issuer_field]), str(cert.values["issuer_code"]), spec.seal_title
    )
    store = KeyStore.init(keys / kind, identity, KEYS_AT)
    return render(cert, Sealer(store))


def rasterise(pdf: Path, page_number: int) -> Image.Image:
    """Page ``page_number`` (1-based) of ``pdf`` as an RGB image at :data:`DPI`."""
    stem = pdf.with_name(f"{pdf.stem}-p{page_number}")
    command = ["pdftoppm", "-r", str(DPI), "-png", "-f", str(page_number), "-l", str(page_number)]
    subprocess.run([*command, "-singlefile", str(pdf), str(stem)], check=True)
    with Image.open(stem.with_suffix(".png")) as image:
        return image.convert("RGB")


def ground_truth(image: Image.Image, label: str) -> str:
    """The one QR text zxing-cpp reads on a clean page."""
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    texts = {r.text for r in found if r.valid}
    if len(texts) != 1 or not next(iter(texts)).startswith(QR_PREFIX):
        raise SystemExit(f"{label}: clean page does not read as one {QR_PREFIX} code: {texts}")
    return texts.pop()


def clean_pages(folder: Path) -> list[Page]:
    """Every page of every kind's sealed certificate that shows a QR code."""
    pages: list[Page] = []
    for kind in KIND_NAMES:
        rendered = sealed_render(kind, folder / "keys")
        pdf = folder / f"{kind}.pdf"
        pdf.write_bytes(rendered.pdf)
        for index, layout in enumerate(rendered.layout.pages):
            items = layout.find(QR_ITEM_ID)
            if not items:
                continue
            box = items[0].box
            label = f"{kind} p{index + 1}"
            image = rasterise(pdf, index + 1)
            qr_box = (mm_to_px(box.x), mm_to_px(box.y), mm_to_px(box.w), mm_to_px(box.h))
            a4 = math.isclose(layout.width, A4_WIDTH_MM)
            pages.append(Page(label, image, qr_box, a4, ground_truth(image, label)))
    return pages


# --- degradations -----------------------------------------------------------------------


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def rotated(degrees: float) -> Condition:
    def apply(page: Page, rng: random.Random) -> Image.Image:
        angle = degrees * rng.choice((-1, 1))
        return page.image.rotate(
            angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE
        )

    return apply


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Solve a small dense linear system by Gaussian elimination with partial pivoting."""
    size = len(rhs)
    rows = [[*row, value] for row, value in zip(matrix, rhs, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(col + 1, size):
            factor = rows[r][col] / rows[col][col]
            rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    solution = [0.0] * size
    for r in reversed(range(size)):
        known = sum(rows[r][c] * solution[c] for c in range(r + 1, size))
        solution[r] = (rows[r][size] - known) / rows[r][r]
    return solution


def perspective_coefficients(
    output: list[tuple[float, float]], source: list[tuple[float, float]]
) -> list[float]:
    """PIL PERSPECTIVE data mapping each ``output`` corner back to its ``source`` corner."""
    matrix: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(output, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -x * u, -y * u])
        matrix.append([0, 0, 0, x, y, 1, -x * v, -y * v])
        rhs += [u, v]
    return solve(matrix, rhs)


def perspective(page: Page, rng: random.Random) -> Image.Image:
    width, height = page.image.size

    def inward() -> tuple[float, float]:
        return rng.uniform(*KEYSTONE_SHIFT) * width, rng.uniform(*KEYSTONE_SHIFT) * height

    (ax, ay), (bx, by), (cx, cy), (dx, dy) = inward(), inward(), inward(), inward()
    output = [(ax, ay), (width - bx, by), (width - cx, height - cy), (dx, height - dy)]
    source = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]
    return page.image.transform(
        page.image.size,
        Image.Transform.PERSPECTIVE,
        perspective_coefficients(output, source),
        resample=Image.Resampling.BICUBIC,
        fillcolor=WHITE,
    )


def blur(page: Page, rng: random.Random) -> Image.Image:
    return page.image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS_PX))


def jpeg_low(page: Page, rng: random.Random) -> Image.Image:
    return jpeg(page.image, JPEG_LOW_QUALITY)


def low_contrast(page: Page, rng: random.Random) -> Image.Image:
    low, high = LOW_CONTRAST_RANGE
    table = [round(low + v * (high - low) / 255) for v in range(256)]
    return page.image.point(table * len(page.image.getbands()))


def light_gradient(size: tuple[int, int], degrees: float) -> Image.Image:
    """Multiplier image (255 = 1.0) falling linearly to :data:`LIGHT_FLOOR` along ``degrees``."""
    ux, uy = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    corners = [ux * x + uy * y for x in (0, 1) for y in (0, 1)]
    lo, hi = min(corners), max(corners)
    grid = Image.new("L", (LIGHT_GRID_PX, LIGHT_GRID_PX))
    last = LIGHT_GRID_PX - 1
    values = []
    for y in range(LIGHT_GRID_PX):
        for x in range(LIGHT_GRID_PX):
            t = (ux * x / last + uy * y / last - lo) / (hi - lo)
            values.append(round(255 * (1 - (1 - LIGHT_FLOOR) * t)))
    grid.putdata(values)
    return grid.resize(size, Image.Resampling.BILINEAR)


def uneven_light(page: Page, rng: random.Random) -> Image.Image:
    gradient = light_gradient(page.image.size, rng.choice(LIGHT_DIRECTIONS_DEG))
    return ImageChops.multiply(page.image, gradient.convert(page.image.mode))


def phone(page: Page, rng: random.Random) -> Image.Image:
    """Resized to a phone photo's width (a card fills the frame, so it grows) and JPEG'd."""
    width = rng.randint(*PHONE_WIDTH_PX)
    height = round(page.image.height * width / page.image.width)
    resized = page.image.resize((width, height), Image.Resampling.LANCZOS)
    return jpeg(resized, PHONE_JPEG_QUALITY)


def red_seal(coverage: float) -> Condition:
    def apply(page: Page, rng: random.Random) -> Image.Image:
        x, y, w, h = page.qr_box
        radius = math.sqrt(coverage * w * h / math.pi)
        cx, cy = x + SEAL_CENTRE[0] * w, y + SEAL_CENTRE[1] * h
        image = page.image.convert("RGB")
        ink = Image.new("RGB", image.size, "white")
        ImageDraw.Draw(ink).ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius), fill=SEAL_RGB
        )
        # Ink darkens: black modules stay black, white ones turn red (grey ≈ 81 in luma),
        # which is what defeats grayscale decoding and what the red channel undoes.
        return ImageChops.multiply(image, ink)

    return apply


CONDITIONS: dict[str, Condition] = {
    "clean": lambda page, rng: page.image,
    **{f"rotate_{d}": rotated(d) for d in ROTATIONS_DEG},
    "perspective": perspective,
    "blur": blur,
    f"jpeg{JPEG_LOW_QUALITY}": jpeg_low,
    "low_contrast": low_contrast,
    "uneven_light": uneven_light,
    "phone": phone,
    **{f"red_seal_{round(c * 100)}": red_seal(c) for c in SEAL_COVERAGES},
}


# --- readers ----------------------------------------------------------------------------


def timed_ms(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def read_zxing(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in found]


def read_zbar(image: Image.Image) -> list[str]:
    found = pyzbar.decode(image.convert("L"), symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [s.data.decode("utf-8", "replace") for s in found]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(P95 * (len(ordered) - 1)))]


def figures(tally: Tally) -> dict[str, float]:
    return {
        "rate": round(sum(tally.ok) / len(tally.ok), 3),
        "median_ms": round(statistics.median(tally.ms), 1),
        "p95_ms": round(p95(tally.ms), 1),
    }


def run_condition(
    name: str, condition: Condition, pages: list[Page], n: int, seed: int
) -> tuple[dict[str, Any], Tally, list[float]]:
    """Figures for one condition, the verifier's tally, and its times on clean A4 pages."""
    rng = random.Random(f"{seed}/{name}")
    tallies = {reader: Tally() for reader in READERS}
    steps: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    a4_ms: list[float] = []
    for i in range(n):
        page = pages[i % len(pages)]
        image = condition(page, rng)
        scan, ms = timed_ms(lambda image=image: scan_image(image))
        ok = page.expected in scan.texts
        tallies["verifier"].ok.append(ok)
        tallies["verifier"].ms.append(ms)
        if ok:
            steps[f"{scan.decoder}/{scan.step}"] += 1
        else:
            failures[page.label] += 1
        if page.a4:
            a4_ms.append(ms)
        for reader, read in (("zxing-cpp", read_zxing), ("pyzbar", read_zbar)):
            texts, ms = timed_ms(lambda image=image, read=read: read(image))
            tallies[reader].ok.append(page.expected in texts)
            tallies[reader].ms.append(ms)
    row: dict[str, Any] = {"n": n}
    for reader in READERS:
        row[reader] = figures(tallies[reader])
    row["verifier"]["steps"] = dict(steps.most_common())
    row["verifier"]["failures_by_page"] = dict(failures.most_common())
    return row, tallies["verifier"], a4_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=24, help="images per condition")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random parameters")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    start = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    try:
        pages = clean_pages(folder)
    finally:
        shutil.rmtree(folder)
    setup_seconds = time.perf_counter() - start
    report: dict[str, Any] = {
        "seed": args.seed,
        "pages": [p.label for p in pages],
        "conditions": {},
    }
    kept = Tally()
    clean_a4_ms: list[float] = []
    for name, condition in CONDITIONS.items():
        row, verifier, a4_ms = run_condition(name, condition, pages, args.n, args.seed)
        report["conditions"][name] = row
        if name != EXCLUDED:
            kept.ok += verifier.ok
        if name == "clean":
            clean_a4_ms = a4_ms
    report["summary"] = {
        f"verifier_rate_excluding_{EXCLUDED}": round(sum(kept.ok) / len(kept.ok), 3),
        "verifier_median_ms_clean_a4_300dpi": (
            round(statistics.median(clean_a4_ms), 1) if clean_a4_ms else None
        ),
        "images": args.n * len(CONDITIONS),
        "setup_seconds": round(setup_seconds, 1),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
