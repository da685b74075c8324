"""The PDF: text extraction, structure (qpdf), embedded fonts and metadata (poppler)."""

from __future__ import annotations

import pytest

from .conftest import Issued, require_tool, run


def test_pdftotext_extracts_holder_name_and_number(each: Issued) -> None:
    result = run(require_tool("pdftotext"), each.pdf_path, "-")
    assert result.returncode == 0, result.stderr
    cert = each.rendered.certificate
    assert cert.values["name"] in result.stdout
    assert cert.number in result.stdout


def test_qpdf_check_reports_no_problem(each: Issued) -> None:
    result = run(require_tool("qpdf"), "--check", each.pdf_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_qpdf_check_notices_a_damaged_file(issued: dict[str, Issued], tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(issued["skill"].pdf_path.read_bytes())
    xref = data.rfind(b"startxref")
    data[xref + 10 : xref + 14] = b"9999"  # point startxref at nonsense
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(bytes(data))
    assert run("qpdf", "--check", broken).returncode != 0


def test_every_font_is_embedded_as_a_subset(each: Issued) -> None:
    result = run(require_tool("pdffonts"), each.pdf_path)
    rows = result.stdout.splitlines()[2:]
    assert rows
    for row in rows:
        name, *_rest = row.split()
        assert "+" in name, row  # subset tag ABCDEF+Name
        assert " yes yes " in row, row  # emb and sub columns


def test_info_and_xmp_carry_the_gbt36903_metadata(each: Issued) -> None:
    cert = each.rendered.certificate
    info = run(require_tool("pdfinfo"), "-isodates", each.pdf_path).stdout
    assert f"Subject:         {cert.identifier}" in info
    assert "CreationDate:    2026-11-20T10:00:00+08" in info
    lines = run("pdfinfo", "-custom", each.pdf_path).stdout.splitlines()
    custom = dict((k, v.strip()) for k, _, v in (line.partition(":") for line in lines))
    assert custom["GBT36903LicenceIdentifier"] == cert.identifier
    assert custom["GBT36903Holder"] == cert.values["name"]
    assert custom["GBT36903LicenceNumber"] == cert.number
    xmp = run("pdfinfo", "-meta", each.pdf_path).stdout
    assert f"<dc:identifier>{cert.identifier}</dc:identifier>" in xmp
    assert f"<ecert:LicenceNumber>{cert.number}</ecert:LicenceNumber>" in xmp


@pytest.mark.parametrize("kind", ["rescuer", "special-ops"])
def test_rare_characters_extract_as_themselves(issued: dict[str, Issued], kind: str) -> None:
    """䶮 (Ext A) and 𠈌 (Ext B, outside the BMP) come back out of the PDF unchanged."""
    name = issued[kind].rendered.certificate.values["name"]
    assert any(ord(c) > 0x3400 and not "\u4e00" <= c <= "\u9fff" for c in name)
    text = run("pdftotext", issued[kind].pdf_path, "-").stdout
    assert name in text
