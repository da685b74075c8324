"""The browser verifier (service/static/js/qr-verify.js), run under Node 20, against QR
payloads signed by the Python issuer and trusted through the JWKS of service/jwks.py.

Each case is written to a JSON file and handed to tests/js/verify_qr.mjs; every verdict the
JavaScript gives is compared with the Python reference (docgen.qrpayload.verify_payload).
No network: trust lists are fetched from data: URLs, and "offline" is a port fetch() blocks.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import subprocess
import zlib
from dataclasses import replace
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from PIL import Image, ImageOps

from docgen.kinds import KIND_NAMES, load_kind
from docgen.qr import qr_png
from docgen.qrpayload import (
    PREFIX,
    AnnotationClaims,
    PayloadError,
    QRClaims,
    masked,
    pack,
    unpack,
    verify_annotation,
    verify_payload,
)
from docgen.samples import sample_record
from docgen.signing.keystore import IssuerIdentity, KeyStore, Signer
from docgen.signing.qr import claims_for, sign_claims, sign_cose
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record
from service.jwks import JwksError, jwks_from_trust, jwks_from_trust_files

from .conftest import AT, ISSUER, KEYS_AT, issue_sealed, require_tool, run
from .test_signed_qr import trusted_signers

DRIVER = Path(__file__).parent / "js" / "verify_qr.mjs"
DAY = AT.date().isoformat()
_cases = count()


# -- helpers -------------------------------------------------------------------------


def node(tmp_path: Path, case: dict[str, Any]) -> dict[str, Any]:
    """Run the Node driver on one case; a failing run fails the test."""
    path = tmp_path / f"case-{next(_cases)}.json"
    path.write_text(json.dumps(case, ensure_ascii=False), "utf-8")
    result = subprocess.run(
        [require_tool("node"), str(DRIVER), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"node failed ({result.returncode}):\n{result.stderr}"
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def verify_js(
    tmp_path: Path, text: str, jwks: dict[str, Any], at: str = DAY, **extra: Any
) -> dict[str, Any]:
    """The verdict of qr-verify.js on ``text``."""
    verified: dict[str, Any] = node(tmp_path, {"text": text, "jwks": jwks, "at": at, **extra})[
        "verified"
    ]
    return verified


def trust_of(store: KeyStore) -> dict[str, Any]:
    trust: dict[str, Any] = json.loads((store.folder / "trust.json").read_text("utf-8"))
    return trust


def sample_claims(kind: str) -> QRClaims:
    cert = validate_record(load_kind(kind), sample_record(kind), AT)
    return claims_for(cert)


def sign_with_header(payload: bytes, signer: Signer, header: dict[int, Any]) -> bytes:
    """A COSE_Sign1 like docgen.signing.qr.sign_cose, but with any protected header: a
    correct signature over a header the verifier must refuse."""
    assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
    protected = cbor2.dumps(header)
    der = signer.key.sign(
        cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256())
    )
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bytes(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def python_refuses(text: str, certificates: dict[bytes, bytes]) -> bool:
    try:
        verify_payload(text, certificates)
    except PayloadError:
        return True
    return False


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    identity = IssuerIdentity(ISSUER["name"], ISSUER["code"], "电子证书专用章")
    return KeyStore.init(tmp_path_factory.mktemp("keys") / "store", identity, KEYS_AT)


@pytest.fixture(scope="module")
def other_store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    identity = IssuerIdentity("应急管理部培训中心", "12100000400012345X", "电子证书专用章")
    return KeyStore.init(tmp_path_factory.mktemp("keys") / "other", identity, KEYS_AT)


@pytest.fixture(scope="module")
def signer(store: KeyStore) -> Signer:
    return Sealer(store).ecdsa_signer


@pytest.fixture(scope="module")
def jwks(store: KeyStore) -> dict[str, Any]:
    return jwks_from_trust(trust_of(store))


# -- authentic payloads --------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_signed_claims_read_as_python_reads_them(
    kind: str, store: KeyStore, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    text = sign_claims(sample_claims(kind), signer)
    expected, kid = verify_payload(text, trusted_signers(store.folder))
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] is True and got["reason"] is None, got
    assert got["kid"] == kid.hex() == signer.kid.hex()
    assert got["issuer"] == ISSUER
    assert got["kind"] == expected.kind == kind
    assert got["annotation"] is None
    assert got["key_valid_on_issue"] is True

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    assert got["claims"] == {
        "number": expected.number,
        "version": expected.version,
        "holder": expected.holder,
        "id_hint": expected.id_hint,
        "id_masked": masked(expected.id_hint),
        "issued": day(expected.issued),
        "valid_from": day(expected.valid_from),
        "valid_to": day(expected.valid_to),
        "review": day(expected.review),
        "status_index": expected.status_index,
    }
    assert got["validity"]["at"] == DAY and got["validity"]["in_force"] is True


def test_every_optional_claim_and_a_later_check_day(
    signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    claims = replace(sample_claims("special-ops"), status_index=4711)
    text = sign_claims(claims, signer)
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] and got["claims"]["status_index"] == 4711
    assert got["claims"]["review"] == "2028-03-01" and got["claims"]["valid_to"] == "2031-03-01"
    # Authentic stays authentic; on a later day the signed dates say it is not in force.
    overdue = verify_js(tmp_path, text, jwks, at="2029-01-01")
    assert overdue["ok"] and overdue["validity"]["in_force"] is False
    assert "review overdue" in overdue["validity"]["reason"]
    assert "逾期未复审" in overdue["validity"]["reason_zh"]
    expired = verify_js(tmp_path, text, jwks, at="2031-03-02")
    assert "expired on 2031-03-01" in expired["validity"]["reason"]
    early = verify_js(tmp_path, text, jwks, at="2025-02-28")
    assert (
        early["validity"]["in_force"] is False
        and "after the checked day" in early["validity"]["reason"]
    )


def test_compressed_and_uncompressed_payloads_both_verify(
    store: KeyStore, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    text = sign_claims(sample_claims("skill"), signer)
    cose = unpack(text)
    plain = PREFIX + base45.b45encode(cose).decode()
    zipped = PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode()
    # sign_claims keeps the smaller form: for these short claims the plain COSE_Sign1.
    assert text == pack(cose) == plain and cose[0] == 0xD2
    # A long, repetitive holder name compresses: pack() then stores the zlib form.
    long_name = replace(sample_claims("skill"), holder="欧阳" * 40)
    packed = sign_claims(long_name, signer)
    assert base45.b45decode(packed[len(PREFIX) :])[0] == 0x78
    certificates = trusted_signers(store.folder)
    for form in (plain, zipped, packed):
        assert not python_refuses(form, certificates)
        got = verify_js(tmp_path, form, jwks)
        assert got["ok"], (form[:20], got)
    assert verify_js(tmp_path, packed, jwks)["claims"]["holder"] == "欧阳" * 40


def test_an_annotation_payload_gives_its_window(
    store: KeyStore, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    claims = sample_claims("safety-engineer")
    annotation = AnnotationClaims(
        kind=claims.kind,
        number=claims.number,
        version=claims.version,
        annotation="JZ2026112000000007",
        scenario="本人调用",
        valid_from=date(2026, 11, 20),
        valid_to=date(2026, 12, 19),
    )
    text = pack(sign_cose(annotation.to_cbor(), signer))
    expected, _ = verify_annotation(text, trusted_signers(store.folder))
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] and got["key_valid_on_issue"] and got["claims"] is None
    assert got["kind"] == "safety-engineer"
    assert got["annotation"] == {
        "number": expected.annotation,
        "scenario": "本人调用",
        "window_from": "2026-11-20",
        "window_to": "2026-12-19",
        "certificate": {"kind": claims.kind, "number": claims.number, "version": 1},
    }
    assert got["validity"]["in_force"] is True
    late = verify_js(tmp_path, text, jwks, at="2026-12-20")
    assert late["ok"] and late["validity"]["in_force"] is False
    assert "expired on 2026-12-19" in late["validity"]["reason"]


def test_the_qr_image_decodes_with_the_vendored_jsqr(
    signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    text = sign_claims(sample_claims("special-ops"), signer)
    # As printed (8 px per module), with the quiet zone the layout adds, read back as RGBA
    # pixels the way camera.js hands a canvas frame to jsQR.
    picture = Image.open(io.BytesIO(qr_png(text))).convert("L")
    picture = ImageOps.expand(picture, border=32, fill=255).convert("RGBA")
    image = {
        "width": picture.width,
        "height": picture.height,
        "rgba": base64.b64encode(picture.tobytes()).decode(),
    }
    out = node(tmp_path, {"image": image, "jwks": jwks, "at": DAY})
    assert out["decoded_text"] == text
    assert out["verified"]["ok"] is True


def test_a_printed_certificate_is_read_and_verified_in_the_browser_code(
    store: KeyStore, jwks: dict[str, Any], tmp_path: Path
) -> None:
    """The whole camera path on a real print: a sealed certificate's PDF page, rasterised
    at 150 dpi, read by jsQR and checked by qr-verify.js."""
    sealed = issue_sealed("skill", store, tmp_path / "issued")
    raster = run(require_tool("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1",
                 sealed.pdf_path, tmp_path / "page")  # fmt: skip
    assert raster.returncode == 0, raster.stderr
    (page,) = tmp_path.glob("page*.png")
    picture = Image.open(page).convert("RGBA")
    image = {
        "width": picture.width,
        "height": picture.height,
        "rgba": base64.b64encode(picture.tobytes()).decode(),
    }
    out = node(tmp_path, {"image": image, "jwks": jwks, "at": DAY})
    assert out["decoded_text"] and out["decoded_text"].startswith(PREFIX)
    cert = sealed.rendered.certificate
    assert out["verified"]["ok"] is True
    assert out["verified"]["claims"]["number"] == cert.number
    assert out["verified"]["claims"]["holder"] == cert.values["name"]


# -- refusals ------------------------------------------------------------------------


def test_a_flipped_signature_byte_is_refused(
    store: KeyStore, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    cose = bytearray(unpack(sign_claims(sample_claims("skill"), signer)))
    cose[-1] ^= 0x01  # the last byte of the COSE_Sign1 is the last byte of s
    text = pack(bytes(cose))
    assert python_refuses(text, trusted_signers(store.folder))
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] is False and got["code"] == "signature"
    assert "signature does not verify" in got["reason"] and "签名验证失败" in got["reason_zh"]
    assert got["claims"] is None  # unsigned data is never shown


def test_forged_claims_are_refused(
    store: KeyStore, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    claims = sample_claims("skill")
    original, forged = claims.to_cbor(), replace(claims, holder="李晓坤").to_cbor()
    assert len(original) == len(forged)  # the structure stays well-formed: only the signature
    cose = unpack(sign_claims(claims, signer))
    text = pack(cose.replace(original, forged))
    assert python_refuses(text, trusted_signers(store.folder))
    assert verify_js(tmp_path, text, jwks)["code"] == "signature"


def test_a_key_from_another_store_is_unknown(
    store: KeyStore, other_store: KeyStore, jwks: dict[str, Any], tmp_path: Path
) -> None:
    foreign = Sealer(other_store).ecdsa_signer
    text = sign_claims(sample_claims("skill"), foreign)
    assert python_refuses(text, trusted_signers(store.folder))
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] is False and got["code"] == "unknown_kid"
    assert got["kid"] == foreign.kid.hex() and "not in the trust list" in got["reason"]
    assert "不在信任列表中" in got["reason_zh"]
    # Trusting both bodies (one JWKS from both trust lists) makes it verify.
    both = jwks_from_trust_files([store.folder / "trust.json", other_store.folder / "trust.json"])
    trusted = verify_js(tmp_path, text, both)
    assert trusted["ok"] and trusted["issuer"]["name"] == "应急管理部培训中心"


@pytest.mark.parametrize("alg", [-35, -8, None])  # ES384, EdDSA, no algorithm
def test_a_protected_header_with_another_algorithm_is_refused(
    alg: int | None, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    header = {4: signer.kid} if alg is None else {1: alg, 4: signer.kid}
    # Correctly signed over that header: only the algorithm is wrong. Both verifiers refuse
    # a header that misstates the algorithm.
    text = pack(sign_with_header(sample_claims("skill").to_cbor(), signer, header))
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] is False and got["code"] == "alg" and "not ES256" in got["reason"]
    with pytest.raises(PayloadError, match="not ES256"):
        verify_payload(text, {signer.kid: signer.certificate})


def _cut(text: str, length: int) -> str:
    """`text` cut to `length` or, three characters at a time, shorter: never ending in a
    space. Space is a base45 character, but both verifiers strip the text they are given,
    so a cut ending in one would be read as another length."""
    while text[length - 1] == " ":
        length -= 3
    return text[:length]


def test_truncated_and_foreign_texts_are_refused(
    signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    text = sign_claims(sample_claims("skill"), signer)
    zipped = pack(sign_cose(replace(sample_claims("skill"), holder="欧阳" * 40).to_cbor(), signer))
    whole_groups = len(text) - (len(text) - len(PREFIX)) % 3
    zipped_groups = len(zipped) - (len(zipped) - len(PREFIX)) % 3
    cases = {
        _cut(text, whole_groups - 6): {"cose"},  # good base45; the COSE_Sign1 ends early
        _cut(text, whole_groups - 2): {"base45"},  # a dangling base45 character
        text[: len(text) // 2]: {"cose", "base45"},
        _cut(zipped, zipped_groups - 6): {"zlib"},  # good base45; the zlib stream ends early
        "HC1:" + text[len(PREFIX) :]: {"prefix"},
        "https://example.com/": {"prefix"},
        "": {"prefix"},
        PREFIX + "abc": {"base45"},  # lower case is not base45
        PREFIX + base45.b45encode(b"\xa1\x01\x02").decode(): {"cose"},  # a map, no tag 18
    }
    for bad, codes in cases.items():
        got = verify_js(tmp_path, bad, jwks)
        assert got["ok"] is False and got["code"] in codes, (bad[:30], got)
        assert got["reason"] and got["reason_zh"]


def test_malformed_signed_claims_are_refused(
    store: KeyStore, signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    good = cbor2.loads(sample_claims("skill").to_cbor())
    for payload in (
        cbor2.dumps([1, 2, 3]),  # not a map
        cbor2.dumps({**good, 1: 9}),  # unknown kind code
        cbor2.dumps({k: v for k, v in good.items() if k != 4}),  # no holder
        cbor2.dumps({**good, 6: "2025-04-18"}),  # a date as text
        cbor2.dumps({**good, 10: -1}),  # negative status index
        cbor2.dumps({**good, 6: 10**7}),  # past year 9999
    ):
        text = pack(sign_cose(payload, signer))
        assert python_refuses(text, trusted_signers(store.folder))
        got = verify_js(tmp_path, text, jwks)
        assert got["ok"] is False and got["code"] == "claims", got
        assert "签名数据格式错误" in got["reason_zh"]


def test_the_key_must_be_valid_on_the_issue_date(
    signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    # The signer's certificate starts 2024-01-01: a certificate "issued" in 2023 is refused,
    # though its signature verifies (the Python verifier's qr.key_validity step).
    text = sign_claims(replace(sample_claims("skill"), issued=date(2023, 6, 1)), signer)
    got = verify_js(tmp_path, text, jwks)
    assert got["ok"] is False and got["code"] == "key_validity"
    assert got["key_valid_on_issue"] is False
    assert got["claims"]["issued"] == "2023-06-01"  # signed data, shown with the refusal
    assert "not valid on the issue date 2023-06-01 (2024-01-01 – 2028-12-30)" in got["reason"]
    # A key listed without a validity cannot vouch for any date.
    no_dates = copy.deepcopy(jwks)
    del no_dates["keys"][0]["not_after"]
    fine = sign_claims(sample_claims("skill"), signer)
    assert verify_js(tmp_path, fine, no_dates)["code"] == "key_validity"


# -- the trust list: JWKS and its cache ----------------------------------------------


def test_the_jwks_holds_the_ecdsa_signers_of_every_generation(tmp_path: Path) -> None:
    identity = IssuerIdentity(ISSUER["name"], ISSUER["code"], "电子证书专用章")
    store = KeyStore.init(tmp_path / "keys", identity, KEYS_AT)
    store.rotate(KEYS_AT.replace(year=2025))
    trust = trust_of(store)
    keys = jwks_from_trust(trust)["keys"]
    ecdsa = [s for s in trust["signers"] if s["profile"] == "ecdsa"]
    assert [k["kid"] for k in keys] == [s["kid"] for s in ecdsa] and len(keys) == 2
    for key, entry in zip(keys, ecdsa, strict=True):
        cert = x509.load_pem_x509_certificate(entry["certificate"].encode())
        der = cert.public_bytes(serialization.Encoding.DER)
        public_key = cert.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        numbers = public_key.public_numbers()

        def coordinate(value: str) -> int:
            return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))

        assert (coordinate(key["x"]), coordinate(key["y"])) == (numbers.x, numbers.y)
        assert "=" not in key["x"] + key["y"] and len(key["x"]) == len(key["y"]) == 43
        assert base64.b64decode(key["x5c"][0], validate=True) == der
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
        assert key["issuer"] == ISSUER
        assert (key["not_before"], key["not_after"]) == (entry["not_before"], entry["not_after"])
    # The same list twice merges to the same keys.
    path = store.folder / "trust.json"
    assert jwks_from_trust_files([path, path])["keys"] == keys


def test_a_corrupt_trust_list_gives_no_jwks(store: KeyStore, tmp_path: Path) -> None:
    trust = trust_of(store)
    wrong_kid = copy.deepcopy(trust)
    for entry in wrong_kid["signers"]:
        if entry["profile"] == "ecdsa":
            entry["kid"] = "00" * 8
    with pytest.raises(JwksError, match="does not match its certificate"):
        jwks_from_trust(wrong_kid)
    with pytest.raises(JwksError, match="not a docgen-trust-list/1"):
        jwks_from_trust({**trust, "format": "something-else"})
    renamed = copy.deepcopy(trust)
    renamed["issuer"]["name"] = "另一个机构"
    (tmp_path / "a.json").write_text(json.dumps(trust), "utf-8")
    (tmp_path / "b.json").write_text(json.dumps(renamed), "utf-8")
    with pytest.raises(JwksError, match="listed twice with different details"):
        jwks_from_trust_files([tmp_path / "a.json", tmp_path / "b.json"])
    with pytest.raises(JwksError, match="cannot read trust list"):
        jwks_from_trust_files([tmp_path / "missing.json"])


def data_url(value: Any) -> str:
    return "data:application/json," + quote(json.dumps(value))


# fetch() refuses this port itself (the Fetch standard's "bad port" list): a failing
# request without any traffic, as when the phone is offline.
OFFLINE_URL = "http://127.0.0.1:9/trust/jwks.json"


def test_load_trust_caches_the_jwks_and_falls_back_to_it_offline(
    signer: Signer, jwks: dict[str, Any], tmp_path: Path
) -> None:
    text = sign_claims(sample_claims("skill"), signer)
    online = node(tmp_path, {"text": text, "at": DAY, "load_trust": {"url": data_url(jwks)}})
    assert online["trust"]["offline"] is False and online["verified"]["ok"]
    cached = online["stored"]
    assert cached["jwks"] == jwks and cached["fetched"] == online["trust"]["fetched"]

    offline = node(
        tmp_path, {"text": text, "at": DAY, "load_trust": {"url": OFFLINE_URL, "cached": cached}}
    )
    assert offline["trust"] == {**jwks, "fetched": cached["fetched"], "offline": True}
    assert offline["verified"]["ok"]

    # A captive portal's HTML page is no trust list: the cached copy is used, and kept.
    portal = "data:text/html,<html>login</html>"
    behind_portal = node(
        tmp_path, {"text": text, "at": DAY, "load_trust": {"url": portal, "cached": cached}}
    )
    assert behind_portal["trust"]["offline"] is True and behind_portal["stored"] == cached

    nothing = node(tmp_path, {"text": text, "at": DAY, "load_trust": {"url": OFFLINE_URL}})
    assert "no copy is cached" in nothing["trust"]["error"]
    assert "信任列表" in nothing["trust"]["reason_zh"]
    assert nothing["verified"]["ok"] is False and nothing["verified"]["code"] == "unknown_kid"


def test_the_driver_fails_loudly(tmp_path: Path) -> None:
    """A broken run exits non-zero, so node() can never pass on a crash."""
    result = subprocess.run(
        [require_tool("node"), str(DRIVER), str(tmp_path / "no-such-case.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "ENOENT" in result.stderr
