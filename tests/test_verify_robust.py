"""Hostile input: damaged files never raise out of the verifier and are never authentic
when a signed byte changed."""

from __future__ import annotations

import random
import re

import pytest

from docgen.ofd import read_package
from verify.api import verify_bytes
from verify.report import Verdict
from verify.trust import TrustList

from .conftest import AT, Sealed

FLIPS = 40


def signed_content_changed(which: str, original: bytes, damaged: bytes, position: int) -> bool:
    """Whether the flip touched what the signatures protect.

    OFD signatures protect the parts' contents, not the ZIP container (a flip in the central
    directory's timestamps leaves the document intact); a PDF signature protects its
    /ByteRange, everything but the signature value itself."""
    if which == "ofd":
        try:
            return read_package(damaged) != read_package(original)
        except ValueError:
            return True
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", original)
    assert match
    a, b, c, d = (int(v) for v in match.groups())
    return a <= position < a + b or c <= position < c + d


@pytest.mark.parametrize("which", ["ofd", "pdf"])
def test_random_byte_flips_in_signed_content_are_never_authentic(
    sealed: dict[str, Sealed], which: str
) -> None:
    item = sealed["skill"]
    original = (item.ofd_path if which == "ofd" else item.pdf_path).read_bytes()
    trust = TrustList.load([item.store.folder / "trust.json"])
    assert verify_bytes(original, which, trust, AT).verdict is Verdict.AUTHENTIC
    rng = random.Random(20261123)
    touched = 0
    for _ in range(FLIPS):
        data = bytearray(original)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        report = verify_bytes(bytes(data), which, trust, AT)  # never raises
        if not signed_content_changed(which, original, bytes(data), position):
            continue
        touched += 1
        assert report.verdict is not Verdict.AUTHENTIC, (position, report.to_text())
        if report.verdict is Verdict.CANNOT_VERIFY:
            # a damaged ZIP (CRC of a part, a broken directory) is unreadable, and says why
            assert which == "ofd" and "damaged" in str(report.unreadable), report.to_text()
        else:
            assert report.failed_steps, report.to_text()
    assert touched > FLIPS // 2  # the flips did exercise the signed content


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_files_are_reported_not_raised(sealed: dict[str, Sealed], cut: float) -> None:
    item = sealed["skill"]
    trust = TrustList.load([item.store.folder / "trust.json"])
    for path in (item.ofd_path, item.pdf_path):
        data = path.read_bytes()
        report = verify_bytes(data[: int(len(data) * cut)], path.name, trust, AT)
        assert report.verdict is not Verdict.AUTHENTIC
        assert report.to_text()


def test_an_internal_error_is_a_named_cannot_verify(
    monkeypatch: pytest.MonkeyPatch, sealed: dict[str, Sealed]
) -> None:
    import verify.pdf

    def broken(*args: object) -> None:
        raise KeyError("defect")

    monkeypatch.setattr(verify.pdf, "check_pdf", broken)
    report = verify_bytes(sealed["skill"].pdf_path.read_bytes(), "x.pdf", TrustList(), AT)
    assert report.verdict is Verdict.CANNOT_VERIFY and report.exit_code == 2
    assert "internal error while checking (KeyError" in str(report.unreadable)
