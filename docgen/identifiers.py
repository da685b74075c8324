"""Identifiers: GB/T 36904 electronic-licence identifiers and certificate-number structures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_37_36

__all__ = [
    "LICENCE_ROOT",
    "PROVINCE_CODES",
    "SkillNumber",
    "licence_identifier",
    "parse_licence_identifier",
    "parse_skill_number",
    "validate_resident_id",
]

#: GB/T 36904 root arc for electronic licences.
LICENCE_ROOT = "1.2.156.3005.2"

#: GB/T 2260 province-level codes (first two digits of an area code).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)

_ALNUM = re.compile(r"^[0-9A-Z]+$")


def licence_identifier(type_code: str, issuer_code: str, serial: str, version: int = 1) -> str:
    """Build a GB/T 36904 identifier ``root.type.issuer.serial.version.check``.

    ``type_code`` is the defining agency's 18-character credit code plus a 3-digit sequence,
    ``issuer_code`` the issuer's 18-character credit code, ``serial`` the certificate's serial
    (upper-case letters and digits). The check character is ISO/IEC 7064 MOD 37,36 over the
    four parts concatenated.

    Raises:
        ValueError: a part has the wrong length or alphabet.
    """
    if len(type_code) != 21 or not _ALNUM.match(type_code):
        raise ValueError(f"type code must be 21 upper-case letters/digits, got {type_code!r}")
    if len(issuer_code) != 18 or not _ALNUM.match(issuer_code):
        raise ValueError(f"issuer code must be 18 upper-case letters/digits, got {issuer_code!r}")
    if not serial or not _ALNUM.match(serial):
        raise ValueError(f"serial must be upper-case letters/digits, got {serial!r}")
    if not 0 < version < 1000:
        raise ValueError(f"version must be 1..999, got {version}")
    ver = f"{version:03d}"
    check = mod_37_36.calc_check_digit(type_code + issuer_code + serial + ver)
    return f"{LICENCE_ROOT}.{type_code}.{issuer_code}.{serial}.{ver}.{check}"


def parse_licence_identifier(identifier: str) -> tuple[str, str, str, int]:
    """Split and check an identifier; returns ``(type_code, issuer_code, serial, version)``.

    Raises:
        ValueError: not under the GB/T 36904 root, malformed, or the check character is wrong.
    """
    if not identifier.startswith(LICENCE_ROOT + "."):
        raise ValueError("not a GB/T 36904 identifier")
    parts = identifier[len(LICENCE_ROOT) + 1 :].split(".")
    if len(parts) != 5:
        raise ValueError("expected type.issuer.serial.version.check")
    type_code, issuer_code, serial, ver, check = parts
    try:
        mod_37_36.validate(type_code + issuer_code + serial + ver + check)
    except StdnumError as exc:
        raise ValueError(f"check character is wrong ({exc})") from exc
    return type_code, issuer_code, serial, int(ver)


@dataclass(frozen=True)
class SkillNumber:
    """The parts of a 22-character 职业技能等级证书 number (DOMAIN.md §1, K2)."""

    body_type: str  # Y = employer, S = social evaluation body
    ministry_code: str
    province: str
    site: str
    year: str
    level: int
    serial: str


def parse_skill_number(number: str) -> SkillNumber:
    """Split a 22-character skill certificate number into its parts.

    Raises:
        ValueError: with a message naming the position that is wrong.
    """
    if len(number) != 22:
        raise ValueError(f"must be 22 characters (1 letter + 21 digits), got {len(number)}")
    if number[0] not in "YS":
        raise ValueError(
            f"position 1 must be Y (employer) or S (evaluation body), got {number[0]!r}"
        )
    if not number[1:].isdigit() or not number[1:].isascii():
        raise ValueError("positions 2-22 must be digits")
    province = number[5:7]
    if province not in PROVINCE_CODES:
        raise ValueError(f"positions 6-7 must be a province code, got {province!r}")
    level = int(number[15])
    if not 1 <= level <= 5:
        raise ValueError(f"position 16 must be a level 1-5, got {level}")
    return SkillNumber(
        body_type=number[0],
        ministry_code=number[1:5],
        province=province,
        site=number[7:13],
        year=number[13:15],
        level=level,
        serial=number[16:22],
    )


def validate_resident_id(number: str) -> str:
    """A 居民身份证号码 checked as python-stdnum's ``cn.ric.validate`` checks it (length,
    digits, check character, birth date, birth place; the same exceptions, but
    InvalidComponent where stdnum's own table makes it fail with KeyError), with the
    birth-place look-up kept per area code and year of birth: stdnum searches its area
    table anew each time (0.2 ms), and a batch checks every number twice.

    Raises:
        stdnum.exceptions.ValidationError: as ``cn.ric.validate`` does.
    """
    number = ric.compact(number)
    if len(number) != 18:
        raise InvalidLength()
    if not number[:-1].isdigit() or not number[:-1].isascii():
        raise InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidChecksum()
    ric.get_birth_date(number)
    if not _birth_place_known(number[:6], number[6:10]):
        raise InvalidComponent()
    return number


@lru_cache(maxsize=8192)
def _birth_place_known(area: str, year: str) -> bool:
    """Whether ``area`` was a county of birth in ``year`` (stdnum reads only these). An
    area stdnum's table lists without a county for that year (460321 in 1912) makes stdnum
    raise KeyError: not known either."""
    try:
        ric.get_birth_place(f"{area}{year}01010000")
    except (InvalidComponent, KeyError):
        return False
    return True
