"""Secrets stay secret: no private key, key passphrase or holder secret in any output, error
message, file or registry row that a run of the command line leaves behind."""

from __future__ import annotations

import base64
import json
import logging
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from docgen.cli import main
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import Registry, lifecycle
from docgen.samples import sample_record
from docgen.signing.keystore import IssuerIdentity, KeyStore
from docgen.signing.sealer import Sealer
from docgen.signing.sm2 import SM2PrivateKey
from docgen.validation import validate_record

from .conftest import AT as ISSUED_AT
from .conftest import KEYS_AT

AT = "2026-11-20T10:00:00"
PASSPHRASE = "correct horse battery staple 4711"
HOLDER_SECRET = "my holder secret 0815"
K3 = "safety-engineer"  # a kind with 加注


def _forms(secret: bytes) -> list[bytes]:
    """How a secret could appear: raw, hex (both cases), base64."""
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret)]


def key_secrets(store: KeyStore) -> dict[str, list[bytes]]:
    """The current private keys of ``store`` in every form they could appear in."""
    ecdsa, sm2 = store.signer("ecdsa").key, store.signer("sm2").key
    assert isinstance(ecdsa, ec.EllipticCurvePrivateKey) and isinstance(sm2, SM2PrivateKey)
    return {
        "ECDSA private key": _forms(ecdsa.private_numbers().private_value.to_bytes(32, "big")),
        "SM2 private key": _forms(sm2.private),
    }


