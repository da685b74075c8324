"""docgen issue seals by default; PAdES B-T with a (local) timestamp authority."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys as akeys
from asn1crypto import tsp
from asn1crypto import x509 as a509
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from docgen.cli import main

from .conftest import KEYS_AT, Sealed
from .ofd_signature import read_signature

AT = "2026-11-20T10:00:00"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Any:
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


def sample(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.json"
    path.write_text(cli("sample", "--kind", kind).output, "utf-8")
    return path


def test_issue_seals_with_the_key_store_of_the_records_issuer(tmp_path: Path) -> None:
    record = sample(tmp_path, "skill")
    keys = tmp_path / "keys"
    made = cli("keys", "init", "--dir", keys, "--issuer-from", record, "--at", "2024-01-01")
    assert made.exit_code == 0, made.output
    assert "江苏省职业技能鉴定中心" in made.output
    result = cli("issue", "--data", record, "--out", tmp_path / "out", "--at", AT, "--keys", keys)
    assert result.exit_code == 0, result.output
    ofd = Path(result.output.splitlines()[0])
    sig = read_signature(ofd.read_bytes())
    assert sig.sign_type == "Seal"
    esl = (keys / "seal/seal-1.esl").read_bytes()
    assert sig.parts["Doc_0/Signs/Sign_0/Seal.esl"] == esl


def test_issue_refuses_another_bodys_record_and_a_missing_key_store(tmp_path: Path) -> None:
    skill, rescuer = sample(tmp_path, "skill"), sample(tmp_path, "rescuer")
    keys = tmp_path / "keys"
    cli("keys", "init", "--dir", keys, "--issuer-from", skill, "--at", "2024-01-01")
    wrong = cli("issue", "--data", rescuer, "--out", tmp_path / "out", "--at", AT, "--keys", keys)
    assert wrong.exit_code == 1
    assert f"error: {rescuer}: issuer_code: " in wrong.output
    assert "江苏省职业技能鉴定中心" in wrong.output
    assert not (tmp_path / "out").exists()
    none = cli("issue", "--data", skill, "--out", tmp_path / "out", "--keys", tmp_path / "nope")
    assert none.exit_code == 1 and "--unsigned" in none.output and "docgen keys init" in none.output


def test_passphrase_comes_from_the_environment_only(tmp_path: Path) -> None:
    record = sample(tmp_path, "skill")
    keys = tmp_path / "keys"
    env = {"DOCGEN_KEY_PASS": "correct horse"}
    made = cli(
        "keys",
        "init",
        "--dir",
        keys,
        "--issuer-from",
        record,
        "--at",
        "2024-01-01",
        "--passphrase-env",
        "DOCGEN_KEY_PASS",
        env=env,
    )
    assert made.exit_code == 0 and "correct horse" not in made.output
    assert "ENCRYPTED" in (keys / "ecdsa/issuer-1.key").read_text()
    args = ["issue", "--data", record, "--out", tmp_path / "out", "--at", AT, "--keys", keys]
    assert cli(*args, "--passphrase-env", "DOCGEN_KEY_PASS", env=env).exit_code == 0
    missing = cli(*args, "--overwrite", "--passphrase-env", "UNSET_VAR_FOR_TEST")
    assert missing.exit_code == 1 and "UNSET_VAR_FOR_TEST" in missing.output
    wrong = cli(*args, "--overwrite", "--passphrase-env", "P", env={"P": "wrong"})
    assert wrong.exit_code == 1 and "passphrase" in wrong.output


class _TSA(BaseHTTPRequestHandler):
    stamper: DummyTimeStamper

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = self.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def tsa_url(sealed: dict[str, Sealed]):  # type: ignore[no-untyped-def]
    """A timestamp authority on 127.0.0.1 whose certificate chains to the skill key store's
    ECDSA root."""
    store = sealed["skill"].store
    root_key = serialization.load_pem_private_key(
        (store.folder / "ecdsa/root.key").read_bytes(), None
    )
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    root = x509.load_pem_x509_certificate((store.folder / "ecdsa/root.pem").read_bytes())
    key = rsa.generate_private_key(65537, 2048)  # pyHanko's dummy TSA signs with RSA only
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test TSA")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(KEYS_AT)
        .not_valid_after(KEYS_AT + timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _TSA.stamper = DummyTimeStamper(
        tsa_cert=a509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=akeys.PrivateKeyInfo.load(der_key),
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TSA)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_with_a_tsa_the_pdf_is_pades_b_t(
    sealed: dict[str, Sealed], tsa_url: str, tmp_path: Path
) -> None:
    store = sealed["skill"].store
    record = sample(tmp_path, "skill")
    result = cli(
        "issue",
        "--data",
        record,
        "--out",
        tmp_path / "out",
        "--at",
        AT,
        "--keys",
        store.folder,
        "--tsa-url",
        tsa_url,
    )
    assert result.exit_code == 0, result.output
    pdf = Path(result.output.splitlines()[1]).read_bytes()
    reader = PdfFileReader(io.BytesIO(pdf))
    root = a509.Certificate.load(store.certificate("ecdsa/root.pem"))
    status = validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[root], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.trusted


def test_an_unreachable_tsa_is_a_clear_error(sealed: dict[str, Sealed], tmp_path: Path) -> None:
    record = sample(tmp_path, "skill")
    result = cli(
        "issue",
        "--data",
        record,
        "--out",
        tmp_path / "out",
        "--at",
        AT,
        "--keys",
        sealed["skill"].store.folder,
        "--tsa-url",
        "http://127.0.0.1:9/",
    )
    assert result.exit_code == 1
    assert "timestamp" in result.output and "127.0.0.1:9" in result.output
    assert not (tmp_path / "out").exists()
