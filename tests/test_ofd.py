"""The OFD package: XSD validity, ofdkit extraction, IDs, embedded fonts."""

from __future__ import annotations

import io
import re
import zipfile

import ofdkit
import pytest
from fontTools.ttLib import TTFont
from lxml import etree

from docgen.kinds import load_kind
from docgen.ofd import DOC_ROOT, OFD_NS, read_package
from docgen.ofd.writer import ANNOTATION_IDS

from .conftest import SCHEMAS, Issued

NS = {"ofd": OFD_NS}


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    return {
        name: etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
        for name in ("OFD.xsd", "Document.xsd", "Res.xsd", "Page.xsd")
    }


def schema_for(part: str) -> str:
    if part == "OFD.xml":
        return "OFD.xsd"
    if part.endswith("Document.xml"):
        return "Document.xsd"
    if part.endswith("Res.xml"):
        return "Res.xsd"
    if re.search(r"Pages/Page_\d+/Content\.xml$", part):
        return "Page.xsd"
    raise AssertionError(f"no schema for {part}")


def test_every_xml_part_validates_against_the_xsd(
    each: Issued, schemas: dict[str, etree.XMLSchema]
) -> None:
    parts = read_package(each.ofd_path.read_bytes())
    xml_parts = [p for p in parts if p.endswith(".xml")]
    assert {"OFD.xml", DOC_ROOT, "Doc_0/PublicRes.xml", "Doc_0/DocumentRes.xml"} <= set(parts)
    assert any(p.endswith("Content.xml") for p in xml_parts)
    for part in xml_parts:
        schema = schemas[schema_for(part)]
        assert schema.validate(etree.fromstring(parts[part])), (part, schema.error_log)


def test_the_xsd_check_rejects_a_broken_part(
    issued: dict[str, Issued], schemas: dict[str, etree.XMLSchema]
) -> None:
    parts = read_package(issued["skill"].ofd_path.read_bytes())
    root = etree.fromstring(parts[DOC_ROOT])
    common = root.find("ofd:CommonData", NS)
    common.insert(0, common[1])  # PageArea before MaxUnitID: out of order
    assert not schemas["Document.xsd"].validate(root)


def test_ofdkit_extracts_holder_name_and_number(each: Issued) -> None:
    text = ofdkit.extract_text(str(each.ofd_path))
    cert = each.rendered.certificate
    assert cert.values["name"] in text
    assert cert.number in text


def test_ids_are_unique_and_max_unit_id_is_the_largest(each: Issued) -> None:
    """MaxUnitID is the largest ID; a kind with a 加注 band keeps exactly the band's IDs
    free above the last one used (its annotated copies use them)."""
    parts = read_package(each.ofd_path.read_bytes())
    ids: list[int] = []
    for name, data in parts.items():
        if name.endswith(".xml"):
            ids += [int(e.get("ID")) for e in etree.fromstring(data).iter() if e.get("ID")]
    assert len(ids) == len(set(ids))
    max_unit = etree.fromstring(parts[DOC_ROOT]).findtext(
        "ofd:CommonData/ofd:MaxUnitID", namespaces=NS
    )
    reserved = ANNOTATION_IDS if "band" in load_kind(each.kind).annotation else 0
    assert int(max_unit) == max(ids) + reserved


def test_every_referenced_resource_is_in_the_package(each: Issued) -> None:
    parts = read_package(each.ofd_path.read_bytes())
    for res in ("Doc_0/PublicRes.xml", "Doc_0/DocumentRes.xml"):
        root = etree.fromstring(parts[res])
        base = root.get("BaseLoc")
        for loc in root.iter(f"{{{OFD_NS}}}FontFile", f"{{{OFD_NS}}}MediaFile"):
            assert f"Doc_0/{base}/{loc.text}" in parts


def test_ofd_zip_entries_are_deflated_and_in_order(each: Issued) -> None:
    """XML and fonts are deflated; pictures (compressed already) are stored."""
    with zipfile.ZipFile(each.ofd_path) as archive:
        names = archive.namelist()
        assert names[0] == "OFD.xml"
        methods = {i.filename.rsplit(".", 1)[-1]: i.compress_type for i in archive.infolist()}
        assert methods.pop("jpg") == methods.pop("png") == zipfile.ZIP_STORED, methods
        assert set(methods.values()) == {zipfile.ZIP_DEFLATED}, methods
        assert {"xml", "ttf"} <= set(methods)


def _outline(font: TTFont, char: str) -> tuple[object, ...]:
    name = font.getBestCmap()[ord(char)]
    glyph = font["glyf"][name]
    coords, ends, flags = glyph.getCoordinates(font["glyf"])
    return (list(coords), list(ends), [f & 1 for f in flags], font["hmtx"][name][0])


def test_embedded_font_subset_holds_the_source_outlines(each: Issued) -> None:
    """The subset in the OFD has, for every character drawn with it, the source's outline
    and advance — and nothing is drawn from a face whose subset lacks the character."""
    layout = each.rendered.layout
    parts = read_package(each.ofd_path.read_bytes())
    res = etree.fromstring(parts["Doc_0/PublicRes.xml"])
    files = {
        f.get("FontName"): f.findtext("ofd:FontFile", namespaces=NS)
        for f in res.iter(f"{{{OFD_NS}}}Font")
    }
    for face, chars in layout.faces().values():
        subset = TTFont(io.BytesIO(parts[f"Doc_0/Res/{files[face.family]}"]))
        source = TTFont(str(face.path), fontNumber=face.index, lazy=True)
        assert set(subset.getBestCmap()) == {ord(c) for c in chars}
        for char in chars:
            assert _outline(subset, char) == _outline(source, char), (face.family, char)