def secrets_found(
    secrets: dict[str, list[bytes]], places: dict[str, bytes]
) -> list[tuple[str, str]]:
    """Which secret (by name) is found where (by place): none, we hope."""
    return [
        (what, where)
        for what, forms in secrets.items()
        for where, data in places.items()
        if any(form in data for form in forms)
    ]


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by path, the encrypted key files aside."""
    return {
        str(path): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and path.suffix != ".key"
    }


def test_no_secret_reaches_an_output_a_file_or_the_registry(tmp_path: Path) -> None:
    env = {
        "KEY_PASS": PASSPHRASE,
        "HOLDER_SECRET": HOLDER_SECRET,
        "WRONG_SECRET": "not " + HOLDER_SECRET,
        "DOCGEN_DB": f"sqlite:///{tmp_path / 'registry.db'}",
    }
    runner = CliRunner(env=env)
    outputs: list[str] = []

    def cli(*args: str | Path, ok: bool = True) -> Any:
        result = runner.invoke(main, [str(a) for a in args])
        outputs.append(result.output)
        assert (result.exit_code == 0) is ok, result.output
        return result

    record = tmp_path / "record.json"
    record.write_text(cli("sample", "--kind", "skill").output, "utf-8")
    number_of = json.loads(record.read_text("utf-8"))
    keys = tmp_path / "keys"
    cli("keys", "init", "--dir", keys, "--issuer-from", record, "--at", "2024-01-01",
        "--passphrase-env", "KEY_PASS")  # fmt: skip
    cli("db", "upgrade")
    out = tmp_path / "out"
    cli("issue", "--data", record, "--out", out, "--at", AT, "--keys", keys,
        "--passphrase-env", "KEY_PASS")  # fmt: skip
    number = next(out.glob("*.pdf")).stem
    cli("holder", "register", "--id-number", number_of["id_number"], "--name",
        number_of["name"], "--secret-env", "HOLDER_SECRET", "--at", AT)  # fmt: skip
    cli("holder", "certificates", "--id-number", number_of["id_number"], "--secret-env",
        "HOLDER_SECRET", "--at", AT)  # fmt: skip
    cli("holder", "certificates", "--id-number", number_of["id_number"], "--secret-env",
        "WRONG_SECRET", "--at", AT, ok=False)  # fmt: skip
    cli("issue", "--data", record, "--out", out, "--at", AT, "--keys", keys, "--overwrite",
        "--passphrase-env", "HOLDER_SECRET", ok=False)  # a wrong passphrase  # fmt: skip
    cli("revoke", number, "--reason", "test", "--at", AT)
    cli("audit", "verify")
    cli("verify", *out.glob("*.*"), "--trust", keys / "trust.json", "--at", AT,
        "--db", env["DOCGEN_DB"], ok=False)  # revoked  # fmt: skip

    secrets = key_secrets(KeyStore.open(keys, PASSPHRASE.encode())) | {
        "key passphrase": [PASSPHRASE.encode()],
        "holder secret": [HOLDER_SECRET.encode(), ("not " + HOLDER_SECRET).encode()],
    }
    # Every file the run left (the encrypted key files aside) and everything it printed.
    places = files_under(tmp_path)
    places |= {f"output {n}": text.encode() for n, text in enumerate(outputs)}
    # The search reads what it should: the registry holds the number, the outputs the holder.
    assert any(number.encode() in data for p, data in places.items() if "registry.db" in p)
    assert any(number_of["name"].encode() in data for p, data in places.items() if "output" in p)
    assert secrets_found(secrets, places) == []


def test_no_secret_reaches_the_services_logs_answers_or_files(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The web service, run in-process as test_service.py runs it, with its access log on
    and every logger recorded at DEBUG: a holder registers, signs in with a wrong secret and
    the right one, annotates (sealed with passphrase-protected keys), downloads and verifies
    the copy; an issuing body uses its API key (and a wrong one); a second service is given
    a wrong passphrase. No private key, passphrase, holder secret or API key is in a log
    line, on standard output or error (its verifying processes' too), in an answer (headers
    and body) or in a file the service wrote."""
    from docgen.registry.apikeys import create_key
    from service import ServiceSettings, create_app

    from .service_world import Clock

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    record = sample_record(K3)
    kind = load_kind(K3)
    cert = validate_record(kind, record, ISSUED_AT)
    identity = IssuerIdentity(
        str(cert.values[kind.issuer_field]), str(cert.values["issuer_code"]), kind.seal_title
    )
    store = KeyStore.init(tmp_path / "keys", identity, KEYS_AT, PASSPHRASE.encode())
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry.open(url) as registry:
        lifecycle.issue(
            registry, [cert], tmp_path / "files", Sealer(store), operator="t", at=ISSUED_AT
        )
        api_key = create_key(registry, identity.code, "test", at=ISSUED_AT)
    monkeypatch.setenv("KEY_PASS", PASSPHRASE)
    monkeypatch.setenv("WRONG_PASS", "not " + PASSPHRASE)
    settings = ServiceSettings(
        db=url,
        trust_files=(store.folder / "trust.json",),
        keys_dirs=(store.folder,),
        keys_passphrase_env="KEY_PASS",
        copies_dir=tmp_path / "copies",
        batches_dir=tmp_path / "batches",
        access_log=True,
        rate_per_minute=10_000,
        sign_in_per_minute=10_000,
    )
    clock = Clock(parse_at("2026-12-01T10:00:00"))
    answers: list[Any] = []
    holder = {"id_number": record["id_number"], "name": record["name"]}
    annotations = f"/api/v1/holder/certificates/{cert.number}/annotations"
    with caplog.at_level(logging.DEBUG):
        with TestClient(create_app(settings, clock)) as client:

            def call(method: str, path: str, status: int, **kw: Any) -> Any:
                answer = client.request(method, path, **kw)
                answers.append(answer)
                assert answer.status_code == status, (path, answer.text)
                return answer

            call("POST", "/api/v1/holder/register", 201, json={**holder, "secret": HOLDER_SECRET})
            wrong = {"id_number": record["id_number"], "secret": "not " + HOLDER_SECRET}
            call("POST", "/api/v1/holder/login", 401, json=wrong)
            right = {"id_number": record["id_number"], "secret": HOLDER_SECRET}
            token = call("POST", "/api/v1/holder/login", 200, json=right).json()["csrf_token"]
            client.headers["X-CSRF-Token"] = token
            made = call("POST", annotations, 201, json={"scenario": "本人调用", "days": 10})
            call("GET", "/api/v1/holder/annotations", 200)
            copy = call("GET", made.json()["downloads"]["pdf"], 200).content
            report = call("POST", "/api/v1/verify", 200, files={"file": ("c.pdf", copy)})
            assert report.json()["verdict"] == "authentic", report.text
            bearer = {"Authorization": f"Bearer {api_key}"}
            call("GET", "/api/v1/issuer/register", 200, headers=bearer)
            forged = {"Authorization": f"Bearer {api_key[:-4]}xxxx"}
            call("GET", "/api/v1/issuer/register", 401, headers=forged)
        wrong_keys = replace(settings, keys_passphrase_env="WRONG_PASS")
        with TestClient(create_app(wrong_keys, clock), raise_server_exceptions=False) as client:
            call("POST", "/api/v1/holder/login", 200, json=right)
            client.headers["X-CSRF-Token"] = answers[-1].json()["csrf_token"]
            refused = client.post(annotations, json={"scenario": "本人调用", "days": 10})
            answers.append(refused)
            assert refused.status_code >= 400
    printed = capfd.readouterr()
    places = files_under(tmp_path) | {
        "log": caplog.text.encode(),
        "stdout": printed.out.encode(),
        "stderr": printed.err.encode(),
    }
    for n, answer in enumerate(answers):
        head = "".join(f"{k}: {v}\n" for k, v in answer.headers.items()).encode()
        places[f"answer {n} ({answer.request.method} {answer.request.url.path})"] = (
            head + answer.content
        )
    secrets = key_secrets(store) | {
        "key passphrase": [PASSPHRASE.encode(), ("not " + PASSPHRASE).encode()],
        "holder secret": [HOLDER_SECRET.encode(), ("not " + HOLDER_SECRET).encode()],
        "API key": [api_key.encode(), api_key.rsplit("_", 1)[1].encode()],
    }
    # The search reads what it should: the log holds a line per request, the answers the copy.
    assert places["log"].count(b'"route": "/login", "status"') == 3, caplog.text
    assert any(b"%PDF" in data for where, data in places.items() if "answer" in where)
    assert secrets_found(secrets, places) == []
