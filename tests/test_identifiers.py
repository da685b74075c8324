"""GB/T 36904 identifiers and skill-number structure."""

from __future__ import annotations

import random

import pytest
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent, ValidationError
from stdnum.iso7064 import mod_37_36

from docgen.identifiers import (
    licence_identifier,
    parse_licence_identifier,
    parse_skill_number,
    validate_resident_id,
)

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


def _outcome(check: object, number: str) -> object:
    try:
        return check(number)  # type: ignore[operator]
    except ValidationError as exc:
        return type(exc)
    except KeyError:  # stdnum's table lists some areas without a county in some years
        return InvalidComponent


def test_resident_ids_are_judged_as_stdnum_judges_them() -> None:
    """Valid numbers (areas of several years, the check character X), and numbers with a
    wrong check character, length, digit, birth date or area: the same answer or the same
    exception as python-stdnum's cn.ric.validate, whose area look-up ours keeps."""
    rng = random.Random(7)
    areas = ["110101", "320102", "440303", "650102", "999999", "110100", "460321", "230881"]
    numbers = []
    for _ in range(400):
        body = (
            rng.choice(areas)
            + str(rng.randint(1900, 2030))
            + f"{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
            + f"{rng.randint(0, 999):03d}"
        )
        numbers.append(body + ric.calc_check_digit(body + "0"))
        numbers.append(body + rng.choice("0123456789X"))
    numbers += [
        "11010119900307123",
        "1101011990030712345",
        "11010119900307ABCX",
        " 110101 19900307 1234",
    ]
    outcomes = {_outcome(ric.validate, n) for n in numbers}
    assert str in {type(o) for o in outcomes} and len(outcomes) > 4  # valid and each failure
    for number in numbers:
        assert _outcome(validate_resident_id, number) == _outcome(ric.validate, number), number


def test_an_area_stdnum_lists_without_a_county_is_a_named_problem_not_a_crash() -> None:
    """python-stdnum raises KeyError for 460321 in 1912 (its table has no county then): the
    record gets a problem on id_number instead of an exception (it escaped before)."""
    from docgen.clock import parse_at
    from docgen.errors import RecordError
    from docgen.kinds import load_kind
    from docgen.samples import sample_record
    from docgen.validation import validate_record

    number = "460321191203025709"
    with pytest.raises(KeyError):
        ric.validate(number)
    record = {**sample_record("skill"), "id_number": number}
    with pytest.raises(RecordError) as refused:
        validate_record(load_kind("skill"), record, parse_at("2026-11-20T10:00:00"))
    assert [p.field for p in refused.value.problems] == ["id_number"]
