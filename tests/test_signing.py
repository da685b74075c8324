"""Sealed files judged by outsiders: OpenSSL (SES, CMS), the OFD XSD, pdfsig, pyHanko."""

from __future__ import annotations

import io
import re
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as a509
from lxml import etree
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from docgen.gm import OID_SM3, sm3
from docgen.ofd.signatures import digest
from docgen.ses.v4 import SES_Signature, SESeal

from .conftest import SCHEMAS, Sealed, issue_sealed, openssl_sm2_verifies, require_tool, run
from .ofd_signature import read_signature

DISTID = "distid:1234567812345678"


def openssl_verifies_ses(signed_value: bytes, folder: Path) -> bool:
    """OpenSSL's verdict on SM3withSM2 over DER(TBS_Sign) by the embedded signer cert."""
    ses = SES_Signature.load(signed_value)
    (folder / "tbs.der").write_bytes(ses["toSign"].dump())
    (folder / "sig.der").write_bytes(ses["signature"].native)
    (folder / "signer.pem").write_bytes(pem.armor("CERTIFICATE", ses["cert"].native))
    run(
        require_tool("openssl"),
        "x509",
        "-in",
        folder / "signer.pem",
        "-pubkey",
        "-noout",
        "-out",
        folder / "signer.pub",
    )
    return openssl_sm2_verifies(folder / "signer.pub", folder / "tbs.der", folder / "sig.der")


def test_openssl_verifies_the_ses_signature_and_data_hash(
    each_sealed: Sealed, tmp_path: Path
) -> None:
    sig = read_signature(each_sealed.ofd_path.read_bytes())
    assert sig.sign_type == "Seal"
    assert openssl_verifies_ses(sig.signed_value, tmp_path)
    ses = SES_Signature.load(sig.signed_value)
    assert ses["toSign"]["version"].native == 4
    assert ses["toSign"]["dataHash"].native == sm3(sig.signature_xml)
    assert ses["toSign"]["propertyInfo"].native == "/" + sig.signature_path
    assert ses["toSign"]["eseal"].dump() == sig.parts["Doc_0/Signs/Sign_0/Seal.esl"]
    chain = run(
        "openssl",
        "verify",
        "-vfyopt",
        DISTID,
        "-CAfile",
        each_sealed.store.folder / "sm2/root.pem",
        tmp_path / "signer.pem",
    )
    assert chain.returncode == 0, chain.stderr


def test_every_reference_digest_matches_the_raw_bytes(each_sealed: Sealed) -> None:
    sig = read_signature(each_sealed.ofd_path.read_bytes())
    assert sig.check_method == OID_SM3
    # Every file present at signing time but the list of signatures, which an annotated
    # copy's second signature extends.
    unsigned = set(sig.parts) - {
        sig.signature_path,
        "Doc_0/Signs/Sign_0/SignedValue.dat",
        "Doc_0/Signs/Signatures.xml",
    }
    assert set(sig.references) == unsigned
    assert {"OFD.xml", "Doc_0/Signs/Sign_0/Seal.esl"} <= unsigned
    for path, value in sig.references.items():
        assert digest(sig.check_method, sig.parts[path]) == value, path


def test_flipping_a_byte_of_any_referenced_file_breaks_its_digest(
    sealed: dict[str, Sealed],
) -> None:
    sig = read_signature(sealed["skill"].ofd_path.read_bytes())
    for path in sig.references:
        data = bytearray(sig.parts[path])
        data[len(data) // 2] ^= 0x01
        assert digest(sig.check_method, bytes(data)) != sig.references[path], path


def test_a_changed_signature_file_or_signed_value_fails(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    sig = read_signature(sealed["skill"].ofd_path.read_bytes())
    changed = bytearray(sig.signature_xml)
    changed[-30] ^= 0x01
    ses = SES_Signature.load(sig.signed_value)
    assert ses["toSign"]["dataHash"].native != sm3(bytes(changed))
    value = bytearray(sig.signed_value)
    tbs_len = len(ses["toSign"].dump())
    value[tbs_len - 10] ^= 0x01  # inside TBS_Sign (propertyInfo)
    assert not openssl_verifies_ses(bytes(value), tmp_path)


def relaxed_signature_schema() -> etree.XMLSchema:
    """Signature.xsd with CheckMethod's MD5/SHA1-only enumeration lifted (FORMATS.md)."""
    text = (SCHEMAS / "Signature.xsd").read_text("utf-8")
    relaxed = re.sub(
        r'<xs:attribute name="CheckMethod".*?</xs:attribute>',
        '<xs:attribute name="CheckMethod" type="xs:string" />',
        text,
        flags=re.S,
    )
    assert relaxed != text
    parser = etree.XMLParser()
    parser.resolvers.add(_SchemaDir())
    return etree.XMLSchema(etree.fromstring(relaxed.encode(), parser, base_url=str(SCHEMAS) + "/"))


class _SchemaDir(etree.Resolver):
    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        return None


def test_signature_parts_validate_against_the_xsd(each_sealed: Sealed) -> None:
    sig = read_signature(each_sealed.ofd_path.read_bytes())
    schema = relaxed_signature_schema()
    assert schema.validate(etree.fromstring(sig.signature_xml)), schema.error_log
    signatures = etree.XMLSchema(etree.parse(str(SCHEMAS / "Signatures.xsd")))
    assert signatures.validate(etree.fromstring(sig.parts["Doc_0/Signs/Signatures.xml"]))
    ofd_schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "OFD.xsd")))
    assert ofd_schema.validate(etree.fromstring(sig.parts["OFD.xml"]))


