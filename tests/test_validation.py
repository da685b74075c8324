"""Record validation: one problem per broken field or rule, each naming its field."""

from __future__ import annotations

import base64
import io
from datetime import date
from typing import Any

import pytest
from PIL import Image

from docgen.errors import RecordError
from docgen.kinds import load_kind
from docgen.layout import build_layout
from docgen.samples import sample_record
from docgen.validation import Certificate, validate_record

from .conftest import AT


def check(kind: str, **changes: Any) -> Certificate:
    record = sample_record(kind)
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return validate_record(load_kind(kind), record, AT)


def problems(kind: str, **changes: Any) -> dict[str, str]:
    with pytest.raises(RecordError) as caught:
        check(kind, **changes)
    return {p.field: p.message for p in caught.value.problems}


def png_data_uri(size: tuple[int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 200, 200)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.mark.parametrize(
    "kind", ["rescuer", "skill", "safety-engineer", "special-ops", "safety-manager"]
)
def test_every_sample_is_valid(kind: str) -> None:
    cert = check(kind)
    assert cert.identifier.startswith("1.2.156.3005.2.")
    assert cert.number in cert.identifier


def test_wrong_id_check_character_names_the_field_and_the_right_one() -> None:
    found = problems("skill", id_number="320102199207152421")
    assert set(found) == {"id_number"}
    assert "check character is wrong (expected 8)" in found["id_number"]


def test_level_digit_must_match_the_level() -> None:
    found = problems("skill", level="三级/高级工")
    assert "position 16" in found["number"] and "needs 3" in found["number"]


def test_skill_number_structure_is_checked_position_by_position() -> None:
    assert "22 characters" in problems("skill", number="S00003200012325400008")["number"]
    assert "position 1" in problems("skill", number="X000032000123254000087")["number"]
    assert "province" in problems("skill", number="S000099000123254000087")["number"]


def test_missing_photo_is_refused() -> None:
    assert "required" in problems("skill", photo=None)["photo"]


@pytest.mark.parametrize(
    "photo, expected",
    [
        ("data:image/png;base64,AAAA", "not a readable image"),
        ("no/such/file.jpg", "cannot read photo file"),
    ],
)
def test_a_photo_must_be_a_real_image(photo: str, expected: str) -> None:
    assert expected in problems("skill", photo=photo)["photo"]


def test_a_tiny_photo_is_refused() -> None:
    assert "at least 90×120" in problems("skill", photo=png_data_uri((40, 50)))["photo"]


def test_dates_in_the_future_are_refused() -> None:
    found = problems("skill", issue_date="2026-11-21")
    assert "in the future" in found["issue_date"]


def test_impossible_dates_are_refused() -> None:
    assert (
        "not a real date"
        in problems("safety-engineer", approval_date="2025-02-30")["approval_date"]
    )


def test_several_problems_are_all_reported_at_once() -> None:
    found = problems("skill", id_number="1", photo=None, bogus="x", level="六级")
    assert set(found) == {"id_number", "photo", "bogus", "level"}


def test_gender_must_agree_with_the_id_number() -> None:
    assert "disagrees" in problems("skill", gender="男")["gender"]


def test_gender_and_birth_date_come_from_the_id_number() -> None:
    cert = check("safety-engineer")
    assert cert.values["gender"] == "男"
    assert cert.values["birth_date"] == date(1979, 2, 4)


def test_other_id_types_skip_the_gb11643_check() -> None:
    cert = check("skill", id_type="护照", id_number="E12345678", gender="女")
    assert cert.values["id_number"] == "E12345678"


def test_credit_code_check_character() -> None:
    assert "统一社会信用代码" in problems("skill", issuer_code="12320000MB1A00015X")["issuer_code"]


def test_special_ops_dates_are_derived_from_the_first_issue_date() -> None:
    cert = check("special-ops")
    assert cert.values["valid_from"] == date(2025, 3, 1)
    assert cert.values["valid_to"] == date(2031, 3, 1)
    assert cert.values["review_date"] == date(2028, 3, 1)
    assert cert.number == "T" + cert.values["id_number"]


def test_a_renewed_card_keeps_its_first_issue_date() -> None:
    cert = check("special-ops", valid_from="2026-03-01", issue_date="2026-03-01")
    assert cert.values["first_issue_date"] == date(2025, 3, 1)
    assert cert.values["valid_to"] == date(2032, 3, 1)


def test_special_ops_rules() -> None:
    assert "6 years" in problems("special-ops", valid_to="2030-03-01")["valid_to"]
    assert "must be 'T440303198511203314'" in problems("special-ops", number="T1")["number"]
    assert "is not an item of 电工作业" in problems("special-ops", item="司钻作业")["item"]
    assert "before" in problems("special-ops", valid_from="2024-01-01")["valid_from"]


def test_rescuer_pass_rules() -> None:
    assert "pass mark 60" in problems("rescuer", theory_score=59)["theory_score"]
    found = problems("rescuer", skill_mandatory_score=50, skill_drawn_score=70)
    assert "55" in found["skill_score"]
    assert check("rescuer").values["skill_score"] == 79.8  # 0.75 × 78 + 0.25 × 85 = 79.75


def test_a_character_no_font_has_is_refused_with_its_code_point() -> None:
    message = problems("skill", name="王\U000300a0")["name"]
    assert "U+300A0" in message


def test_a_value_too_long_for_its_box_is_refused_at_layout() -> None:
    cert = check("special-ops", issuer="某" * 60)
    with pytest.raises(RecordError) as caught:
        build_layout(cert)
    assert caught.value.problems[0].field == "issuer"
    assert "does not fit" in caught.value.problems[0].message
