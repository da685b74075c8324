"""The key store: files, modes, OpenSSL-checked chains and keys, seal, rotation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from asn1crypto import x509 as a509
from click.testing import CliRunner

from docgen.cli import main
from docgen.gm import sm2_public_point, sm2_verify
from docgen.ses.v4 import SESeal, seal_to_be_signed
from docgen.signing.keystore import IssuerIdentity, KeyStore, KeyStoreError, key_id
from docgen.signing.sm2 import SM2PrivateKey

from .conftest import ISSUER, KEYS_AT, openssl_sm2_verifies, require_tool, run

DISTID = "distid:1234567812345678"


def test_private_keys_are_0600_in_a_0700_folder(keystore: KeyStore) -> None:
    folder = keystore.folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    keys = sorted(folder.rglob("*.key"))
    assert len(keys) == 5  # two roots, seal maker, two signers
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    trust = (folder / "trust.json").read_text()
    assert "PRIVATE KEY" not in trust
    assert not [p for p in folder.rglob(".*")]  # no temporary files left


@pytest.mark.parametrize("profile, options", [("sm2", ["-vfyopt", DISTID]), ("ecdsa", [])])
def test_openssl_verifies_the_signer_chain(
    keystore: KeyStore, profile: str, options: list[str]
) -> None:
    folder = keystore.folder
    result = run(
        require_tool("openssl"),
        "verify",
        *options,
        "-CAfile",
        folder / f"{profile}/root.pem",
        folder / f"{profile}/issuer-1.pem",
    )
    assert result.returncode == 0 and ": OK" in result.stdout, result.stderr


def test_openssl_rejects_a_chain_to_another_root(keystore: KeyStore, tmp_path: Path) -> None:
    other = KeyStore.init(tmp_path / "other", keystore.identity, KEYS_AT)
    result = run(
        "openssl",
        "verify",
        "-vfyopt",
        DISTID,
        "-CAfile",
        other.folder / "sm2/root.pem",
        keystore.folder / "sm2/issuer-1.pem",
    )
    assert result.returncode != 0


def test_sm2_keys_interoperate_with_openssl_both_ways(tmp_path: Path) -> None:
    key = SM2PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(key.to_pem(b"s3cret"))
    (tmp_path / "msg").write_bytes(b"certificate")
    # OpenSSL signs with our (encrypted) key file; we verify.
    signed = run(
        "openssl",
        "pkeyutl",
        "-sign",
        "-rawin",
        "-digest",
        "sm3",
        "-inkey",
        tmp_path / "key.pem",
        "-passin",
        "pass:s3cret",
        "-in",
        tmp_path / "msg",
        "-out",
        tmp_path / "sig",
        "-pkeyopt",
        DISTID,
    )
    assert signed.returncode == 0, signed.stderr
    assert sm2_verify(key.public, b"certificate", (tmp_path / "sig").read_bytes())
    assert not sm2_verify(key.public, b"certificatf", (tmp_path / "sig").read_bytes())
    # We sign; OpenSSL verifies with the public key it derives from our key file.
    (tmp_path / "sig2").write_bytes(key.sign(b"certificate"))
    pub = run(
        "openssl",
        "pkey",
        "-in",
        tmp_path / "key.pem",
        "-passin",
        "pass:s3cret",
        "-pubout",
        "-out",
        tmp_path / "pub.pem",
    )
    assert pub.returncode == 0
    assert openssl_sm2_verifies(tmp_path / "pub.pem", tmp_path / "msg", tmp_path / "sig2")


def test_a_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    identity = IssuerIdentity(ISSUER["name"], ISSUER["code"], "电子证书专用章")
    store = KeyStore.init(tmp_path / "k", identity, KEYS_AT, passphrase=b"right")
    assert "ENCRYPTED PRIVATE KEY" in (tmp_path / "k/sm2/issuer-1.key").read_text()
    assert KeyStore.open(tmp_path / "k", b"right").signer("sm2").generation == 1
    with pytest.raises(KeyStoreError, match="passphrase"):
        KeyStore.open(tmp_path / "k", b"wrong").signer("sm2")
    with pytest.raises(KeyStoreError, match="passphrase"):
        KeyStore.open(tmp_path / "k", b"wrong").signer("ecdsa")
    assert store.generation == 1


def test_the_seal_is_signed_by_the_seal_maker_and_lists_the_signer(keystore: KeyStore) -> None:
    esl, picture = keystore.seal()
    seal = SESeal.load(esl)
    info = seal["eSealInfo"]
    assert info["header"].native == {"ID": "ES", "version": 4, "Vid": "docgen"}
    assert info["picture"]["data"].native == picture and picture[:4] == b"\x89PNG"
    maker = a509.Certificate.load(seal["cert"].native)
    point = sm2_public_point(maker["tbs_certificate"]["subject_public_key_info"])
    signed = seal["signedValue"].native
    assert sm2_verify(point, seal_to_be_signed(info), signed)
    assert not sm2_verify(point, seal_to_be_signed(info) + b"x", signed)
    signer = keystore.signer("sm2")
    assert list(info["property"]["certList"].native) == [signer.certificate]


def test_rotation_adds_a_generation_and_keeps_the_old_one_trusted(tmp_path: Path) -> None:
    identity = IssuerIdentity(ISSUER["name"], ISSUER["code"], "电子证书专用章")
    store = KeyStore.init(tmp_path / "k", identity, KEYS_AT)
    first = store.signer("ecdsa")
    assert store.rotate(KEYS_AT.replace(month=6)) == 2
    second = store.signer("ecdsa")
    assert first.kid != second.kid
    trust = json.loads((tmp_path / "k/trust.json").read_text())
    kids = {(s["profile"], s["generation"]): s["kid"] for s in trust["signers"]}
    assert kids[("ecdsa", 1)] == first.kid.hex() == key_id(first.certificate).hex()
    assert kids[("ecdsa", 2)] == second.kid.hex()
    assert len(trust["signers"]) == 4 and len(trust["seals"]) == 2
    assert KeyStore.open(tmp_path / "k").signer("sm2", 1).generation == 1


def test_cli_keys_init_and_rotate(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "keys"
    args = [
        "keys",
        "init",
        "--dir",
        str(folder),
        "--issuer-name",
        ISSUER["name"],
        "--issuer-code",
        ISSUER["code"],
        "--at",
        "2026-01-01",
    ]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "trust.json" in first.output and "PRIVATE" not in first.output
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "already holds a key store" in again.output
    bad = runner.invoke(main, [*args[:6], "--issuer-code", "12320000MB1A00015X"])
    assert bad.exit_code == 1 and "--issuer-code" in bad.output
    rotated = runner.invoke(main, ["keys", "rotate", "--dir", str(folder), "--at", "2026-02-01"])
    assert rotated.exit_code == 0 and "generation 2" in rotated.output
    missing = runner.invoke(main, ["keys", "rotate", "--dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "docgen keys init" in missing.output
