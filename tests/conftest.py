"""Shared fixtures: every kind's sample record issued once per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from docgen.clock import parse_at
from docgen.issuing import Rendered, render
from docgen.kinds import KIND_NAMES, load_kind
from docgen.samples import sample_record
from docgen.validation import validate_record

#: ../shared beside the checkout (README.md of the project), or DOCGEN_SHARED.
SHARED = Path(os.environ.get("DOCGEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SCHEMAS = SHARED / "schemas" / "ofd"
AT = parse_at("2026-11-20T10:00:00+08:00")


@pytest.fixture(autouse=True)
def _registry_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own default registry, never the working folder's."""
    monkeypatch.setenv("DOCGEN_DB", f"sqlite:///{tmp_path / 'default-registry.db'}")
    monkeypatch.delenv("DOCGEN_REGISTRY_KEY_FILE", raising=False)


@dataclass(frozen=True)
class Issued:
    """One sample certificate rendered and written to disk."""

    kind: str
    record: dict[str, Any]
    rendered: Rendered
    ofd_path: Path
    pdf_path: Path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run an outside tool and return its completed process (text mode)."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)


def require_tool(name: str) -> str:
    """Path of an outside judge; a missing judge is a failure, not a skip."""
    path = shutil.which(name)
    assert path, f"{name} is not installed; `make test` installs it"
    return path


def openssl_sm2_verifies(public_key: Path, message: Path, signature: Path) -> bool:
    """OpenSSL 3's verdict on an SM3withSM2 signature (user id 1234567812345678)."""
    result = run(
        require_tool("openssl"),
        "pkeyutl",
        "-verify",
        "-rawin",
        "-digest",
        "sm3",
        "-pubin",
        "-inkey",
        public_key,
        "-in",
        message,
        "-sigfile",
        signature,
        "-pkeyopt",
        "distid:1234567812345678",
    )
    return "Signature Verified Successfully" in result.stdout


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Issued]:
    """Every kind's sample, validated, rendered once and written to a temporary folder."""
    folder = tmp_path_factory.mktemp("issued")
    out: dict[str, Issued] = {}
    for kind in KIND_NAMES:
        record = sample_record(kind)
        cert = validate_record(load_kind(kind), record, AT)
        rendered = render(cert)
        ofd_path = folder / f"{cert.number}.ofd"
        pdf_path = folder / f"{cert.number}.pdf"
        ofd_path.write_bytes(rendered.ofd)
        pdf_path.write_bytes(rendered.pdf)
        (folder / f"{kind}.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
        out[kind] = Issued(kind, record, rendered, ofd_path, pdf_path)
    return out


@pytest.fixture(params=KIND_NAMES)
def each(request: pytest.FixtureRequest, issued: dict[str, Issued]) -> Issued:
    """Parametrises a test over every kind's issued sample."""
    return issued[request.param]


KEYS_AT = parse_at("2024-01-01T09:00:00+08:00")
ISSUER = {"name": "江苏省职业技能鉴定中心", "code": "12320000MB1A00015T"}


@pytest.fixture(scope="session")
def keystore(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A development key store (no passphrase), created once per session."""
    from docgen.signing.keystore import IssuerIdentity, KeyStore

    folder = tmp_path_factory.mktemp("keys") / "store"
    identity = IssuerIdentity(ISSUER["name"], ISSUER["code"], "电子证书专用章")
    return KeyStore.init(folder, identity, KEYS_AT)


@dataclass(frozen=True)
class Sealed:
    """One sample certificate issued sealed, with the key store that sealed it."""

    kind: str
    rendered: Rendered
    ofd_path: Path
    pdf_path: Path
    store: Any


def issue_sealed(
    kind: str, store: Any, folder: Path, profile: str = "sm2", record: dict[str, Any] | None = None
) -> Sealed:
    """Validate, render, seal and write a sample (or ``record``) with ``store``."""
    from docgen.signing.sealer import Sealer

    record = record or sample_record(kind)
    cert = validate_record(load_kind(kind), record, AT)
    rendered = render(cert, Sealer(store, profile))
    folder.mkdir(parents=True, exist_ok=True)
    ofd_path = folder / f"{cert.number}.ofd"
    pdf_path = folder / f"{cert.number}.pdf"
    ofd_path.write_bytes(rendered.ofd)
    pdf_path.write_bytes(rendered.pdf)
    return Sealed(kind, rendered, ofd_path, pdf_path, store)


@pytest.fixture(scope="session")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sealed]:
    """Every kind's sample sealed (sm2 profile) by a key store of its own issuer."""
    from docgen.signing.keystore import IssuerIdentity, KeyStore

    folder = tmp_path_factory.mktemp("sealed")
    out = {}
    for kind in KIND_NAMES:
        spec = load_kind(kind)
        cert = validate_record(spec, sample_record(kind), AT)
        identity = IssuerIdentity(
            str(cert.values[spec.issuer_field]), str(cert.values["issuer_code"]), spec.seal_title
        )
        store = KeyStore.init(folder / "keys" / kind, identity, KEYS_AT)
        out[kind] = issue_sealed(kind, store, folder / "files")
    return out


@pytest.fixture(params=KIND_NAMES)
def each_sealed(request: pytest.FixtureRequest, sealed: dict[str, Sealed]) -> Sealed:
    """Parametrises a test over every kind's sealed sample."""
    return sealed[request.param]


# -- registry databases: SQLite and a throw-away PostgreSQL --


@pytest.fixture(scope="session")
def pg_cluster() -> Any:
    """A PostgreSQL server for the session (started on first use; never skipped)."""
    from .pgcluster import PgCluster

    try:
        cluster = PgCluster()
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"PostgreSQL could not be started: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A fresh, empty registry database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.database()
    yield url
    cluster.drop(url)
