"""The signed QR: printed on every page that has one, decodable, verifiable, opaque."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from pyzbar import pyzbar

from docgen.qrpayload import PREFIX, PayloadError, QRClaims, masked, pack, unpack, verify_payload
from docgen.signing.keystore import IssuerIdentity, KeyStore

from .conftest import ISSUER, KEYS_AT, Sealed, issue_sealed, require_tool, run


def trusted_signers(store_folder: Path) -> dict[bytes, bytes]:
    """kid -> certificate DER of the ECDSA signers in a trust list file."""
    trust = json.loads((store_folder / "trust.json").read_text("utf-8"))
    return {
        bytes.fromhex(s["kid"]): x509.load_pem_x509_certificate(
            s["certificate"].encode()
        ).public_bytes(serialization.Encoding.DER)
        for s in trust["signers"]
        if s["profile"] == "ecdsa"
    }


def decoded_texts(pdf: Path, folder: Path) -> dict[str, set[str]]:
    run(require_tool("pdftoppm"), "-r", "150", "-png", pdf, folder / "p")
    found: dict[str, set[str]] = {"pyzbar": set(), "zxing": set()}
    for page in sorted(folder.glob("p-*.png")):
        image = Image.open(page).convert("L")
        found["pyzbar"] |= {s.data.decode() for s in pyzbar.decode(image)}
        qr_only = zxingcpp.BarcodeFormat.QRCode  # all formats also "find" 1-D codes in text
        found["zxing"] |= {r.text for r in zxingcpp.read_barcodes(image, formats=qr_only)}
    return found


def test_the_printed_qr_decodes_with_both_decoders_and_verifies(
    each_sealed: Sealed, tmp_path: Path
) -> None:
    found = decoded_texts(each_sealed.pdf_path, tmp_path)
    assert found["pyzbar"] == found["zxing"] and len(found["zxing"]) == 1
    text = found["zxing"].pop()
    assert text.startswith(PREFIX) and len(text) <= 300
    claims, kid = verify_payload(text, trusted_signers(each_sealed.store.folder))
    cert = each_sealed.rendered.certificate
    assert kid == each_sealed.store.signer("ecdsa").kid
    assert (claims.kind, claims.number, claims.holder) == (
        cert.kind.name,
        cert.number,
        cert.values["name"],
    )
    assert claims.issued == cert.values["issue_date"]
    id_number = str(cert.values["id_number"])
    assert claims.id_hint == id_number[:6] + id_number[-4:]
    assert masked(claims.id_hint) == id_number[:6] + "********" + id_number[-4:]
    assert id_number not in text and cert.values["name"] not in text  # opaque to scanners


def test_a_payload_is_refused_when_tampered_or_unknown(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    signers = trusted_signers(item.store.folder)
    text = fresh_payload(item)
    claims, _ = verify_payload(text, signers)
    with pytest.raises(PayloadError, match="not in the trust list"):
        verify_payload(text, trusted_signers(sealed["rescuer"].store.folder))
    # Same byte length, so the COSE structure stays well-formed and only the signature fails.
    forged = QRClaims(**{**claims.__dict__, "holder": "李晓坤"})
    original = claims.to_cbor()
    assert len(forged.to_cbor()) == len(original)
    cose = unpack(text)
    start = cose.find(original)
    assert start > 0
    replaced = cose[:start] + forged.to_cbor() + cose[start + len(original) :]
    with pytest.raises(PayloadError, match="signature"):
        verify_payload(pack(replaced), signers)
    with pytest.raises(PayloadError, match="prefix"):
        verify_payload("HC1:" + text[len(PREFIX) :], signers)


def fresh_payload(item: Sealed) -> str:
    from docgen.signing.qr import claims_for, sign_claims

    return sign_claims(claims_for(item.rendered.certificate), item.store.signer("ecdsa"))


def test_certificates_signed_before_and_after_rotation_both_verify(tmp_path: Path) -> None:
    identity = IssuerIdentity(ISSUER["name"], ISSUER["code"], "职业技能等级证书专用章")
    store = KeyStore.init(tmp_path / "keys", identity, KEYS_AT)
    before = issue_sealed("skill", store, tmp_path / "before")
    assert store.rotate(KEYS_AT.replace(year=2025)) == 2
    after = issue_sealed("skill", KeyStore.open(tmp_path / "keys"), tmp_path / "after")
    signers = trusted_signers(tmp_path / "keys")
    kids = []
    for item in (before, after):
        text = decoded_texts(item.pdf_path, tmp_path / item.pdf_path.parent.name)["zxing"].pop()
        kids.append(verify_payload(text, signers)[1])
    assert kids[0] != kids[1] and set(kids) <= set(signers)
    from .ofd_signature import read_signature
    from .test_signing import nss_db, openssl_verifies_ses

    db = nss_db(tmp_path / "keys/ecdsa/root.pem", tmp_path / "nss")
    for item in (before, after):
        out = run("pdfsig", "-nssdir", db, item.pdf_path).stdout
        assert "Signature is Valid" in out and "Certificate is Trusted" in out
        sig = read_signature(item.ofd_path.read_bytes())
        assert openssl_verifies_ses(sig.signed_value, tmp_path)


def test_claims_round_trip_through_cbor() -> None:
    claims = QRClaims(
        "skill",
        "S000032000123254000087",
        1,
        "王䶮",
        "3201022428",
        date(2025, 4, 18),
        None,
        date(2031, 3, 1),
    )
    assert QRClaims.from_cbor(claims.to_cbor()) == claims
    with pytest.raises(PayloadError, match="unknown kind code"):
        QRClaims.from_cbor(claims.to_cbor().replace(b"\x01\x02", b"\x01\x09", 1))
