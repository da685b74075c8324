"""Secrets stay secret: no private key, key passphrase or holder secret in any output, error
message, file or registry row that a run of the command line leaves behind."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from docgen.cli import main
from docgen.signing.keystore import KeyStore
from docgen.signing.sm2 import SM2PrivateKey

AT = "2026-11-20T10:00:00"
PASSPHRASE = "correct horse battery staple 4711"
HOLDER_SECRET = "my holder secret 0815"


def _forms(secret: bytes) -> list[bytes]:
    """How a secret could appear: raw, hex (both cases), base64."""
    return [secret, secret.hex().encode(), secret.hex().upper().encode(), base64.b64encode(secret)]


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

    store = KeyStore.open(keys, PASSPHRASE.encode())
    ecdsa, sm2 = store.signer("ecdsa").key, store.signer("sm2").key
    assert isinstance(ecdsa, ec.EllipticCurvePrivateKey) and isinstance(sm2, SM2PrivateKey)
    secrets = {
        "ECDSA private key": _forms(ecdsa.private_numbers().private_value.to_bytes(32, "big")),
        "SM2 private key": _forms(sm2.private),
        "key passphrase": [PASSPHRASE.encode()],
        "holder secret": [HOLDER_SECRET.encode(), ("not " + HOLDER_SECRET).encode()],
    }
    # Every file the run left (the encrypted key files aside) and everything it printed.
    places = {
        str(path): path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file() and path.suffix != ".key"
    }
    places |= {f"output {n}": text.encode() for n, text in enumerate(outputs)}
    # The search reads what it should: the registry holds the number, the outputs the holder.
    assert any(number.encode() in data for p, data in places.items() if "registry.db" in p)
    assert any(number_of["name"].encode() in data for p, data in places.items() if "output" in p)
    found = [
        (what, where)
        for what, forms in secrets.items()
        for where, data in places.items()
        if any(form in data for form in forms)
    ]
    assert found == []
