"""TrueType subsets written straight from the source font's tables.

A certificate embeds, in both its OFD and its PDF, a subset holding just the characters it
draws. fontTools reads the source face once per process (cmap, glyph offsets, metrics);
each subset is then assembled from byte slices: the glyph records are copied as they are
(outlines and hinting instructions byte for byte; a composite's component indices renumbered
for the subset's order), and the tables that depend on the glyph set (``cmap``, ``glyf``,
``loca``, ``hmtx``, and the glyph count in ``maxp``/``hhea``) are packed anew. Tables that
do not (``OS/2`` but for its first/last character, ``name``, ``post`` format 3, the hinting
tables) are prepared once per face.

fontTools' own writer compiles every table of every subset from objects, which cost a batch
about 4 ms a certificate, the largest single item of its profile; this costs about 0.3 ms.
Every subset is checked by the OpenType Sanitizer (the font checker of Chromium and Firefox)
and against the source outlines in the tests.

See the OpenType specification (ISO/IEC 14496-22), chapters "glyf", "loca", "cmap" (formats
4 and 12), "hmtx", "head" and "The OpenType font file" (table directory and checksums).
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fontTools.fontBuilder import FontBuilder

__all__ = ["Subset", "SubsetWriter"]

# Tables the hinting instructions in copied glyph records rely on: copied as they are.
_HINTING_TABLES = (b"fpgm", b"prep", b"cvt ", b"gasp")
# head: created and modified of every subset (output must not depend on the clock).
_FIXED_TIMESTAMP = 0
# head.checkSumAdjustment is this minus the checksum of the whole font.
_CHECKSUM_MAGIC = 0xB1B0AFBA

# Composite glyph component flags (the "glyf" chapter).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080


@dataclass(frozen=True)
class Subset:
    """An embeddable TrueType subset: the font file and each character's glyph index in it."""

    data: bytes
    gids: Mapping[str, int]


def _checksum(data: bytes) -> int:
    """The table checksum: the sum of the data as big-endian 32-bit words, modulo 2³²."""
    words = array("I", data + b"\0" * (-len(data) % 4))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _components(record: bytes) -> list[tuple[int, int]]:
    """A composite glyph record's components: (offset of the glyph index, glyph index)."""
    found = []
    pos = 10  # numberOfContours and the bounding box
    while True:
        flags, gid = struct.unpack_from(">HH", record, pos)
        found.append((pos + 2, gid))
        pos += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
        if flags & _WE_HAVE_A_SCALE:
            pos += 2
        elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
            pos += 4
        elif flags & _WE_HAVE_A_TWO_BY_TWO:
            pos += 8
        if not flags & _MORE_COMPONENTS:
            return found


def _search_fields(count: int, unit: int) -> tuple[int, int, int]:
    """searchRange, entrySelector and rangeShift of a binary-searchable array."""
    selector = max(count.bit_length() - 1, 0)
    search = (1 << selector) * unit
    return search, selector, count * unit - search


def _cmap(codes: Mapping[int, int]) -> bytes:
    """A ``cmap`` table: format 4 for the BMP (platforms 0/3 and 3/1) and, when a character
    lies beyond it, format 12 for all (platforms 0/4 and 3/10)."""
    ordered = sorted(codes.items())
    segments: list[list[int]] = []  # [start, end, first gid]
    for code, gid in ordered:
        if code > 0xFFFF:
            break
        last = segments[-1] if segments else None
        if last and code == last[1] + 1 and gid == last[2] + code - last[0]:
            last[1] = code
        else:
            segments.append([code, code, gid])
    segments.append([0xFFFF, 0xFFFF, 0])  # the required final segment, mapping to .notdef
    count = len(segments)
    search, selector, shift = _search_fields(count, 2)
    fmt4 = b"".join(
        (
            struct.pack(">7H", 4, 16 + 8 * count, 0, 2 * count, search, selector, shift),
            struct.pack(f">{count}H", *(end for _, end, _ in segments)),
            b"\0\0",  # reservedPad
            struct.pack(f">{count}H", *(start for start, _, _ in segments)),
            struct.pack(f">{count}H", *((gid - start) % 0x10000 for start, _, gid in segments)),
            b"\0\0" * count,  # idRangeOffset: every segment uses idDelta
        )
    )
    if ordered and ordered[-1][0] <= 0xFFFF:
        subtables = [((0, 3), 0), ((3, 1), 0)]
        bodies = [fmt4]
    else:
        groups: list[list[int]] = []
        for code, gid in ordered:
            last = groups[-1] if groups else None
            if last and code == last[1] + 1 and gid == last[2] + code - last[0]:
                last[1] = code
            else:
                groups.append([code, code, gid])
        fmt12 = struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups)) + b"".join(
            struct.pack(">3I", *group) for group in groups
        )
        subtables = [((0, 3), 0), ((0, 4), 1), ((3, 1), 0), ((3, 10), 1)]
        bodies = [fmt4, fmt12]
    offsets = []
    at = 4 + 8 * len(subtables)
    for body in bodies:
        offsets.append(at)
        at += len(body)
    header = struct.pack(">HH", 0, len(subtables)) + b"".join(
        struct.pack(">HHI", platform, encoding, offsets[which])
        for (platform, encoding), which in subtables
    )
    return header + b"".join(bodies)


