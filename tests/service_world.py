"""A running service over a registry with two K3 holders and a revoked K1 certificate, for
the API tests (in-process) and the page tests (a real uvicorn server and Chromium)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn

from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import Registry, lifecycle
from docgen.registry.apikeys import create_key
from docgen.samples import sample_record
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record
from service import ServiceSettings, create_app

from .conftest import AT, Sealed

K3 = "safety-engineer"
SECRET = "correct horse battery"
B_RECORD = {"name": "赵敏", "id_number": "320102199207152428", "gender": "女",
            "birth_date": "1992-07-15", "number": "2025035100000000999"}  # fmt: skip


class Clock:
    """The service's clock, moved by the tests."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Registered:
    """What the service's registry holds, and how to reach it."""

    settings: ServiceSettings
    clock: Clock
    a: dict[str, Any]
    b: dict[str, Any]
    revoked: str
    api_key: str
    tmp: Path


def registered(tmp: Path, sealed: dict[str, Sealed]) -> Registered:
    """Issue the certificates into a new registry in ``tmp``; settings to serve it."""
    url = f"sqlite:///{tmp / 'registry.db'}"
    a = sample_record(K3)
    b = {**sample_record(K3), **B_RECORD}
    k1 = sample_record("rescuer")
    with Registry.open(url) as registry:
        certs = [validate_record(load_kind(K3), r, AT) for r in (a, b)]
        lifecycle.issue(
            registry, certs, tmp / "files", Sealer(sealed[K3].store), operator="t", at=AT
        )
        rescuer = validate_record(load_kind("rescuer"), k1, AT)
        lifecycle.issue(
            registry, [rescuer], tmp / "files", Sealer(sealed["rescuer"].store), operator="t", at=AT
        )
        lifecycle.revoke(registry, rescuer.number, reason="考试作弊", operator="t", at=AT)
        key = create_key(registry, a["issuer_code"], "test", at=AT)
    settings = ServiceSettings(
        db=url,
        trust_files=(
            sealed[K3].store.folder / "trust.json",
            sealed["rescuer"].store.folder / "trust.json",
        ),
        keys_dirs=(sealed[K3].store.folder, sealed["rescuer"].store.folder),
        copies_dir=tmp / "copies",
        batches_dir=tmp / "batches",
        access_log=False,
        rate_per_minute=10_000,
        sign_in_per_minute=10_000,
    )
    clock = Clock(parse_at("2026-12-01T10:00:00"))
    return Registered(settings, clock, a, b, rescuer.number, key, tmp)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(settings: ServiceSettings, clock: Clock) -> Iterator[str]:
    """A real uvicorn server of the app on 127.0.0.1 (a free port); yields its base URL and
    stops it afterwards."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            server_header=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