def test_the_seal_in_the_file_is_the_key_stores_seal(each_sealed: Sealed) -> None:
    sig = read_signature(each_sealed.ofd_path.read_bytes())
    esl, _ = each_sealed.store.seal()
    assert sig.parts["Doc_0/Signs/Sign_0/Seal.esl"] == esl
    seal = SESeal.load(esl)
    assert seal["eSealInfo"]["header"]["version"].native == 4


def test_the_seal_picture_is_one_ink_in_levels_of_coverage() -> None:
    """The picture is an indexed PNG of the seal red only (coverage in its transparency),
    and to the eye the drawing it was made from: at most 8/255 apart in coverage."""
    from PIL import Image

    from docgen.signing import sealpic

    issuer, title = "中华人民共和国应急管理部职业技能鉴定中心", "职业技能等级证书专用章"
    png = sealpic.draw_seal(issuer, title)
    picture = Image.open(io.BytesIO(png))
    assert picture.mode == "P" and len(png) < 30_000
    palette = picture.getpalette() or []
    inks = set(zip(palette[0::3], palette[1::3], palette[2::3], strict=True))
    assert inks == {sealpic.SEAL_RED[:3]}
    original = sealpic._drawing(issuer, title)
    coverage = picture.convert("RGBA").getchannel("A").tobytes()
    expected = original.getchannel("A").tobytes()
    assert max(abs(a - b) for a, b in zip(coverage, expected, strict=True)) <= 8


def nss_db(root_pem: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = f"sql:{folder}"
    run(require_tool("certutil"), "-N", "-d", db, "--empty-password")
    added = run("certutil", "-A", "-d", db, "-n", "root", "-t", "CT,C,C", "-i", root_pem)
    assert added.returncode == 0, added.stderr
    return db


def test_pdfsig_says_valid_total_and_trusted(each_sealed: Sealed, tmp_path: Path) -> None:
    db = nss_db(each_sealed.store.folder / "ecdsa/root.pem", tmp_path)
    out = run(require_tool("pdfsig"), "-nssdir", db, each_sealed.pdf_path).stdout
    assert "Signature is Valid" in out
    assert "Total document signed" in out
    assert "Certificate is Trusted" in out


def pyhanko_status(pdf: bytes, roots: list[a509.Certificate]):  # type: ignore[no-untyped-def]
    reader = PdfFileReader(io.BytesIO(pdf))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    return validate_pdf_signature(reader.embedded_signatures[0], context)


def test_pyhanko_says_intact_valid_trusted_only_with_our_root(sealed: dict[str, Sealed]) -> None:
    item = sealed["skill"]
    root = a509.Certificate.load(item.store.certificate("ecdsa/root.pem"))
    pdf = item.pdf_path.read_bytes()
    status = pyhanko_status(pdf, [root])
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    other = a509.Certificate.load(sealed["rescuer"].store.certificate("ecdsa/root.pem"))
    untrusted = pyhanko_status(pdf, [other])
    assert untrusted.intact and not untrusted.trusted


def test_pyhanko_cli_validates_with_our_root(sealed: dict[str, Sealed]) -> None:
    item = sealed["special-ops"]
    cli = Path(__import__("sys").executable).with_name("pyhanko")
    result = run(
        cli,
        "sign",
        "validate",
        "--trust",
        item.store.folder / "ecdsa/root.pem",
        "--trust-replace",
        "--no-revocation-check",
        item.pdf_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INTACT:TRUSTED" in result.stdout


def test_flipping_a_byte_in_the_signed_range_is_detected(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    item = sealed["skill"]
    data = bytearray(item.pdf_path.read_bytes())
    start = data.find(b"/Contents <")
    data[start - 200] ^= 0x01  # before the signature value: inside the signed range
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(bytes(data))
    db = nss_db(item.store.folder / "ecdsa/root.pem", tmp_path / "nss")
    out = run("pdfsig", "-nssdir", db, flipped).stdout
    assert "Signature is Valid" not in out
    root = a509.Certificate.load(item.store.certificate("ecdsa/root.pem"))
    assert not pyhanko_status(bytes(data), [root]).intact


def test_the_ecdsa_profile_signs_the_ofd_with_cms(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    item = issue_sealed("skill", sealed["skill"].store, tmp_path / "ecdsa", profile="ecdsa")
    sig = read_signature(item.ofd_path.read_bytes())
    assert sig.sign_type == "Sign"
    for path, value in sig.references.items():
        assert digest(sig.check_method, sig.parts[path]) == value
    (tmp_path / "sv.der").write_bytes(sig.signed_value)
    (tmp_path / "sig.xml").write_bytes(sig.signature_xml)
    args = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        tmp_path / "sv.der",
        "-CAfile",
        item.store.folder / "ecdsa/root.pem",
        "-purpose",
        "any",
        "-out",
        tmp_path / "out",
    ]
    good = run(require_tool("openssl"), *args, "-content", tmp_path / "sig.xml")
    assert good.returncode == 0, good.stderr
    (tmp_path / "bad.xml").write_bytes(sig.signature_xml.replace(b"docgen", b"docgeN", 1))
    assert run("openssl", *args, "-content", tmp_path / "bad.xml").returncode != 0