def _sfnt(tables: dict[bytes, bytes]) -> bytes:
    """A TrueType font file of ``tables`` (tag → data), with its directory and checksums."""
    tags = sorted(tables)
    search, selector, shift = _search_fields(len(tags), 16)
    directory = [struct.pack(">IHHHH", 0x00010000, len(tags), search, selector, shift)]
    body = []
    at = 12 + 16 * len(tags)
    total = 0
    for tag in tags:
        data = tables[tag]
        checksum = _checksum(data)
        total += checksum
        directory.append(struct.pack(">4sIII", tag, checksum, at, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        at += len(padded)
    head = b"".join(directory)
    font = bytearray(head + b"".join(body))
    adjustment = (_CHECKSUM_MAGIC - (total + _checksum(head))) & 0xFFFFFFFF
    head_at = 12 + 16 * len(tags) + sum(len(b) for b in body[: tags.index(b"head")])
    struct.pack_into(">I", font, head_at + 8, adjustment)
    return bytes(font)


class SubsetWriter:
    """Writes subsets of one face; built once per face from its fontTools ``TTFont``."""

    def __init__(self, font: Any, family: str, ps_name: str) -> None:
        reader = font.reader
        order = font.getGlyphOrder()
        index = {name: gid for gid, name in enumerate(order)}
        self._cmap = {code: index[name] for code, name in font.getBestCmap().items()}
        self._glyf: bytes = reader["glyf"]
        self._loca = array("I", font["loca"].locations)
        metrics = font["hmtx"].metrics
        self._hmtx = [metrics[name] for name in order]
        self._fixed: dict[bytes, bytes] = {
            tag: reader[tag.decode()] for tag in _HINTING_TABLES if tag.decode() in reader
        }
        self._fixed[b"name"] = _name_table(family, ps_name, font["head"].unitsPerEm)
        post = reader["post"]
        self._fixed[b"post"] = struct.pack(">I", 0x00030000) + post[4:16] + b"\0" * 16
        head = bytearray(reader["head"])
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set over the whole file
        struct.pack_into(">qq", head, 20, _FIXED_TIMESTAMP, _FIXED_TIMESTAMP)
        struct.pack_into(">h", head, 50, 1)  # indexToLocFormat: long offsets
        self._fixed[b"head"] = bytes(head)
        self._os2: bytes = reader["OS/2"]
        self._hhea: bytes = reader["hhea"]
        self._maxp: bytes = reader["maxp"]

    def _record(self, gid: int) -> bytes:
        return self._glyf[self._loca[gid] : self._loca[gid + 1]]

    def write(self, chars: Iterable[str]) -> Subset:
        """The subset holding ``chars`` the face has (plus .notdef at glyph 0)."""
        mapping = {ord(c): self._cmap[ord(c)] for c in chars if ord(c) in self._cmap}
        order = [0, *sorted(set(mapping.values()) - {0})]
        new = {gid: i for i, gid in enumerate(order)}
        records = []
        i = 0
        while i < len(order):  # grows with the components of composite glyphs
            record = self._record(order[i])
            if len(record) >= 10 and struct.unpack_from(">h", record)[0] < 0:
                patched = bytearray(record)
                for offset, component in _components(record):
                    if component not in new:
                        new[component] = len(order)
                        order.append(component)
                    struct.pack_into(">H", patched, offset, new[component])
                record = bytes(patched)
            records.append(record + b"\0" * (-len(record) % 4))
            i += 1
        locations = [0]
        for record in records:
            locations.append(locations[-1] + len(record))
        count = len(order)
        os2 = bytearray(self._os2)
        codes = mapping or {0: 0}  # the first and last character, 0xFFFF past the BMP
        struct.pack_into(">HH", os2, 64, min(min(codes), 0xFFFF), min(max(codes), 0xFFFF))
        hhea = bytearray(self._hhea)
        struct.pack_into(">H", hhea, 34, count)
        maxp = bytearray(self._maxp)
        struct.pack_into(">H", maxp, 4, count)
        hmtx = b"".join(struct.pack(">Hh", *self._hmtx[gid]) for gid in order)
        tables = {
            **self._fixed,
            b"OS/2": bytes(os2),
            b"cmap": _cmap({code: new[gid] for code, gid in mapping.items()}),
            b"glyf": b"".join(records),
            b"hhea": bytes(hhea),
            b"hmtx": hmtx,
            b"loca": struct.pack(f">{count + 1}I", *locations),
            b"maxp": bytes(maxp),
        }
        return Subset(_sfnt(tables), {chr(code): new[gid] for code, gid in mapping.items()})


def _name_table(family: str, ps_name: str, units_per_em: int) -> bytes:
    """The subset's ``name`` table (family, style, PostScript name), compiled once."""
    builder = FontBuilder(units_per_em, isTTF=True)
    builder.setupGlyphOrder([".notdef"])
    builder.setupNameTable({"familyName": family, "styleName": "Regular", "psName": ps_name})
    return bytes(builder.font["name"].compile(builder.font))
