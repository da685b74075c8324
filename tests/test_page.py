"""The verification page in a real headless Chromium (Debian's, driven by Playwright).

A phone-sized window: a JPEG phone photo of our certificate → 真实有效 with the holder's name
and registered photo; a tampered PDF → 无效 naming the failing check; a revoked
certificate's number → its status; and the camera path, fed a video of the certificate
through Chromium's fake capture device → the signed data shows with no upload at all.
Screenshots are kept in ``$DOCGEN_SCREENSHOTS`` (default: the test's temporary folder).
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from .conftest import Sealed, require_tool
from .service_world import registered, served

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


def _page_image(pdf: Path, dpi: int) -> Image.Image:
    out = subprocess.run(
        [require_tool("pdftoppm"), "-r", str(dpi), "-png", "-f", "1", "-l", "1", str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(out)).convert("RGB")


def _phone_photo(pdf: Path) -> bytes:
    """The certificate as a phone would photograph it: a little turned, JPEG."""
    page = _page_image(pdf, 200).rotate(3, expand=True, fillcolor=(235, 232, 225))
    out = io.BytesIO()
    page.save(out, "JPEG", quality=80)
    return out.getvalue()


def _camera_video(pdf: Path, folder: Path) -> Path:
    """A Y4M video (Chromium's fake camera) of the certificate's QR region filling a
    640×480 frame, as a phone held over it would see it."""
    page = _page_image(pdf, 200)
    found = zxingcpp.read_barcodes(page)
    assert found, "the rendered page has a readable QR"
    position = found[0].position
    xs = [
        p.x
        for p in (
            position.top_left,
            position.top_right,
            position.bottom_right,
            position.bottom_left,
        )
    ]
    ys = [
        p.y
        for p in (
            position.top_left,
            position.top_right,
            position.bottom_right,
            position.bottom_left,
        )
    ]
    side = max(max(xs) - min(xs), max(ys) - min(ys))
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    box = (cx - side * 1.2, cy - side * 0.9, cx + side * 1.2, cy + side * 0.9)
    frame = page.crop(tuple(round(v) for v in box)).resize((640, 480), Image.Resampling.LANCZOS)
    y, cb, cr = frame.convert("YCbCr").split()
    planes = y.tobytes() + cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes()
    video = folder / "camera.y4m"
    with video.open("wb") as handle:
        handle.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(20):
            handle.write(b"FRAME\n" + planes)
    return video


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sealed: dict[str, Sealed]) -> Iterator[Any]:
    made = registered(tmp_path_factory.mktemp("page"), sealed)
    with served(made.settings, made.clock) as base:
        yield base, made


@pytest.fixture(scope="module")
def browser(site: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed; `make test` installs it"
    _, made = site
    folder = tmp_path_factory.mktemp("camera")
    video = _camera_video(made.tmp / "files" / f"{made.a['number']}.pdf", folder)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DOCGEN_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _new_page(browser: Any, base: str) -> Any:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    context.grant_permissions(["camera"], origin=base)
    return context.new_page()


def test_a_phone_photo_of_our_certificate_is_authentic(
    site: Any, browser: Any, tmp_path: Path
) -> None:
    base, made = site
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(_phone_photo(made.tmp / "files" / f"{made.a['number']}.pdf"))
    page = _new_page(browser, base)
    page.goto(base + "/")
    assert page.title() == "电子证书核验"
    page.set_input_files("#file", str(photo))
    page.click("#check")
    page.wait_for_selector("#verdict", timeout=60_000)
    page.screenshot(path=str(_shots(tmp_path) / "photo-authentic.png"), full_page=True)
    assert page.inner_text("#verdict h1") == "真实有效"
    assert page.inner_text("#holder") == made.a["name"]
    width = page.eval_on_selector("#photo", "img => img.naturalWidth")
    assert width > 50, "the registered photo is shown"
    assert made.a["id_number"] not in page.content()


def test_a_tampered_pdf_is_invalid_with_the_failing_check_named(
    site: Any, browser: Any, tmp_path: Path
) -> None:
    base, made = site
    pdf = (made.tmp / "files" / f"{made.a['number']}.pdf").read_bytes()
    at = pdf.index(b"stream", 2000) + 60
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :])
    page = _new_page(browser, base)
    page.goto(base + "/")
    page.set_input_files("#file", str(tampered))
    page.click("#check")
    page.wait_for_selector("#verdict", timeout=60_000)
    page.screenshot(path=str(_shots(tmp_path) / "pdf-tampered.png"), full_page=True)
    assert page.inner_text("#verdict h1") == "无效"
    assert "电子签章与签名" in page.inner_text("#verdict .failed")
    failing = page.inner_text("#checks li.fail summary")
    assert "电子签章与签名" in failing


def test_a_revoked_number_shows_its_status(site: Any, browser: Any, tmp_path: Path) -> None:
    base, made = site
    page = _new_page(browser, base)
    page.goto(base + "/")
    page.fill("#number", made.revoked)
    page.click("#check")
    page.wait_for_selector("#status-summary")
    page.screenshot(path=str(_shots(tmp_path) / "number-revoked.png"), full_page=True)
    summary = page.inner_text("#status-summary")
    assert "revoked" in summary and "考试作弊" in summary


def test_the_camera_shows_the_signed_data_without_uploading(
    site: Any, browser: Any, tmp_path: Path
) -> None:
    base, made = site
    page = _new_page(browser, base)
    sent: list[tuple[str, str]] = []
    page.on("request", lambda request: sent.append((request.method, request.url)))
    page.goto(base + "/?lang=zh")
    page.click("#scan")
    page.wait_for_selector("#offline-data", timeout=60_000)
    page.screenshot(path=str(_shots(tmp_path) / "camera-offline.png"), full_page=True)
    assert page.inner_text("#offline-verdict").startswith("二维码签名有效")
    data = page.inner_text("#offline-data")
    assert made.a["name"] in data and made.a["number"] in data
    uploads = [(m, u) for m, u in sent if m != "GET"]
    assert uploads == [], f"the camera path sent {uploads}"
    assert any(u.endswith("/api/v1/trust-list/jwks.json") for _, u in sent)
    # the server check stays one tap away
    assert page.is_visible("#server-check button")
    page.click("#server-check button")
    page.wait_for_selector("#verdict")
    assert page.inner_text("#verdict h1") == "真实有效"


def test_english_switch(site: Any, browser: Any, tmp_path: Path) -> None:
    base, _ = site
    page = _new_page(browser, base)
    page.goto(base + "/?lang=en")
    assert page.title() == "Certificate verification"
    page.goto(base + "/")
    assert page.title() == "Certificate verification", "the choice is remembered"
    page.screenshot(path=str(_shots(tmp_path) / "index-en.png"), full_page=True)
