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


# -- forged and hostile QR texts (the Python verifier; the browser's: test_offline_verify_js)


def _cose_sign1(protected: dict[int, object], payload: bytes, key: object) -> bytes:
    """A COSE_Sign1 with the given protected header, signed (ES256 mathematics) by ``key``."""
    import cbor2
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header = cbor2.dumps(protected)
    to_be_signed = cbor2.dumps(["Signature1", header, b"", payload])
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return cbor2.dumps(cbor2.CBORTag(18, [header, {}, payload, signature]))


def test_hostile_qr_texts_are_refused_with_a_reason(sealed: dict[str, Sealed]) -> None:
    """A known key id over another key's signature, another algorithm named, base45 cut or
    padded, and a zlib bomb: each is a PayloadError naming what is wrong."""
    import zlib

    import base45

    item, other = sealed["skill"], sealed["rescuer"]
    signers = trusted_signers(item.store.folder)
    mine, theirs = item.store.signer("ecdsa"), other.store.signer("ecdsa")
    text = fresh_payload(item)
    payload = verify_payload(text, signers)[0].to_cbor()
    cases = {
        "signature": pack(_cose_sign1({1: -7, 4: mine.kid}, payload, theirs.key)),
        "ES256": pack(_cose_sign1({1: -35, 4: mine.kid}, payload, mine.key)),
        "base45": text[: len(PREFIX) + len(text[len(PREFIX) :]) // 3 * 3 - 2],  # 1 char dangles
        "base45 ": text + "a",  # not in the alphabet
        "larger than": PREFIX + base45.b45encode(zlib.compress(bytes(1 << 20), 9)).decode(),
    }
    assert verify_payload(text, signers)  # the genuine text passes
    for reason, bad in cases.items():
        with pytest.raises(PayloadError, match=reason.strip()):
            verify_payload(bad, signers)
