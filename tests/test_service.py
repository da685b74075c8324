"""The web service's API: public verification, holders, issuing bodies, and the edge.

One registry holds two K3 certificates (holders A and B) and a revoked K1 certificate; the
app runs in-process (TestClient) with a clock the tests move; the body limit is also tried
against a real uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import socket
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from PIL import Image

from docgen.clock import parse_at
from docgen.samples import sample_record
from service import ServiceSettings, create_app

from .conftest import AT, Sealed
from .service_world import B_RECORD, K3, SECRET, Clock, registered, served

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@dataclass
class World:
    client: TestClient
    clock: Clock
    registry_url: str
    a: dict[str, Any]
    b: dict[str, Any]
    revoked: str
    api_key: str
    sealed: dict[str, Sealed]
    settings: ServiceSettings
    tmp: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sealed: dict[str, Sealed]) -> Iterator[World]:
    made = registered(tmp_path_factory.mktemp("service"), sealed)
    with TestClient(create_app(made.settings, made.clock)) as client:
        yield World(
            client, made.clock, str(made.settings.db), made.a, made.b, made.revoked,
            made.api_key, sealed, made.settings, made.tmp,
        )  # fmt: skip


def _holder(world: World, record: dict[str, Any]) -> TestClient:
    """A signed-in client of the holder of ``record`` (registering on first use)."""
    client = TestClient(world.client.app)
    client.__enter__()  # the app is already started by the world's client
    client.post(
        "/api/v1/holder/register",
        json={"id_number": record["id_number"], "name": record["name"], "secret": SECRET},
    )
    signed = client.post(
        "/api/v1/holder/login", json={"id_number": record["id_number"], "secret": SECRET}
    )
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    return client


def test_the_openapi_document_lists_every_endpoint(world: World) -> None:
    from service import holders, issuers, public

    documented = world.client.get("/openapi.json").json()["paths"]
    routers = [("/api/v1", public), ("/api/v1/holder", holders), ("/api/v1/issuer", issuers)]
    routes = {
        (prefix + route.path, method.lower())
        for prefix, module in routers
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    listed = {(path, method) for path, ops in documented.items() for method in ops}
    assert routes == listed and len(routes) >= 17
    assert world.client.get("/docs").status_code == 200


def test_status_look_up_masks_the_id_number(world: World) -> None:
    answer = world.client.get(f"/api/v1/certificates/{world.a['number']}/status")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "valid" and body["holder"] == world.a["name"]
    assert world.a["id_number"] not in answer.text and "*" in body["id_number"]
    revoked = world.client.get(f"/api/v1/certificates/{world.revoked}/status").json()
    assert revoked["status"] == "revoked" and revoked["reason"] == "考试作弊"
    assert world.client.get("/api/v1/certificates/NOSUCH1/status").status_code == 404
    assert world.client.get("/api/v1/certificates/%2E%2E%2Fetc/status").status_code in (404, 422)


def test_verify_a_file_and_its_qr_text(world: World) -> None:
    pdf = (world.tmp / "files" / f"{world.a['number']}.pdf").read_bytes()
    report = world.client.post(
        "/api/v1/verify?photo=true", files={"file": ("any.name", pdf)}
    ).json()
    assert report["verdict"] == "authentic" and report["valid"] is True
    assert report["source"] == "upload"
    assert report["registry_status"]["status"] == "valid"
    assert report["registered_photo"].startswith("data:image/jpeg;base64,")
    assert world.a["id_number"] not in str(report)
    text = report["qr_text"][0]
    by_text = world.client.post("/api/v1/verify/qr", json={"text": text}).json()
    assert (
        by_text["verdict"] == "authentic" and by_text["certificate"]["number"] == world.a["number"]
    )
    bad = world.client.post("/api/v1/verify", files={"file": ("x.pdf", tampered_pdf(pdf))})
    assert bad.status_code == 200 and bad.json()["verdict"] == "not_authentic"
    assert "signature" in bad.json()["failed_steps"]


def tampered_pdf(pdf: bytes) -> bytes:
    """``pdf`` with one byte changed inside a content stream the signature covers."""
    at = pdf.index(b"stream", 2000) + 60
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def test_uploads_are_judged_by_content(world: World) -> None:
    fake = world.client.post("/api/v1/verify", files={"file": ("cert.pdf", b"GIF89a....")})
    assert fake.status_code == 415 and fake.json()["error"] == "unsupported_type"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as package:
        package.writestr("hello.txt", "not an OFD")
    not_ofd = world.client.post("/api/v1/verify", files={"file": ("c.ofd", zipped.getvalue())})
    assert not_ofd.status_code == 415


def test_an_image_with_too_many_pixels_is_refused_unread(world: World) -> None:
    image = io.BytesIO()
    Image.new("1", (8000, 6000)).save(image, "PNG")
    refused = world.client.post("/api/v1/verify", files={"file": ("x.png", image.getvalue())})
    assert refused.status_code == 422 and refused.json()["error"] == "too_many_pixels"


def test_an_ofd_zip_bomb_gives_422_unread(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused from the package's directory: nothing is inflated and no verifying process
    is asked (so time and memory are bounded by construction, not by luck)."""
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        with package.open("Doc_0/Res/zeros.bin", "w", force_zip64=True) as entry:
            chunk = bytes(1 << 20)
            for _ in range(1024):  # 1 GiB of zeros, about 1 MB compressed
                entry.write(chunk)
    data = bomb.getvalue()
    assert len(data) < 3 * 1024 * 1024
    pool = world.client.app.state.service.pool

    async def never(*args: Any) -> Any:
        raise AssertionError("the bomb reached a verifying process")

    monkeypatch.setattr(pool, "verify", never)
    answer = world.client.post("/api/v1/verify", files={"file": ("b.ofd", data)})
    assert answer.status_code == 422 and answer.json()["error"] == "unsafe_package"
    assert "refused unread" in answer.json()["message"]


