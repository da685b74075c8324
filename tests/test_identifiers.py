"""GB/T 36904 identifiers and skill-number structure."""

from __future__ import annotations

import pytest
from stdnum.iso7064 import mod_37_36

from docgen.identifiers import licence_identifier, parse_licence_identifier, parse_skill_number

TYPE = "11100000000019001E001"
ISSUER = "12320000MB1A00015T"


def test_identifier_layout_and_check_character() -> None:
    ident = licence_identifier(TYPE, ISSUER, "S000032000123254000087", 1)
    root, body = ident[:14], ident[15:]
    assert root == "1.2.156.3005.2"
    type_code, issuer, serial, version, check = body.split(".")
    assert (type_code, issuer, serial, version) == (TYPE, ISSUER, "S000032000123254000087", "001")
    assert mod_37_36.is_valid(type_code + issuer + serial + version + check)
    assert parse_licence_identifier(ident) == (TYPE, ISSUER, "S000032000123254000087", 1)


def test_a_changed_character_breaks_the_check() -> None:
    ident = licence_identifier(TYPE, ISSUER, "T440303198511203314", 2)
    tampered = ident.replace("T440303198511203314", "T440303198511203315")
    with pytest.raises(ValueError, match="check character"):
        parse_licence_identifier(tampered)


@pytest.mark.parametrize(
    "args",
    [
        ("SHORT", ISSUER, "X1", 1),
        (TYPE, "12320000MB1A00015", "X1", 1),
        (TYPE, ISSUER, "x-1", 1),
        (TYPE, ISSUER, "X1", 1000),
    ],
)
def test_malformed_parts_are_refused(args: tuple[str, str, str, int]) -> None:
    with pytest.raises(ValueError):
        licence_identifier(*args)


def test_skill_number_parts() -> None:
    parts = parse_skill_number("S000032000123254000087")
    assert (parts.body_type, parts.ministry_code, parts.province) == ("S", "0000", "32")
    assert (parts.site, parts.year, parts.level, parts.serial) == ("000123", "25", 4, "000087")
