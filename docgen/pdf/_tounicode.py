"""Correct reportlab's ToUnicode CMaps for characters outside the Basic Multilingual Plane.

reportlab writes each ToUnicode entry as ``<%04X>``, so U+2020C (𠈌, CJK Extension B) becomes
``<2020C>``, which readers take as U+2020 "†": the glyph is drawn right but copying or
extracting the name gives the wrong text. A PDF CMap must give such characters as UTF-16BE
(surrogate pairs). This replaces reportlab's function with one that does; the replacement
is installed once, on import, and only changes entries above U+FFFF.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.pdfbase import ttfonts

__all__ = ["install"]

_original = ttfonts.makeToUnicodeCMap


def _utf16_hex(code: int) -> str:
    return chr(code).encode("utf-16-be", "surrogatepass").hex().upper()


def _make_to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    cmap: str = _original(fontname, subset)
    for index, code in enumerate(subset):
        if code > 0xFFFF:
            cmap = cmap.replace(
                f"<{index:02X}> <{code:04X}>", f"<{index:02X}> <{_utf16_hex(code)}>"
            )
    return cmap


def install() -> None:
    """Install the corrected CMap writer (idempotent)."""
    ttfonts.makeToUnicodeCMap = _make_to_unicode_cmap