def test_holder_a_cannot_reach_holder_b(world: World) -> None:
    a, b = _holder(world, world.a), _holder(world, world.b)
    mine = a.get("/api/v1/holder/certificates").json()
    assert [c["number"] for c in mine] == [world.a["number"]]
    assert world.a["id_number"] not in str(mine)
    theirs = a.post(
        f"/api/v1/holder/certificates/{world.b['number']}/annotations",
        json={"scenario": "本人调用", "days": 10},
    )
    assert theirs.status_code == 404
    made = b.post(
        f"/api/v1/holder/certificates/{world.b['number']}/annotations",
        json={"scenario": "本人调用", "days": 10},
    )
    assert made.status_code == 201, made.text
    number = made.json()["annotation"]
    assert b.get(f"/api/v1/holder/annotations/{number}/pdf").status_code == 200
    assert a.get(f"/api/v1/holder/annotations/{number}/pdf").status_code == 404
    assert number not in a.get("/api/v1/holder/annotations").text
    anonymous = TestClient(world.client.app)
    assert anonymous.get("/api/v1/holder/certificates").status_code == 401


def test_changes_need_the_csrf_token(world: World) -> None:
    a = _holder(world, world.a)
    del a.headers["X-CSRF-Token"]
    refused = a.post(
        f"/api/v1/holder/certificates/{world.a['number']}/annotations",
        json={"scenario": "本人调用", "days": 10},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "csrf"


def test_a_fourth_annotation_in_90_days_is_409_with_the_date(world: World) -> None:
    a = _holder(world, world.a)
    start = world.clock.at = parse_at("2027-01-05T10:00:00")
    url = f"/api/v1/holder/certificates/{world.a['number']}/annotations"
    numbers = []
    for offset in (0, 10, 20):
        world.clock.at = start + timedelta(days=offset)
        made = a.post(url, json={"scenario": "本人调用", "days": 30})
        assert made.status_code == 201, made.text
        numbers.append(made.json())
    world.clock.at = start + timedelta(days=30)
    fourth = a.post(url, json={"scenario": "本人调用", "days": 30})
    assert fourth.status_code == 409
    assert fourth.json()["error"] == "limit_reached"
    assert fourth.json()["first_possible"] == (start + timedelta(days=90)).date().isoformat()
    # the first copy downloads inside its window, not after it
    first = numbers[0]
    world.clock.at = parse_at(f"{first['valid_to']}T23:00:00")
    assert a.get(first["downloads"]["ofd"]).status_code == 200
    world.clock.at = parse_at(f"{first['valid_to']}T10:00:00") + timedelta(days=1)
    late = a.get(first["downloads"]["ofd"])
    assert late.status_code == 410 and late.json()["error"] == "window_closed"
    world.clock.at = parse_at("2026-12-01T10:00:00")


def test_issuer_api_needs_a_valid_key(world: World) -> None:
    url = f"/api/v1/issuer/certificates/{world.a['number']}/revoke"
    assert world.client.post(url, json={"reason": "x"}).status_code == 401
    wrong = world.api_key[:-4] + "AAAA"
    answer = world.client.post(
        url, json={"reason": "x"}, headers={"Authorization": f"Bearer {wrong}"}
    )
    assert answer.status_code == 401 and answer.json()["error"] == "bad_api_key"
    other = world.client.post(
        f"/api/v1/issuer/certificates/{world.revoked}/revoke",
        json={"reason": "x"},
        headers={"Authorization": f"Bearer {world.api_key}"},
    )
    assert other.status_code == 404, "another body's certificate is not found"
    export = world.client.get(
        "/api/v1/issuer/register", headers={"Authorization": f"Bearer {world.api_key}"}
    )
    assert export.status_code == 200
    assert world.a["number"] in export.text and world.revoked not in export.text


def test_errors_never_show_a_trace_or_a_path(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from service import public

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom in {Path(__file__).resolve()}")

    monkeypatch.setattr(public, "status_of", broken)
    client = TestClient(world.client.app, raise_server_exceptions=False)
    answer = client.get(f"/api/v1/certificates/{world.a['number']}/status")
    assert answer.status_code == 500
    assert "Traceback" not in answer.text and "/" not in answer.json()["message"]
    assert str(Path(__file__).parent) not in answer.text


def test_public_verification_is_rate_limited(tmp_path: Path, world: World) -> None:
    settings = ServiceSettings(**{**world.settings.__dict__, "rate_per_minute": 3})
    with TestClient(create_app(settings, world.clock)) as client:
        url = f"/api/v1/certificates/{world.a['number']}/status"
        assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
        limited = client.get(url)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_a_50_mb_upload_is_refused_before_it_is_read(world: World) -> None:
    with served(world.settings, world.clock) as base:
        port = int(base.rsplit(":", 1)[1])
        size = 50 * 1024 * 1024
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\n"
                + f"Content-Length: {size}\r\n\r\n".encode()
                + b"--x\r\n" + bytes(64 * 1024)
            )  # fmt: skip
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
            reply_text = reply.decode("latin-1")
        assert reply_text.startswith("HTTP/1.1 413"), reply_text[:200]
        assert "too_large" in reply_text


def _bearer(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.api_key}"}


def test_an_issuing_body_submits_a_batch_and_follows_it(world: World, tmp_path: Path) -> None:
    from docgen.batch import write_sample_batch

    results, photos = write_sample_batch(
        K3, 4, tmp_path / "sitting", AT.date(), photos_zip=True, bad=1
    )
    submitted = world.client.post(
        "/api/v1/issuer/batches",
        headers=_bearer(world),
        data={"kind": K3, "at": AT.isoformat()},
        files={
            "results": ("results.csv", results.read_bytes()),
            "photos": ("photos.zip", photos.read_bytes()),
        },
    )
    assert submitted.status_code == 202, submitted.text
    progress_url = submitted.json()["progress"]
    deadline = time.monotonic() + 120
    while True:
        progress = world.client.get(progress_url, headers=_bearer(world)).json()
        if progress["state"] in {"done", "failed"} and not progress.get("running"):
            break
        assert time.monotonic() < deadline, progress
        time.sleep(0.5)
    assert progress["state"] == "done", progress
    assert (progress["issued"], progress["rejected"], progress["void"]) == (3, 1, 0)
    stranger = world.client.get(progress_url, headers={"Authorization": "Bearer dgk_x_y"})
    assert stranger.status_code == 401


def test_an_issuing_body_corrects_and_revokes_its_own_certificate(world: World) -> None:
    number = world.b["number"]
    record = {**sample_record(K3), **B_RECORD, "category": "建筑施工安全"}
    corrected = world.client.post(
        f"/api/v1/issuer/certificates/{number}/correct",
        headers=_bearer(world),
        json={"record": record, "reason": "专业类别更正"},
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["version"] == 2
    bad = world.client.post(
        f"/api/v1/issuer/certificates/{number}/correct",
        headers=_bearer(world),
        json={"record": {**record, "id_number": "320102199207152421"}},
    )
    assert bad.status_code == 422 and "id_number" in bad.json()["message"]
    revoked = world.client.post(
        f"/api/v1/issuer/certificates/{number}/revoke",
        headers=_bearer(world),
        json={"reason": "证书信息错误，已重新发证"},
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    status = world.client.get(f"/api/v1/certificates/{number}/status").json()
    assert status["status"] == "revoked" and status["version"] == 2


def test_a_verification_over_its_time_limit_is_422(world: World) -> None:
    settings = ServiceSettings(**{**world.settings.__dict__, "verify_seconds": 0.01})
    pdf = (world.tmp / "files" / f"{world.a['number']}.pdf").read_bytes()
    with TestClient(create_app(settings, world.clock)) as client:
        slow = client.post("/api/v1/verify", files={"file": ("c.pdf", pdf)})
        assert slow.status_code == 422 and slow.json()["error"] == "not_checked_in_time"
        # the pool was replaced: the next request is checked normally
    relaxed = ServiceSettings(**{**world.settings.__dict__, "verify_seconds": 60})
    with TestClient(create_app(relaxed, world.clock)) as client:
        assert client.post("/api/v1/verify", files={"file": ("c.pdf", pdf)}).status_code == 200


def test_the_access_log_holds_no_personal_data(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServiceSettings(**{**world.settings.__dict__, "access_log": True})
    with (
        caplog.at_level("INFO", logger="docgen.access"),
        TestClient(create_app(settings, world.clock)) as client,
    ):
        client.get(f"/api/v1/certificates/{world.a['number']}/status")
        client.post("/api/v1/holder/login", json={"id_number": world.a["id_number"], "secret": "x"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "docgen.access"]
    assert [line["status"] for line in lines] == [200, 401]
    text = caplog.text
    assert world.a["number"] not in text and world.a["id_number"] not in text
    assert "testclient" not in text and {"method", "route", "status", "ms", "client"} <= set(
        lines[0]
    )


def test_a_verifying_service_needs_no_private_key(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without key stores (and with opening one made to fail), the service verifies files
    and QR texts and answers status look-ups."""
    from docgen.signing.keystore import KeyStore

    def refuse_keys(*args: object, **kwargs: object) -> None:
        raise AssertionError("a private key store was opened")

    monkeypatch.setattr(KeyStore, "open", refuse_keys)
    settings = ServiceSettings(**{**world.settings.__dict__, "keys_dirs": ()})
    pdf = (world.tmp / "files" / f"{world.a['number']}.pdf").read_bytes()
    with TestClient(create_app(settings, world.clock)) as client:
        report = client.post("/api/v1/verify", files={"file": ("a.pdf", pdf)}).json()
        assert report["verdict"] == "authentic" and report["valid"] is True
        by_text = client.post("/api/v1/verify/qr", json={"text": report["qr_text"][0]})
        assert by_text.json()["verdict"] == "authentic"
        status = client.get(f"/api/v1/certificates/{world.a['number']}/status")
        assert status.status_code == 200 and status.json()["status"] == "valid"
