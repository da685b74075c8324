"""Mutation fuzzer for the verifier's parsers: is every input judged, in bounded time and memory?

At start-up it makes a throw-away development key store, issues two sealed certificates (OFD
and PDF), renders their first pages to PNG (poppler's ``pdftoppm``) and JPEG (Pillow) as a
scan would be, and takes their signed QR texts: the valid seed inputs. For each parser it then
judges ``--n`` mutated inputs in worker processes (one per core, forkserver):

- ``ofd_package``: whole OFD files (bytes, and ZIP structure) → ``verify_bytes``;
- ``ofd_xml``: one XML part of a valid package mutated, re-zipped → ``verify_bytes``;
- ``ses_asn1``: the seal signature (``SignedValue.dat``, DER) mutated, re-zipped →
  ``verify_bytes`` (seal v4, bare SM2 and CMS paths);
- ``pdf``: whole PDF files → ``verify_bytes``;
- ``qr_payload``: QR texts (base45, zlib, COSE/CBOR, claims signed with the real key) →
  ``verify_qr_text``;
- ``images``: PNG and JPEG scans of a certificate (bytes, chunks, segments) → ``verify_bytes``.

Mutations: bit flips, interesting values, insertions, deletions, truncation, chunk
duplication, splicing two valid inputs; and structure-aware ones per format: ZIP (duplicate
entries, lying sizes and CRCs, methods, flags, names, bombs, junk), XML (billion laughs,
external entities and DTDs, XInclude, huge attributes and texts, deep nesting, repeated and
altered elements, encodings), DER (contents, tags, lying lengths, deep nesting, integers,
times, OIDs, a real CMS signature), PDF (numbers, /ByteRange, /MediaBox, filters, xref and
/Prev loops, incremental updates, flate bombs), QR text (base45 length and alphabet, zlib
bombs, COSE and CBOR structure, claims signed with the real key) and PNG chunks and JPEG
segments (dimensions, bombs). Bombs and the other operations whose every input costs about the
whole time bound are drawn a quarter as often as the rest.

Every input is judged under a time bound, :data:`SECONDS` (a timer in the worker, and a kill
from the parent when the worker does not answer within :data:`GRACE_SECONDS` more), and a
memory bound, :data:`MEGABYTES` of address space above the warmed-up worker
(``RLIMIT_AS``: a runaway input fails with MemoryError instead of taking the machine; the
soft limit is lifted while the fuzzer makes an input, which may take more than it).

A crash is an exception escaping ``verify_bytes``/``verify_qr_text`` (they must always return a
report) or a worker dying; a hang is an input over the time bound. Reports that say "internal
error while checking" (the verifier's last line of defence caught an unexpected exception)
are counted apart as internal errors, MemoryErrors among them as memory errors.

Prints one JSON object on stdout: per parser the inputs, crashes, hangs, internal and memory
errors, verdicts, mean and worst seconds, the slowest inputs, the mutations that took the most
time, the worst peak RSS of the worker while judging one input (the poppler tools the
verifier starts for a PDF run under their own limits, ``verify.pdf.POPPLER_MEGABYTES``, and
are not measured), findings by
exception type and mutation, mutation counts, and up to five examples (mutation, error, where
it was raised — internal errors are run again without the verifier's last line of defence to
find out — and the input, saved under a temporary folder). Progress goes to stderr. Input
``i`` of a parser is the same for one ``--seed`` in every run.

    .venv/bin/python bench/fuzz.py [--n 10000] [--seed 1] [--only pdf,qr_payload] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import ctypes.util
import io
import json
import multiprocessing
import os
import pickle
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import base45
import cbor2
from lxml import etree
from PIL import Image

from docgen.clock import parse_at
from docgen.issuing import render
from docgen.kinds import load_kind
from docgen.qrpayload import KIND_CODES, PREFIX, Claim, pack
from docgen.samples import sample_record
from docgen.signing.keystore import IssuerIdentity, KeyStore, Signer
from docgen.signing.qr import sign_cose
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

SECONDS = 2.0  # time bound of one input
MEGABYTES = 300  # address space one input may add to a warmed-up worker (RLIMIT_AS)
GRACE_SECONDS = 5.0  # the parent kills a worker silent this long past the time bound
CHUNK = 20  # inputs sent to a worker at a time
EXAMPLES = 5  # examples kept per parser
SLOWEST = 3  # slowest inputs listed per parser
COSTLIEST = 5  # mutation families listed by the judging seconds they took
PROGRESS_SECONDS = 10.0
PARSERS = ("ofd_package", "ofd_xml", "ses_asn1", "pdf", "qr_payload", "images")
AT = parse_at("2026-11-20T10:00:00")
KEYS_AT = parse_at("2024-01-01T00:00:00")
KIND = "rescuer"
HOLDERS = ("李晓堃", "欧阳明远")
SCAN_DPI = 150
JPEG_QUALITY = 85
_INTERNAL = re.compile(r"internal error while checking \((\w+)")
_LIBRARY = re.compile(r".*/(site-packages|lib/python3\.\d+)/")  # cut from a library's path
_ERROR_CHARS = 300  # an error message is cut to this length
_FINDINGS = ("crash", "hang", "internal", "memory", "fuzzer")
_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME and sys.platform == "linux" else None

Mutation = tuple[bytes, str]

# -- seeds ---------------------------------------------------------------------------------


@dataclass
class Seeds:
    """The valid inputs mutations start from, and where the throw-away keys are."""

    ofd: list[bytes]
    pdf: list[bytes]
    png: list[bytes]
    jpeg: list[bytes]
    qr: list[str]
    keys: str
    trust: str


def make_seeds(folder: Path) -> Seeds:
    """Issue two sealed certificates with a new key store in ``folder``; scan their pages."""
    kind = load_kind(KIND)
    identity = IssuerIdentity(kind.sample["issuer"], kind.sample["issuer_code"], kind.seal_title)
    store = KeyStore.init(folder / "keys", identity, KEYS_AT)
    sealer = Sealer(store)
    seeds = Seeds([], [], [], [], [], str(folder / "keys"), str(folder / "keys" / "trust.json"))
    for n, holder in enumerate(HOLDERS):
        record = sample_record(KIND)
        record["name"] = holder
        cert = validate_record(kind, record, AT)
        rendered = render(cert, sealer)
        seeds.ofd.append(rendered.ofd)
        seeds.pdf.append(rendered.pdf)
        pdf = folder / f"seed{n}.pdf"
        pdf.write_bytes(rendered.pdf)
        page = folder / f"seed{n}"
        subprocess.run(
            ["pdftoppm", "-r", str(SCAN_DPI), "-png", "-singlefile", str(pdf), str(page)],
            capture_output=True,
            check=True,
        )
        png = page.with_suffix(".png").read_bytes()
        seeds.png.append(png)
        buffer = io.BytesIO()
        with Image.open(io.BytesIO(png)) as image:
            image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
        seeds.jpeg.append(buffer.getvalue())
        seeds.qr.append(sealer.qr_text(cert))
    return seeds


# -- generic mutations ---------------------------------------------------------------------

_INTERESTING_NUMBERS = (
    b"0", b"-1", b"1", b"255", b"65535", b"2147483647", b"2147483648", b"-2147483649",
    b"4294967296", b"9223372036854775807", b"18446744073709551616", b"1e308", b"-0",
    b"99999999999999999999999999999999", b"0.000000000000001", b"00000000000000000001",
)  # fmt: skip
_INTERESTING_INTS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?")
_MAX_GROWTH = 2**20  # bytes a duplication adds at most
_MAX_PART = 24 * 2**20  # bytes an XML part grows to at most by repeated elements


def _flip(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _interesting(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        width = rng.choice((1, 2, 4))
        value = rng.choice(_INTERESTING_INTS) & ((1 << (8 * width)) - 1)
        at = rng.randrange(len(buf))
        buf[at : at + width] = value.to_bytes(width, rng.choice(("big", "little")))
    return bytes(buf)


def _insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    if rng.random() < 0.5:
        extra = rng.randbytes(rng.randint(1, 64))
    else:
        extra = bytes([rng.choice((0, 0xFF, 0x20, rng.randrange(256)))]) * rng.randint(1, 4096)
    return data[:at] + extra + data[at:]


def _delete(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, rng.choice((16, 256, 4096))) :]


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _duplicate(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 4096)]
    times = min(rng.choice((1, 2, 16, 256)), max(1, _MAX_GROWTH // len(chunk)))
    at = rng.randrange(len(data) + 1)
    return data[:at] + chunk * times + data[at:]


def _number(data: bytes, rng: random.Random) -> bytes:
    matches = list(_NUMBER.finditer(data))
    if not matches:
        return _interesting(data, rng)
    match = rng.choice(matches)
    return data[: match.start()] + rng.choice(_INTERESTING_NUMBERS) + data[match.end() :]


def _splice(data: bytes, rng: random.Random, other: bytes) -> bytes:
    if rng.random() < 0.5:  # the same offset in both: like two versions of one file
        at = rng.randrange(min(len(data), len(other)) + 1)
        return data[:at] + other[at:]
    return data[: rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1) :]


_BYTE_OPS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip": _flip,
    "interesting": _interesting,
    "insert": _insert,
    "delete": _delete,
    "truncate": _truncate,
    "duplicate": _duplicate,
    "number": _number,
}


def mutate_bytes(data: bytes, rng: random.Random, other: bytes | None = None) -> Mutation:
    """One generic mutation (or, one time in four, two to four stacked)."""
    labels = []
    for _ in range(1 if rng.random() < 0.75 else rng.randint(2, 4)):
        names = list(_BYTE_OPS) + (["splice"] if other else [])
        name = rng.choice(names)
        if not data:
            data, name = rng.randbytes(rng.randint(1, 16)), "insert"
        elif name == "splice" and other:
            data = _splice(data, rng, other)
        else:
            data = _BYTE_OPS[name](data, rng)
        labels.append(name)
    return data, "+".join(labels)


# Operations whose every input costs up to the whole time bound (or a memory error) and that
# vary little: drawn a quarter as often as the others, or they would take most of the run.
_RARE = {"zip_bomb", "zip_many_entries", "repeat_element", "deep_nesting", "pdf_flate_bomb",
         "pdf_deep_nesting", "png_bomb", "zlib_bomb"}  # fmt: skip
_RARE_WEIGHT = 0.25


def _pick(rng: random.Random, ops: dict[str, Any]) -> tuple[str, Any]:
    names = sorted(ops)
    weights = [_RARE_WEIGHT if name in _RARE else 1.0 for name in names]
    name = rng.choices(names, weights)[0]
    return name, ops[name]


# -- ZIP -----------------------------------------------------------------------------------


@dataclass
class ZipEntry:
    """One entry to write; ``raw``, ``crc``, ``size`` and ``csize`` override the true ones."""

    name: bytes
    data: bytes
    method: int = zipfile.ZIP_DEFLATED
    raw: bytes | None = None
    crc: int | None = None
    size: int | None = None
    csize: int | None = None
    flags: int = 0
    extra: bytes = b""


ZLIB = -1  # not a ZIP method: a zlib stream (header and Adler-32), as PDF and PNG hold


def _compress(method: int, data: bytes | Iterable[bytes]) -> bytes:
    """``data`` compressed as a ZIP entry of ``method`` holds it (or as a zlib stream); given
    as pieces, it is fed piece by piece, so a bomb never exists unpacked here."""
    pieces = [data] if isinstance(data, bytes) else data
    if method in (zipfile.ZIP_DEFLATED, ZLIB):
        fast = method == zipfile.ZIP_DEFLATED
        deflater = zlib.compressobj(1 if fast else 9, zlib.DEFLATED, -15 if fast else 15)
        return b"".join(deflater.compress(piece) for piece in pieces) + deflater.flush()
    if method not in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        return b"".join(pieces)
    buffer = io.BytesIO()  # bzip2 and LZMA as zipfile frames them: take the entry's bytes
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        with archive.open("x", "w") as entry:
            for piece in pieces:
                entry.write(piece)
        info = archive.infolist()[0]
    raw = buffer.getvalue()
    name_length, extra_length = struct.unpack("<HH", raw[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    return raw[start : start + info.compress_size]


def _repeated(piece: bytes, size: int) -> Iterator[bytes]:
    """``size`` bytes of ``piece`` over and over, in pieces of about a megabyte."""
    block = piece * max(1, 2**20 // len(piece))
    for _ in range(size // len(block)):
        yield block
    yield block[: size % len(block)]


# Field offsets inside a central directory record and a local header.
_CENTRAL = {"flags": 8, "method": 10, "crc": 16, "csize": 20, "size": 24}
_LOCAL = {"flags": 6, "method": 8, "crc": 14, "csize": 18, "size": 22}
_WIDTH = {"flags": "<H", "method": "<H", "crc": "<L", "csize": "<L", "size": "<L"}


def write_zip(
    entries: Sequence[ZipEntry], prefix: bytes = b"", comment: bytes = b""
) -> tuple[bytes, list[tuple[int, int]]]:
    """The ZIP of ``entries`` and where each one's local header and central record are."""
    out = bytearray(prefix)
    central = bytearray()
    places = []
    for entry in entries:
        raw = entry.raw if entry.raw is not None else _compress(entry.method, entry.data)
        crc = entry.crc if entry.crc is not None else zlib.crc32(entry.data)
        size = len(entry.data) if entry.size is None else entry.size
        csize = len(raw) if entry.csize is None else entry.csize
        name, extra = entry.name[:60000], entry.extra
        head = (entry.flags, entry.method, 0, 0x21, crc, csize, size, len(name), len(extra))
        local = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *head) + name + extra + raw
        places.append((local, len(central)))
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *head, 0, 0, 0, 0o644 << 16,
                               local) + name + extra  # fmt: skip
    start = len(out)
    out += central
    count = len(entries) & 0xFFFF
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), start,
                       len(comment)) + comment  # fmt: skip
    return bytes(out), [(local, start + at) for local, at in places]


def _patch(data: bytes, at: int, fmt: str, value: int) -> bytes:
    size = struct.calcsize(fmt)
    return data[:at] + struct.pack(fmt, value & ((1 << (8 * size)) - 1)) + data[at + size :]


def _read_entries(ofd: bytes) -> list[ZipEntry]:
    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        return [
            ZipEntry(i.filename.encode(), archive.read(i), i.compress_type)
            for i in archive.infolist()
        ]


# -- PNG and JPEG --------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# (width, height, with all its pixel data): 81 M pixels pass Pillow's bomb check, 144 M warn,
# more raise DecompressionBombError.
_PNG_BOMBS = ((9000, 9000, True), (12_000, 12_000, True), (20_000, 20_000, False),
              (65_535, 65_535, False), (1, 2**31 - 1, False), (2**31 - 1, 1, False),
              (0, 0, False), (30_000, 1, True))  # fmt: skip


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG, as far as they can be read."""
    chunks, at = [], len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def png_image(width: int, height: int, depth: int, colour: int, idat: bytes) -> bytes:
    """A PNG of one IDAT chunk (no interlace)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The (marker, payload) segments of a JPEG before its first scan, and the rest (from
    SOS on)."""
    segments, at = [], 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        segments.append((marker, data[at + 4 : at + 2 + length]))
        at += 2 + length
    return segments, data[at:]


def jpeg_join(segments: Sequence[tuple[int, bytes]], rest: bytes) -> bytes:
    """A JPEG from its segments (lengths as the payloads say, cut to 16 bits) and scan."""
    out = bytearray(b"\xff\xd8")
    for marker, payload in segments:
        out += bytes([0xFF, marker]) + struct.pack(">H", (len(payload) + 2) & 0xFFFF) + payload
    return bytes(out + rest)


# -- DER -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tlv:
    """One DER value: identifier octets, contents, and the values inside a constructed one."""

    tag: bytes
    content: bytes
    children: tuple[Tlv, ...] | None

    def encode(self) -> bytes:
        return self.tag + der_length(len(self.content)) + self.content


def der_length(n: int) -> bytes:
    """DER length octets."""
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_read(data: bytes, depth: int = 0) -> tuple[Tlv, ...] | None:
    """The DER values in ``data`` (None unless it is exactly a sequence of them)."""
    items, at = [], 0
    while at < len(data):
        start = at
        at += 1
        if data[start] & 0x1F == 0x1F:
            while at < len(data) and data[at] & 0x80:
                at += 1
            at += 1
        if at >= len(data):
            return None
        tag, length = data[start:at], data[at]
        at += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or at + count > len(data):
                return None
            length = int.from_bytes(data[at : at + count], "big")
            at += count
        if at + length > len(data):
            return None
        content = data[at : at + length]
        at += length
        children = der_read(content, depth + 1) if tag[0] & 0x20 and depth < 64 else None
        items.append(Tlv(tag, content, children))
    return tuple(items)


def der_paths(
    nodes: tuple[Tlv, ...], prefix: tuple[int, ...] = ()
) -> list[tuple[tuple[int, ...], Tlv]]:
    """Every value with its path (child indices from the top)."""
    out = []
    for i, node in enumerate(nodes):
        out.append(((*prefix, i), node))
        if node.children:
            out += der_paths(node.children, (*prefix, i))
    return out


def der_replace(
    nodes: tuple[Tlv, ...], path: tuple[int, ...], make: Callable[[Tlv], bytes]
) -> bytes:
    """The encoding of ``nodes`` with the value at ``path`` replaced by ``make(value)``;
    the lengths of the values around it are those of the new bytes."""
    out = bytearray()
    for i, node in enumerate(nodes):
        if i != path[0]:
            out += node.encode()
        elif len(path) == 1:
            out += make(node)
        else:
            assert node.children is not None
            content = der_replace(node.children, path[1:], make)
            out += node.tag + der_length(len(content)) + content
    return bytes(out)


def der_nested(depth: int, tag: bytes, inner: bytes = b"") -> bytes:
    """``inner`` wrapped in ``depth`` values of ``tag``, lengths right (built in linear time)."""
    sizes = [len(inner)]
    for _ in range(depth):
        sizes.append(len(tag) + len(der_length(sizes[-1])) + sizes[-1])
    heads = [tag + der_length(size) for size in reversed(sizes[:-1])]
    return b"".join(heads) + inner


# -- the mutator ---------------------------------------------------------------------------

_BAD_NAMES = (
    b"../{}", b"/{}", b"C:{}", b"./{}", b"{}/", b"{}\x00.png", b"\\{}", b"Doc_0/../{}",
    b"{}\xff\xfe", b"%2e%2e/{}", b"{}" + b"/x" * 20000,
)  # fmt: skip
_METHODS = (0, 1, 6, 8, 9, 12, 14, 93, 95, 97, 98, 99, 0xFFFF)
_FLAGS = (1, 8, 0x40, 0x800, 0x2000, 0xFFFF)

_XXE = {
    "xxe_file": (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>', b"&x;"),
    "xxe_http": (b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', b"&x;"),
    "xxe_parameter": (
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',
        b"",
    ),
    "external_dtd": (b'<!DOCTYPE r SYSTEM "file:///etc/passwd">', b""),
    "external_dtd_http": (b'<!DOCTYPE r PUBLIC "-//x//x" "http://127.0.0.1:9/x.dtd">', b""),
    "billion_laughs": (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
            for i in range(1, 10)
        )
        + b"]>",
        b"&lol9;",
    ),
    "quadratic_blowup": (b'<!DOCTYPE q [<!ENTITY a "' + b"a" * 50000 + b'">]>', b"&a;" * 20000),
}
_NASTY_TEXT = (
    "", " ", "../../../../etc/passwd", "/etc/passwd", "/OFD.xml", "OFD.xml",
    "Doc_0/Document.xml", "Doc_0/Signs/Sign_0/Signature.xml",
    "Doc_0/Signs/Sign_0/SignedValue.dat", "Doc_0/Pages/Page_0/Content.xml", ".", "..", "//",
    "./././.", "http://127.0.0.1:9/x", "file:///etc/passwd", "C:\\x", "Doc_0/../../OFD.xml",
    "%2e%2e/OFD.xml", "\u202e", "\ufeff", "𠈌" * 1000, "a" * 100_000, "-1", "0", "1e309",
    "NaN", "2147483648", "99999999999999999999", "SM3", "MD5", "SHA1", "sha256", "SM4",
    "1.2.156.10197.1.401", "2.16.840.1.101.3.4.2.1", "1.2.840.113549.1.1.11", "====", "AAAA",
    "!!!not base64!!!", "Sign", "Seal", "0 0 0 0", "0 0 1e9 1e9", "-5 -5 0 0", "&amp;",
    "EC1:", PREFIX + "0" * 300,
)  # fmt: skip
_XML_ATTRIBUTES = ("BaseLoc", "FileRef", "CheckMethod", "ID", "Type", "Name", "Boundary",
                   "ResourceID", "PageID", "Format")  # fmt: skip
_XML_DECLARATION_ENCODINGS = (b"UTF-16", b"GBK", b"EBCDIC-US", b"x-unknown", b"ISO-8859-1",
                              b"UTF-32", b"")  # fmt: skip
_START_TAG = re.compile(rb"<([A-Za-z_][\w:.-]*)[^<>]*?>")
_ATTRIBUTE = re.compile(rb'(\s[\w:.-]+=")([^"]*)(")')

_DER_TAGS = (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x0c", b"\x13", b"\x16",
             b"\x17", b"\x18", b"\x1e", b"\x30", b"\x31", b"\xa0", b"\xa1", b"\x80",
             b"\x1f\x81\x00", b"\xff\xff\xff\x7f", b"\x00")  # fmt: skip
_DER_INTEGERS = (b"", b"\x00", b"\xff", b"\x00" * 2000, b"\x7f" + b"\xff" * 5000,
                 b"\x80" + b"\x00" * 40, b"\x00\x01", b"\x01" * 33)  # fmt: skip
_DER_TIMES = (b"", b"99991231235959Z", b"00000000000000Z", b"20261320256161Z",
              b"2026-11-20T10:00:00", b"19700101000000+2400", b"\xff\xfe", b"2026" * 1000,
              b"20261120100000.0000000000001Z", b"261120100000Z", b"0")  # fmt: skip
_DER_OIDS = (b"", b"\x80", b"\x2a\x86\x48", b"\xff" * 1000, b"\x2a" + b"\x81" * 5000 + b"\x01",
             b"\x00", b"\x2a\x81\x1c\xcf\x55\x01\x83\x75\x00")  # fmt: skip
_DER_STRINGS = (b"\xff\xfe\xc3", b"\xed\xa0\x80", b"\x00" * 8, b"a" * 2**20, b"\x00a\x00",
                b"\xc0\x80", b"\xf4\x90\x80\x80")  # fmt: skip
_STRING_TAGS = (0x0C, 0x12, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E)
_DER_OPS = ("der_content", "der_delete", "der_duplicate", "der_retag", "der_length",
            "der_integer", "der_time", "der_oid", "der_bitstring", "der_string", "der_deep",
            "der_swap", "bare_signature")  # fmt: skip

_PDF_FILTERS = (b"/LZWDecode", b"/DCTDecode", b"/JBIG2Decode", b"/JPXDecode", b"/Crypt",
                b"/CCITTFaxDecode", b"/RunLengthDecode", b"/ASCII85Decode", b"/ASCIIHexDecode",
                b"[/FlateDecode /FlateDecode]", b"/Unknown", b"[]")  # fmt: skip
_PDF_MEDIABOXES = (b"[0 0 14400 14400]", b"[0 0 1e9 1e9]", b"[0 0 -5 0]", b"[0 0 0 0]", b"[]",
                   b"[0 0 595 842 5]", b"[0 0 3.4e38 3.4e38]", b"[-14400 -14400 14400 14400]",
                   b"[0 0 595 842]", b"null")  # fmt: skip
_PDF_OBJECT = re.compile(rb"(\d+) 0 obj\b(.*?)\bendobj", re.S)

_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ODD_CHARS = "abcxyz~^_\"'\\\x00\t\n\r\x7f\u00e9\u3000\uff10\uff21\u202e\ufeff\ud7ff𠈌😀٣\udc80"
_COSE_EDITS = ("alg", "kid", "header_type", "unprotected", "payload_type", "signature", "tag",
               "array_length", "untagged", "payload_claims")  # fmt: skip
_PREFIXES = ("", "ec1:", "EC1：", " EC1:", "EC1:EC1:", "EC2:", "EC1", "HC1:", "\ufeffEC1:")
_CLAIM_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**31, -(2**63), 2**64, 10**30, 2_932_896, 2_932_897,
    -719_162, -719_163, 1.5, float("nan"), float("inf"), "", "x" * 10_000, "𠈌\u202e",
    "2026-11-20", b"", b"\x00" * 32, [], [1, 2], {}, {1: 1}, cbor2.CBORTag(1, 0),
    cbor2.CBORTag(2, b"\xff" * 64), cbor2.undefined,
)  # fmt: skip


class Mutator:
    """Makes mutated input ``index`` of a parser: the same bytes in every process, for one
    ``seed`` (every random choice comes from ``Random(f"{seed}/{parser}/{index}")``)."""

    def __init__(self, seeds: Seeds, seed: int) -> None:
        self.seeds = seeds
        self.seed = seed
        self._signer: Signer | None = None
        self._entries = [_read_entries(ofd) for ofd in seeds.ofd]
        self._cache: dict[Any, Any] = {}
        self._op = ""  # the structure-aware operation being made
        self._which = 0  # the seed it starts from

    def make(self, parser: str, index: int) -> tuple[bytes | str, str]:
        """Input ``index`` of ``parser`` and a label of how it was made."""
        rng = random.Random(f"{self.seed}/{parser}/{index}")
        makers: dict[str, Callable[[random.Random], tuple[bytes | str, str]]] = {
            "ofd_package": self.ofd_package,
            "ofd_xml": self.ofd_xml,
            "ses_asn1": self.ses_asn1,
            "pdf": self.pdf,
            "qr_payload": self.qr_payload,
            "images": self.images,
        }
        return makers[parser](rng)

    @property
    def signer(self) -> Signer:
        """The throw-away key store's ECDSA signer (QR payloads, CMS)."""
        if self._signer is None:
            self._signer = KeyStore.open(Path(self.seeds.keys)).signer("ecdsa")
        return self._signer

    def _cached(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def entries(self, which: int) -> list[ZipEntry]:
        """A fresh copy of the entries of seed OFD ``which``."""
        return [replace(e) for e in self._entries[which]]

    # -- ofd_package -----------------------------------------------------------------------

    def ofd_package(self, rng: random.Random) -> tuple[bytes, str]:
        which = rng.randrange(len(self.seeds.ofd))
        if rng.random() < 0.45:
            return mutate_bytes(self.seeds.ofd[which], rng, self.seeds.ofd[1 - which])
        ops: dict[str, Callable[[list[ZipEntry], random.Random], bytes]] = {
            "zip_duplicate": self._zip_duplicate,
            "zip_lying_size": self._zip_lying,
            "zip_lying_crc": self._zip_lying,
            "zip_method": self._zip_lying,
            "zip_flags": self._zip_lying,
            "zip_bad_name": self._zip_bad_name,
            "zip_bomb": self._zip_bomb,
            "zip_drop": self._zip_drop,
            "zip_reorder": self._zip_reorder,
            "zip_junk": self._zip_junk,
            "zip_zip64": self._zip_zip64,
            "zip_directory": self._zip_directory,
            "zip_add_image": self._zip_add_image,
            "zip_many_entries": self._zip_many_entries,
        }
        name, op = _pick(rng, ops)
        self._op = name
        return op(self.entries(which), rng), name

    def _zip_duplicate(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        i = rng.randrange(len(entries))
        content = rng.choice(
            (entries[i].data, rng.choice(entries).data, b"", mutate_bytes(entries[i].data, rng)[0])
        )
        twin = replace(entries[i], data=content)
        entries.insert(rng.choice((i, i + 1, len(entries))), twin)
        return write_zip(entries)[0]

    def _zip_lying(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        """Lying sizes, CRC, method or flags in the central record, local header or both."""
        data, places = write_zip(entries)
        i = rng.randrange(len(entries))
        what = {
            "zip_lying_size": rng.choice(("size", "csize")),
            "zip_lying_crc": "crc",
            "zip_method": "method",
            "zip_flags": "flags",
        }[self._op]
        true_size = len(entries[i].data)
        value = {
            "size": rng.choice((0, 1, true_size - 1, true_size + 1, true_size * 2, 0xFFFFFFFF)),
            "csize": rng.choice((0, 1, true_size // 2, true_size * 4, 0xFFFFFFFF)),
            "crc": rng.choice((0, rng.getrandbits(32))),
            "method": rng.choice(_METHODS),
            "flags": rng.choice(_FLAGS),
        }[what]
        where = rng.choice(("central", "local", "both"))
        local, central = places[i]
        if where in ("central", "both"):
            data = _patch(data, central + _CENTRAL[what], _WIDTH[what], value)
        if where in ("local", "both"):
            data = _patch(data, local + _LOCAL[what], _WIDTH[what], value)
        return data

    def _zip_bad_name(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        i = rng.randrange(len(entries))
        pattern = rng.choice((*_BAD_NAMES, b"ofd.xml", b"OFD.XML", b"\xe6\x96\x87.xml"))
        entries[i].name = pattern.replace(b"{}", entries[i].name)
        if rng.random() < 0.3:  # keep the right name too
            entries.append(replace(entries[i], name=entries[i].name))
        return write_zip(entries)[0]

    def _bomb(self, method: int, size: int) -> tuple[bytes, int]:
        def make() -> tuple[bytes, int]:
            crc = 0
            for piece in _repeated(b"\x00", size):
                crc = zlib.crc32(piece, crc)
            return _compress(method, _repeated(b"\x00", size)), crc

        result: tuple[bytes, int] = self._cached(("bomb", method, size), make)
        return result

    def _zip_bomb(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        kind = rng.choice(("honest", "lying", "bzip2", "lzma", "many_small", "big_stored"))
        name = rng.choice((b"Doc_0/Res/bomb.xml", b"Doc_0/Res/bomb.png", b"OFD.xml"))
        size = 64 * 2**20
        if kind == "many_small":  # under the ratio check's 1 MB floor, 200 MB in all
            raw, crc = self._bomb(zipfile.ZIP_DEFLATED, 2**20 - 1)
            count = rng.choice((50, 150, 199))
            entries += [
                ZipEntry(b"Doc_0/Res/z%d.bin" % n, b"", raw=raw, crc=crc, size=2**20 - 1)
                for n in range(count)
            ]
        elif kind == "big_stored":
            entries.append(ZipEntry(name, bytes(rng.choice((20, 45)) * 2**20), 0))
        else:
            method = {"bzip2": zipfile.ZIP_BZIP2, "lzma": zipfile.ZIP_LZMA}.get(
                kind, zipfile.ZIP_DEFLATED
            )
            raw, crc = self._bomb(method, size)
            declared = size if kind == "honest" else rng.choice((1000, len(raw), 2**20 - 1))
            entries.insert(
                rng.randrange(len(entries) + 1),
                ZipEntry(name, b"", method, raw=raw, crc=crc, size=declared),
            )
        return write_zip(entries)[0]

    def _zip_drop(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        del entries[rng.randrange(len(entries))]
        return write_zip(entries)[0]

    def _zip_reorder(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        rng.shuffle(entries)
        return write_zip(entries)[0]

    def _zip_junk(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        kind = rng.choice(("prefix", "nested", "suffix", "comment", "two_ends", "end_counts"))
        if kind == "prefix":
            return write_zip(entries, prefix=rng.randbytes(rng.randint(1, 4096)))[0]
        if kind == "nested":
            return write_zip(entries, prefix=self.seeds.ofd[1])[0]
        if kind == "comment":
            return write_zip(entries, comment=rng.randbytes(65535))[0]
        data = write_zip(entries)[0]
        if kind == "suffix":
            return data + rng.randbytes(rng.randint(1, 4096))
        end = data.rfind(b"PK\x05\x06")
        if kind == "two_ends":
            return data + data[end:]
        field_at = end + rng.choice((8, 10, 12, 16))
        fmt = "<H" if field_at - end < 12 else "<L"
        return _patch(data, field_at, fmt, rng.choice(_INTERESTING_INTS))

    def _zip_zip64(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        i = rng.randrange(len(entries))
        values = [rng.choice((2**63 - 1, 2**40, len(entries[i].data), 0)) for _ in range(2)]
        entries[i].extra = struct.pack("<HHQQ", 1, 16, *values)
        if rng.random() < 0.7:
            entries[i].size = entries[i].csize = 0xFFFFFFFF
        return write_zip(entries)[0]

    def _zip_directory(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        name = rng.choice((b"Doc_0/", b"OFD.xml/", b"Doc_0/Res/", b"/", b"Doc_0/Document.xml/"))
        entries.insert(rng.randrange(len(entries) + 1), ZipEntry(name, b"", 0))
        return write_zip(entries)[0]

    def _zip_add_image(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        image = rng.choice(
            (
                self.seeds.png[0],
                self.seeds.jpeg[1],
                self.png_bomb(rng),
                rng.randbytes(100),
                _PNG_SIGNATURE + rng.randbytes(1000),
            )
        )
        suffix = rng.choice((b".png", b".jpg", b".bmp", b".gif", b".tif"))
        entries.insert(1, ZipEntry(b"Doc_0/Res/extra" + suffix, image, 0))
        return write_zip(entries)[0]

    def _zip_many_entries(self, entries: list[ZipEntry], rng: random.Random) -> bytes:
        count = rng.choice((9_999, 10_001, 3_000))
        content = rng.choice((b"", b"<x/>", self.seeds.png[0][:4096]))
        suffix = rng.choice((b".xml", b".png", b".bin"))
        entries += [ZipEntry(b"Doc_0/Res/m%d%s" % (n, suffix), content, 0) for n in range(count)]
        return write_zip(entries)[0]

    # -- ofd_xml ---------------------------------------------------------------------------

    def ofd_xml(self, rng: random.Random) -> tuple[bytes, str]:
        which = rng.randrange(len(self.seeds.ofd))
        entries = self.entries(which)
        i = rng.choice([n for n, e in enumerate(entries) if e.name.endswith(b".xml")])
        part = entries[i].data
        if rng.random() < 0.3:
            other = next(e.data for e in self._entries[1 - which] if e.name == entries[i].name)
            new, label = mutate_bytes(part, rng, other)
        else:
            ops: dict[str, Callable[[bytes, random.Random], bytes]] = {
                **{name: self._xml_doctype for name in _XXE},
                "xinclude": self._xml_xinclude,
                "huge_attribute": self._xml_huge_attribute,
                "huge_text": self._xml_huge_text,
                "deep_nesting": self._xml_deep,
                "repeat_element": self._xml_repeat,
                "many_attributes": self._xml_many_attributes,
                "tree_edit": self._xml_tree,
                "encoding": self._xml_encoding,
                "namespace": self._xml_namespace,
                "cdata_comment": self._xml_cdata,
            }
            label, op = _pick(rng, ops)
            self._op = label
            new = op(part, rng)
        entries[i].data = new
        return write_zip(entries)[0], f"{label}@{entries[i].name.decode().rsplit('/', 1)[-1]}"

    @staticmethod
    def _text_site(xml: bytes, rng: random.Random) -> int:
        """Just after a random start tag (in an element's content)."""
        tags = [m for m in _START_TAG.finditer(xml) if not m.group(0).endswith(b"/>")]
        tags = [m for m in tags if not m.group(0).startswith((b"<?", b"<!"))]
        return rng.choice(tags).end() if tags else len(xml)

    @staticmethod
    def _declaration_end(xml: bytes) -> int:
        end = xml.find(b"?>")
        return end + 2 if xml.startswith(b"<?xml") and end >= 0 else 0

    def _xml_doctype(self, xml: bytes, rng: random.Random) -> bytes:
        doctype, reference = _XXE[self._op]
        at = self._text_site(xml, rng)
        xml = xml[:at] + reference + xml[at:]
        start = self._declaration_end(xml)
        return xml[:start] + doctype + xml[start:]

    def _xml_xinclude(self, xml: bytes, rng: random.Random) -> bytes:
        href = rng.choice((b"file:///etc/passwd", b"http://127.0.0.1:9/x", b"OFD.xml"))
        include = b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="%s"%s/>' % (
            href,
            rng.choice((b' parse="text"', b"")),
        )
        at = self._text_site(xml, rng)
        return xml[:at] + include + xml[at:]

    def _xml_huge_attribute(self, xml: bytes, rng: random.Random) -> bytes:
        value = rng.choice((b"A", b"../", b"\xf0\xa0\x88\x8c", b"&amp;")) * rng.choice(
            (10**5, 10**6, 3 * 10**6, 12 * 10**6)
        )
        attributes = list(_ATTRIBUTE.finditer(xml))
        if attributes and rng.random() < 0.6:
            m = rng.choice(attributes)
            return xml[: m.start(2)] + value + xml[m.end(2) :]
        at = self._text_site(xml, rng) - 1
        return xml[:at] + b' Huge="' + value + b'"' + xml[at:]

    def _xml_huge_text(self, xml: bytes, rng: random.Random) -> bytes:
        text = rng.choice((b"a", b"\xf0\xa0\x88\x8c", b" ", b"&amp;")) * rng.choice(
            (10**5, 10**6, 12 * 10**6)
        )
        at = self._text_site(xml, rng)
        return xml[:at] + text + xml[at:]

    def _xml_deep(self, xml: bytes, rng: random.Random) -> bytes:
        depth = rng.choice((257, 1000, 10_000, 100_000, 1_000_000))
        tag = rng.choice((b"a", b"ofd:Page", b"ofd:CustomData", b"ofd:Reference", b"ofd:TextCode"))
        at = self._text_site(xml, rng)
        nested = b"<%s>" % tag * depth + b"</%s>" % tag * depth
        return xml[:at] + nested + xml[at:]

    def _xml_repeat(self, xml: bytes, rng: random.Random) -> bytes:
        """An element repeated many times (one that names a file, mostly)."""
        root = etree.fromstring(xml)
        elements = [e for e in root.iter() if e is not root and isinstance(e.tag, str)]
        naming = [
            e
            for e in elements
            if any(k in e.attrib for k in ("BaseLoc", "FileRef")) or (e.text or "").endswith(".xml")
        ]
        if not elements:
            return xml
        element = rng.choice(naming if naming and rng.random() < 0.6 else elements)
        copy_xml = etree.tostring(element, with_tail=False)
        element.addnext(etree.Comment("fuzz-mark"))
        count = min(rng.choice((10, 1000, 20_000, 100_000)), _MAX_PART // len(copy_xml) + 1)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")).replace(
            b"<!--fuzz-mark-->", copy_xml * count, 1
        )

    def _xml_many_attributes(self, xml: bytes, rng: random.Random) -> bytes:
        count = rng.choice((1000, 100_000))
        if rng.random() < 0.3:
            extra = b' BaseLoc="a" BaseLoc="b"'
        else:
            extra = b"".join(b' a%d="x"' % n for n in range(count))
        at = self._text_site(xml, rng) - 1
        return xml[:at] + extra + xml[at:]

    def _xml_tree(self, xml: bytes, rng: random.Random) -> bytes:
        """Delete, duplicate, swap, move or rename an element; set an attribute or a text."""
        root = etree.fromstring(xml)
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element = rng.choice(elements)
        parent = element.getparent()
        edit = rng.choice(("delete", "duplicate", "swap", "move", "rename", "attribute", "text"))
        if parent is None and edit in ("delete", "duplicate", "swap", "move"):
            edit = "attribute"
        if edit == "delete" and parent is not None:
            parent.remove(element)
        elif edit == "duplicate":
            element.addnext(copy.deepcopy(element))
        elif edit == "swap" and parent is not None:
            siblings = list(parent)
            other = rng.choice(siblings)
            a, b = siblings.index(element), siblings.index(other)
            siblings[a], siblings[b] = siblings[b], siblings[a]
            parent[:] = siblings
        elif edit == "move" and parent is not None:
            target = rng.choice(elements)
            if element not in target.iterancestors() and target is not element:
                target.append(element)
        elif edit == "rename":
            tag = rng.choice(elements).tag
            local = etree.QName(element).localname
            element.tag = rng.choice(
                (tag, local, "{urn:x}" + local, "{http://www.ofdspec.org/2016}X")
            )
        elif edit == "attribute":
            keys = list(element.attrib) or list(_XML_ATTRIBUTES)
            key = rng.choice(keys if rng.random() < 0.7 else list(_XML_ATTRIBUTES))
            element.set(key, rng.choice(_NASTY_TEXT))
        else:
            element.text = rng.choice(_NASTY_TEXT)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _xml_encoding(self, xml: bytes, rng: random.Random) -> bytes:
        kind = rng.choice(("declaration", "utf16", "bom", "invalid_utf8"))
        if kind == "declaration":
            encoding = rng.choice(_XML_DECLARATION_ENCODINGS)
            return re.sub(rb'encoding="[^"]*"', b'encoding="' + encoding + b'"', xml, count=1)
        if kind == "utf16":
            text = xml.decode("utf-8")
            return text.encode(rng.choice(("utf-16", "utf-16-be", "utf-32")))
        if kind == "bom":
            return rng.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) + xml
        at = self._text_site(xml, rng)
        return xml[:at] + rng.choice(_DER_STRINGS[:2]) + xml[at:]

    def _xml_namespace(self, xml: bytes, rng: random.Random) -> bytes:
        ns = b"http://www.ofdspec.org/2016"
        kind = rng.choice(("empty", "other", "drop_prefix", "default"))
        if kind == "empty":
            return xml.replace(b'xmlns:ofd="%s"' % ns, b'xmlns:ofd=""', 1)
        if kind == "other":
            return xml.replace(ns, b"urn:fuzz", 1)
        if kind == "drop_prefix":
            return xml.replace(b"ofd:", b"")
        return xml.replace(b"xmlns:ofd=", b"xmlns=", 1)

    def _xml_cdata(self, xml: bytes, rng: random.Random) -> bytes:
        at = self._text_site(xml, rng)
        insert = rng.choice(
            (
                b"<![CDATA[Doc_0/Document.xml]]>",
                b"<!-- -->",
                b"<?xml-stylesheet href='http://127.0.0.1:9/x'?>",
                b"<![CDATA[" + b"]" * 10_000 + b"]]>",
                b"<!--" + b"-" * 10_000,
            )
        )
        return xml[:at] + insert + xml[at:]

    # -- ses_asn1 --------------------------------------------------------------------------

    def _der(self, which: int, value: bytes) -> tuple[tuple[Tlv, ...], list[Any]]:
        def make() -> tuple[tuple[Tlv, ...], list[Any]]:
            tree = der_read(value) or ()
            return tree, der_paths(tree)

        result: tuple[tuple[Tlv, ...], list[Any]] = self._cached(("der", which), make)
        return result

    def _cms(self, which: int, signed: bytes) -> bytes:
        """A real detached CMS (ECDSA, PKCS#7) over Signature.xml."""

        def make() -> bytes:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.hazmat.primitives.serialization import pkcs7

            key = self.signer.key
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            cert = x509.load_der_x509_certificate(self.signer.certificate)
            builder = pkcs7.PKCS7SignatureBuilder().set_data(signed)
            builder = builder.add_signer(cert, key, hashes.SHA256())
            options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
            return builder.sign(serialization.Encoding.DER, options)

        result: bytes = self._cached(("cms", which), make)
        return result

    def ses_asn1(self, rng: random.Random) -> tuple[bytes, str]:
        which = rng.randrange(len(self.seeds.ofd))
        entries = self.entries(which)
        i = next(n for n, e in enumerate(entries) if e.name.endswith(b"SignedValue.dat"))
        value = entries[i].data
        label = ""
        if rng.random() < 0.12:  # reach the CMS path, then mutate the CMS
            signed = next(e.data for e in entries if e.name.endswith(b"/Signature.xml"))
            value, label = self._cms(which, signed), "cms+"
            if rng.random() < 0.15:
                entries[i].data = value
                return write_zip(entries)[0], "cms"
            tree = der_read(value) or ()
            paths = der_paths(tree)
        else:
            tree, paths = self._der(which, value)
        if rng.random() < 0.3 or not paths:
            other = next(e.data for e in self._entries[1 - which] if e.name == entries[i].name)
            new, op = mutate_bytes(value, rng, other)
        else:
            new, op = self._der_op(tree, paths, rng)
        entries[i].data = new
        return write_zip(entries)[0], label + op

    def _der_op(
        self, tree: tuple[Tlv, ...], paths: list[Any], rng: random.Random
    ) -> tuple[bytes, str]:
        op = rng.choice(_DER_OPS)
        if op == "bare_signature":
            return self._bare_signature(rng), op
        wanted = {
            "der_integer": (0x02,),
            "der_time": (0x17, 0x18, *_STRING_TAGS),
            "der_oid": (0x06,),
            "der_bitstring": (0x03,),
            "der_string": _STRING_TAGS,
        }.get(op)
        candidates = [p for p in paths if wanted is None or p[1].tag[0] in wanted]
        if op == "der_swap":
            candidates = [p for p in paths if p[1].children and len(p[1].children) > 1]
        path = rng.choice(candidates or paths)[0]

        def make(node: Tlv) -> bytes:
            if op == "der_content":
                content = mutate_bytes(node.content, rng)[0] if node.content else rng.randbytes(8)
                return node.tag + der_length(len(content)) + content
            if op == "der_delete":
                return b""
            if op == "der_duplicate":
                return node.encode() * rng.choice((2, 3, 100))
            if op == "der_retag":
                return Tlv(rng.choice(_DER_TAGS), node.content, None).encode()
            if op == "der_length":
                n = len(node.content)
                lengths = (der_length(n + rng.randint(1, 16)), der_length(max(0, n - 1)),
                           b"\x80", b"\x84" + n.to_bytes(4, "big"), b"\x84\xff\xff\xff\xff",
                           b"\x88" + b"\xff" * 8, b"\xff", b"\x81\x01")  # fmt: skip
                length = rng.choice(lengths)
                return node.tag + length + node.content
            if op == "der_swap" and node.children:
                children = list(node.children)
                rng.shuffle(children)
                content = b"".join(c.encode() for c in children)
                return node.tag + der_length(len(content)) + content
            if op == "der_deep":
                depth = rng.choice((100, 1000, 10_000, 50_000))
                return der_nested(depth, rng.choice((b"\x30", b"\x31", b"\xa0")), node.encode())
            content = rng.choice(
                {
                    "der_integer": _DER_INTEGERS,
                    "der_time": _DER_TIMES,
                    "der_oid": _DER_OIDS,
                    "der_string": _DER_STRINGS,
                    "der_bitstring": (b"", b"\x08", b"\xff\x00", b"\x07\xff", b"\x00"),
                }[op]
            )
            return node.tag + der_length(len(content)) + content

        return der_replace(tree, path, make), op

    @staticmethod
    def _bare_signature(rng: random.Random) -> bytes:
        order = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123  # SM2 n
        kind = rng.choice(("raw64", "der", "zero", "order", "odd_length", "empty_sequence"))
        if kind == "raw64":
            return rng.randbytes(64)
        if kind == "odd_length":
            return rng.randbytes(rng.choice((63, 65, 1)))
        if kind == "empty_sequence":
            return b"\x30\x00"
        r, s = {"der": (rng.getrandbits(256), rng.getrandbits(256)), "zero": (0, 0)}.get(
            kind, (order, order + 1)
        )

        def integer(v: int) -> bytes:
            raw = v.to_bytes(v.bit_length() // 8 + 1, "big")
            return b"\x02" + der_length(len(raw)) + raw

        content = integer(r) + integer(s)
        return b"\x30" + der_length(len(content)) + content

    # -- pdf -------------------------------------------------------------------------------

    def pdf(self, rng: random.Random) -> tuple[bytes, str]:
        which = rng.randrange(len(self.seeds.pdf))
        data = self.seeds.pdf[which]
        if rng.random() < 0.4:
            return mutate_bytes(data, rng, self.seeds.pdf[1 - which])
        ops: dict[str, Callable[[bytes, random.Random], bytes]] = {
            "pdf_number": self._pdf_number,
            "pdf_byterange": self._pdf_number,
            "pdf_count": self._pdf_number,
            "pdf_startxref": self._pdf_number,
            "pdf_mediabox": self._pdf_mediabox,
            "pdf_filter": self._pdf_filter,
            "pdf_deep_nesting": self._pdf_deep,
            "pdf_prev_loop": self._pdf_prev_loop,
            "pdf_update": self._pdf_update_object,
            "pdf_flate_bomb": self._pdf_flate_bomb,
            "pdf_encrypt": self._pdf_encrypt,
            "pdf_duplicate_object": self._pdf_duplicate_object,
            "pdf_truncate_object": self._pdf_truncate_object,
        }
        name, op = _pick(rng, ops)
        self._op = name
        return op(data, rng), name

    def _pdf_number(self, data: bytes, rng: random.Random) -> bytes:
        where = {
            "pdf_byterange": rb"/ByteRange\s*\[[^\]]*\]",
            "pdf_count": rb"/Count\s+\d+",
            "pdf_startxref": rb"startxref\s+\d+",
        }.get(self._op)
        if where is None:
            return _number(data, rng)
        match = rng.choice(list(re.finditer(where, data)))
        region = _number(match.group(0), rng)
        return data[: match.start()] + region + data[match.end() :]

    def _pdf_mediabox(self, data: bytes, rng: random.Random) -> bytes:
        return re.sub(rb"/MediaBox\s*\[[^\]]*\]", b"/MediaBox " + rng.choice(_PDF_MEDIABOXES), data)

    def _pdf_filter(self, data: bytes, rng: random.Random) -> bytes:
        matches = list(re.finditer(rb"/Filter\s*/\w+", data))
        match = rng.choice(matches)
        return data[: match.start()] + b"/Filter " + rng.choice(_PDF_FILTERS) + data[match.end() :]

    def _pdf_deep(self, data: bytes, rng: random.Random) -> bytes:
        depth = rng.choice((100, 1000, 10_000, 100_000))
        opener, closer = rng.choice(((b"[", b"]"), (b"<</A ", b">>")))
        nested = b"/Fuzz " + opener * depth + closer * depth + b" "
        if rng.random() < 0.5:  # in place (offsets move), or in an update's trailer
            sites = [m.end() for m in re.finditer(rb"<<", data)]
            at = rng.choice(sites)
            return data[:at] + nested + data[at:]
        return self._pdf_append(data, {}, nested)

    @staticmethod
    def _pdf_append(
        data: bytes, objects: dict[int, bytes], trailer: bytes = b"", prev: int | None = None
    ) -> bytes:
        """An incremental update redefining ``objects``, with ``trailer`` in its trailer."""
        startxrefs = re.findall(rb"startxref\s+(\d+)", data)
        last = int(startxrefs[-1]) if startxrefs else 0
        sizes = [int(s) for s in re.findall(rb"/Size\s+(\d+)", data)] or [1]
        roots = re.findall(rb"/Root\s+(\d+\s+\d+\s+R)", data) or [b"1 0 R"]
        out = bytearray(data if data.endswith(b"\n") else data + b"\n")
        offsets = {}
        for number, body in objects.items():
            offsets[number] = len(out)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n"
        for number in sorted(offsets):
            out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
        size = max(sizes + [n + 1 for n in objects])
        previous = last if prev is None else (xref if prev < 0 else prev)
        out += b"trailer\n<< /Size %d /Root %s /Prev %d %s>>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            roots[-1],
            previous,
            trailer,
            xref,
        )
        return bytes(out)

    def _pdf_prev_loop(self, data: bytes, rng: random.Random) -> bytes:
        prev = rng.choice((-1, 0, 1, len(data) // 2, 2**40))  # -1: the update's own xref
        updated = self._pdf_append(data, {}, b"", prev)
        if rng.random() < 0.3:  # a second update pointing back at the first
            updated = self._pdf_append(updated, {}, b"", len(data) + rng.randint(0, 20))
        return updated

    def _pdf_update_object(self, data: bytes, rng: random.Random) -> bytes:
        """An object redefined after signing with mutated contents (diff analysis)."""
        matches = [m for m in _PDF_OBJECT.finditer(data) if len(m.group(2)) < 200_000]
        match = rng.choice(matches)
        body = mutate_bytes(match.group(2).strip(), rng)[0]
        return self._pdf_append(data, {int(match.group(1)): body})

    def _pdf_flate_bomb(self, data: bytes, rng: random.Random) -> bytes:
        size = rng.choice((2**20, 64 * 2**20, 200 * 2**20))
        filler = rng.choice((b"\x00", b" "))

        def make() -> bytes:
            return _compress(ZLIB, _repeated(filler, size))

        bomb: bytes = self._cached(("pdf_bomb", size, filler), make)
        contents = re.findall(rb"/Contents\s+(\d+)\s+0\s+R", data)
        number = int(rng.choice(contents)) if contents else 1
        stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(bomb), bomb)
        return self._pdf_append(data, {number: stream})

    def _pdf_encrypt(self, data: bytes, rng: random.Random) -> bytes:
        encrypt = rng.choice(
            (
                b"/Encrypt << /Filter /Standard /V 5 /R 6 /Length 256 /P -4 /O <00> /U <00> >>",
                b"/Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -4 >>",
                b"/Encrypt << /Filter /Unknown >>",
                b"/Encrypt 1 0 R",
            )
        )
        return self._pdf_append(data, {}, encrypt)

    def _pdf_duplicate_object(self, data: bytes, rng: random.Random) -> bytes:
        match = rng.choice(list(_PDF_OBJECT.finditer(data)))
        at = rng.choice((match.start(), match.end(), len(data)))
        return data[:at] + b"\n" + match.group(0) + b"\n" + data[at:]

    def _pdf_truncate_object(self, data: bytes, rng: random.Random) -> bytes:
        match = rng.choice(list(_PDF_OBJECT.finditer(data)))
        cut = match.start() + rng.randrange(max(1, len(match.group(0))))
        return data[:cut] + data[match.end() :]

    # -- qr_payload ------------------------------------------------------------------------

    def qr_payload(self, rng: random.Random) -> tuple[str, str]:
        which = rng.randrange(len(self.seeds.qr))
        text = self.seeds.qr[which]
        ops: dict[str, Callable[[str, random.Random], str]] = {
            "text": self._qr_text,
            "b45_length": self._qr_b45_length,
            "alphabet": self._qr_alphabet,
            "prefix": self._qr_prefix,
            "zlib_bomb": self._qr_zlib_bomb,
            "zlib_damage": self._qr_zlib_damage,
            "cose_bytes": self._qr_cose_bytes,
            "cose_structure": self._qr_cose_structure,
            "cbor_deep": self._qr_cbor_deep,
            "cbor_huge_length": self._qr_cbor_huge,
            "signed_claims": self._qr_signed_claims,
            "signed_annotation": self._qr_signed_claims,
        }
        name, op = _pick(rng, ops)
        self._op, self._which = name, which
        mutated = op(text, rng)
        return mutated, self._op  # the text ops name themselves

    def _qr_text(self, text: str, rng: random.Random) -> str:
        op = rng.choice(("replace", "insert", "delete", "truncate", "duplicate", "splice"))
        self._op = f"text_{op}"
        at = rng.randrange(len(text))
        pool = rng.choice((_B45, _ODD_CHARS))
        if op == "replace":
            return text[:at] + rng.choice(pool) + text[at + 1 :]
        if op == "insert":
            return text[:at] + "".join(rng.choices(pool, k=rng.randint(1, 30))) + text[at:]
        if op == "delete":
            return text[:at] + text[at + rng.randint(1, 30) :]
        if op == "truncate":
            return text[:at]
        if op == "duplicate":
            chunk = text[at : at + rng.randint(1, 60)]
            return text[:at] + chunk * rng.choice((1, 2, 100, 5000)) + text[at:]
        other = self.seeds.qr[1 - self._which]
        return text[:at] + other[rng.randrange(len(other)) :]

    @staticmethod
    def _qr_b45_length(text: str, rng: random.Random) -> str:
        body = text[len(PREFIX) :]
        kind = rng.choice(("pad1", "pad2", "cut1", "cut2", "overflow", "long", "empty"))
        if kind == "pad1":
            return text + rng.choice(_B45)
        if kind == "pad2":
            return text + rng.choice(_B45) + rng.choice(_B45)
        if kind in ("cut1", "cut2"):
            return text[: -1 if kind == "cut1" else -2]
        if kind == "overflow":  # a triple above 65535 (GGW is the largest that fits)
            at = 3 * rng.randrange(len(body) // 3)
            return PREFIX + body[:at] + rng.choice((":::", "GGX", "ZZZ")) + body[at + 3 :]
        if kind == "long":
            return text + "".join(rng.choices(_B45, k=3 * rng.choice((1000, 100_000))))
        return PREFIX

    @staticmethod
    def _qr_alphabet(text: str, rng: random.Random) -> str:
        body = text[len(PREFIX) :]
        kind = rng.choice(("lower", "fullwidth", "odd_chars", "whitespace", "digits"))
        if kind == "lower":
            return PREFIX + body.lower()
        if kind == "fullwidth":
            return PREFIX + "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in body)
        if kind == "whitespace":
            at = rng.randrange(len(body))
            return PREFIX + body[:at] + rng.choice(("\n", "\t", "\r\n", "\u3000")) + body[at:]
        if kind == "digits":
            return PREFIX + "".join("٠١٢٣٤٥٦٧٨٩"[int(c)] if c.isdigit() else c for c in body)
        chars = list(body)
        for _ in range(rng.randint(1, 5)):
            chars[rng.randrange(len(chars))] = rng.choice(_ODD_CHARS)
        return PREFIX + "".join(chars)

    @staticmethod
    def _qr_prefix(text: str, rng: random.Random) -> str:
        return rng.choice(_PREFIXES) + text[len(PREFIX) :]

    def _qr_zlib_bomb(self, text: str, rng: random.Random) -> str:
        size = rng.choice((5_000, 2**20, 50 * 2**20))
        filler = rng.choice((b"\x00", b"\xd2"))

        def make() -> str:
            return (
                PREFIX + bytes(base45.b45encode(_compress(ZLIB, _repeated(filler, size)))).decode()
            )

        result: str = self._cached(("qr_bomb", size, filler), make)
        return result

    @staticmethod
    def _body(text: str) -> bytes:
        return bytes(base45.b45decode(text[len(PREFIX) :]))

    @classmethod
    def _cose(cls, text: str) -> bytes:
        """The COSE_Sign1 bytes of a QR text (inflated when the body is zlib)."""
        body = cls._body(text)
        return zlib.decompress(body) if body[:1] == b"\x78" else body

    @staticmethod
    def _packed(body: bytes) -> str:
        return PREFIX + bytes(base45.b45encode(body)).decode()

    def _qr_zlib_damage(self, text: str, rng: random.Random) -> str:
        body = self._body(text)
        kind = rng.choice(("bytes", "gzip", "raw_deflate", "header_only", "random"))
        if kind == "bytes":
            return self._packed(mutate_bytes(body, rng)[0])
        cose = self._cose(text)
        if kind == "gzip":
            import gzip

            return self._packed(gzip.compress(cose))
        if kind == "raw_deflate":
            deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
            return self._packed(b"\x78" + deflater.compress(cose) + deflater.flush())
        if kind == "header_only":
            return self._packed(b"\x78\x9c")
        return self._packed(b"\x78" + rng.randbytes(rng.randint(1, 300)))

    def _qr_cose_bytes(self, text: str, rng: random.Random) -> str:
        cose = self._cose(text)
        mutated = mutate_bytes(cose, rng)[0]
        return pack(mutated) if rng.random() < 0.5 else self._packed(mutated)

    def _qr_cose_structure(self, text: str, rng: random.Random) -> str:
        message = cbor2.loads(self._cose(text))
        protected, unprotected, payload, signature = message.value
        header = cbor2.loads(protected)
        kind = rng.choice(_COSE_EDITS)
        if kind == "alg":
            header[1] = rng.choice((-35, -8, 0, "ES256", None, 2**64, -7.0, [-7]))
            protected = cbor2.dumps(header)
        elif kind == "kid":
            header[4] = rng.choice((b"", "kid", 7, b"\x00" * 10_000, header[4][:-1], None))
            protected = cbor2.dumps(header)
        elif kind == "header_type":
            protected = rng.choice((b"", b"\xa0", b"\xff", cbor2.dumps([1, -7]), b"\x00" * 10))
        elif kind == "unprotected":
            unprotected = rng.choice(({4: header.get(4)}, {1: -35}, [], None, {"x": "y"}))
        elif kind == "payload_type":
            payload = rng.choice(("text", None, 5, [payload], b"", cbor2.CBORTag(24, payload)))
        elif kind == "signature":
            signature = rng.choice((b"", signature[:63], signature + b"\x00", b"\x00" * 64, None))
        elif kind == "payload_claims":
            claims = cbor2.loads(payload)
            claims[rng.choice([*claims, 11, 99, "x"])] = rng.choice(_CLAIM_VALUES)
            payload = cbor2.dumps(claims)
        items: list[Any] = [protected, unprotected, payload, signature]
        if kind == "array_length":
            items = rng.choice((items[:3], [*items, b""], [], items * 100))
        value: Any = cbor2.CBORTag(rng.choice((18, 98, 17, 61)) if kind == "tag" else 18, items)
        if kind == "untagged":
            value = items
        return pack(cbor2.dumps(value))

    def _qr_cbor_deep(self, text: str, rng: random.Random) -> str:
        depth = rng.choice((100, 1000, 10_000, 100_000))
        opener = rng.choice((b"\x81", b"\xa1\x01", b"\xd8\x18", b"\x9f"))  # array, map, tag
        deep = opener * depth + b"\x00"
        if rng.random() < 0.5:  # as the claims of an unsigned COSE_Sign1
            message = cbor2.loads(self._cose(text))
            message.value[2] = deep
            return pack(cbor2.dumps(message))
        return pack(deep)

    def _qr_cbor_huge(self, text: str, rng: random.Random) -> str:
        major = rng.choice((0x5B, 0x7B, 0x9B, 0xBB))  # bytes, text, array, map; 8-byte length
        length = rng.choice((2**32, 2**40, 2**63 - 1, 2**64 - 1))
        huge = bytes([major]) + length.to_bytes(8, "big") + b"\x00" * 16
        if rng.random() < 0.5:
            message = cbor2.loads(self._cose(text))
            message.value[2] = huge
            return pack(cbor2.dumps(message))
        return pack(b"\xd2\x84" + huge)

    def _qr_signed_claims(self, text: str, rng: random.Random) -> str:
        """Fuzzed claims signed with the real key: the claims parser behind the signature."""
        message = cbor2.loads(self._cose(text))
        claims: dict[Any, Any] = cbor2.loads(message.value[2])
        if self._op == "signed_annotation":
            claims = {
                int(Claim.KIND): claims[int(Claim.KIND)],
                int(Claim.NUMBER): claims[int(Claim.NUMBER)],
                int(Claim.VERSION): claims[int(Claim.VERSION)],
                int(Claim.ANNOTATION): "JZ-2026-000001",
                int(Claim.SCENARIO): "本人调用",
                int(Claim.WINDOW_FROM): claims[int(Claim.ISSUED)],
                int(Claim.WINDOW_TO): claims[int(Claim.ISSUED)] + 30,
            }
        for _ in range(rng.randint(1, 3)):
            key = rng.choice([*claims, *range(1, 16), -1, "1", 2**64])
            if rng.random() < 0.15:
                claims.pop(key, None)
            else:
                claims[key] = rng.choice(
                    (*_CLAIM_VALUES, *KIND_CODES.values(), rng.randint(-(10**6), 10**6))
                )
        try:
            payload = cbor2.dumps(claims)
        except (ValueError, TypeError, cbor2.CBOREncodeError):
            payload = cbor2.dumps({1: 1})
        return pack(sign_cose(payload, self.signer))

    # -- images ----------------------------------------------------------------------------

    def _zlib_zeros(self, size: int) -> bytes:
        make = lambda: _compress(ZLIB, _repeated(b"\x00", size))  # noqa: E731
        result: bytes = self._cached(("zlib_zeros", size), make)
        return result

    def png_bomb(self, rng: random.Random) -> bytes:
        """A small PNG that says (or is) very large."""
        width, height, real = rng.choice(_PNG_BOMBS)

        def make() -> bytes:
            row = 1 + (width + 7) // 8  # filter byte + 1-bit pixels
            idat = _compress(ZLIB, _repeated(b"\x00", row * height if real else 64))
            return png_image(width, height, 1, 0, idat)

        result: bytes = self._cached(("png_bomb", width, height), make)
        return result

    def images(self, rng: random.Random) -> tuple[bytes, str]:
        png = rng.random() < 0.5
        which = rng.randrange(len(self.seeds.png))
        seeds = self.seeds.png if png else self.seeds.jpeg
        data = seeds[which]
        if rng.random() < 0.45:
            other = rng.choice((seeds[1 - which], self.seeds.jpeg[which] if png else data))
            return mutate_bytes(data, rng, other)
        ops: dict[str, Callable[[bytes, random.Random], bytes]] = (
            {
                "png_chunk": self._png_chunk,
                "png_ihdr": self._png_ihdr,
                "png_bomb": lambda _, r: self.png_bomb(r),
                "png_text": self._png_text,
                "png_chunks": self._png_chunks,
            }
            if png
            else {
                "jpeg_segment": self._jpeg_segment,
                "jpeg_sof": self._jpeg_sof,
                "jpeg_markers": self._jpeg_markers,
                "jpeg_exif": self._jpeg_exif,
                "jpeg_scan": self._jpeg_scan,
            }
        )
        name, op = _pick(rng, ops)
        return op(data, rng), name

    @staticmethod
    def _png_join(chunks: Sequence[tuple[bytes, bytes]]) -> bytes:
        return _PNG_SIGNATURE + b"".join(png_chunk(kind, data) for kind, data in chunks)

    def _png_chunk(self, data: bytes, rng: random.Random) -> bytes:
        """One chunk's data mutated, its CRC made right again."""
        chunks = png_chunks(data)
        i = rng.randrange(len(chunks))
        kind, content = chunks[i]
        chunks[i] = (kind, mutate_bytes(content, rng)[0] if content else rng.randbytes(4))
        return self._png_join(chunks)

    def _png_ihdr(self, data: bytes, rng: random.Random) -> bytes:
        chunks = png_chunks(data)
        width, height, depth, colour, compression, filtering, interlace = struct.unpack(
            ">IIBBBBB", chunks[0][1]
        )
        kind = rng.choice(("width", "height", "depth", "colour", "other"))
        if kind == "width":
            width = rng.choice((0, 1, width + 1, width * 2, 2**31 - 1, 2**32 - 1))
        elif kind == "height":
            height = rng.choice((0, 1, height - 1, height * 10, 2**31 - 1))
        elif kind == "depth":
            depth = rng.choice((0, 1, 2, 4, 16, 3, 255))
        elif kind == "colour":
            colour = rng.choice((0, 1, 3, 4, 5, 7, 255))
        else:
            compression, filtering, interlace = (rng.choice((0, 1, 255)) for _ in range(3))
        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, compression, filtering,
                           interlace)  # fmt: skip
        chunks[0] = (b"IHDR", ihdr)
        return self._png_join(chunks)

    def _png_text(self, data: bytes, rng: random.Random) -> bytes:
        chunks = png_chunks(data)
        kind = rng.choice(("tEXt", "zTXt", "iTXt", "iCCP", "huge_length"))
        if kind == "tEXt":
            chunk = (b"tEXt", b"Comment\x00" + b"x" * rng.choice((100, 10**6, 20 * 10**6)))
        elif kind in ("zTXt", "iTXt", "iCCP"):
            bomb = self._zlib_zeros(rng.choice((10**6, 64 * 2**20)))
            chunk = {
                "zTXt": (b"zTXt", b"Comment\x00\x00" + bomb),
                "iTXt": (b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb),
                "iCCP": (b"iCCP", b"icc\x00\x00" + bomb),
            }[kind]
        else:  # a chunk that says it is 2 GB long
            raw = self._png_join(chunks[:1])
            return raw + struct.pack(">I", 0x7FFFFFFF) + b"tEXt" + b"x" * 100 + data[len(raw) :]
        chunks.insert(1, chunk)
        return self._png_join(chunks)

    def _png_chunks(self, data: bytes, rng: random.Random) -> bytes:
        chunks = png_chunks(data)
        kind = rng.choice(("duplicate", "drop", "reorder", "critical", "no_iend", "split_idat"))
        i = rng.randrange(len(chunks))
        if kind == "duplicate":
            chunks.insert(i, chunks[i])
        elif kind == "drop":
            del chunks[i]
        elif kind == "reorder":
            rng.shuffle(chunks)
        elif kind == "critical":
            chunks.insert(i, (b"FUZZ", rng.randbytes(16)))
        elif kind == "no_iend":
            chunks = [c for c in chunks if c[0] != b"IEND"]
        else:
            idat = b"".join(d for k, d in chunks if k == b"IDAT")
            step = rng.choice((1, 7, 1000))
            rest = [c for c in chunks if c[0] not in (b"IDAT", b"IEND")]
            pieces = [(b"IDAT", idat[n : n + step]) for n in range(0, len(idat), step)]
            chunks = rest + pieces[:200_000] + [(b"IEND", b"")]
        return self._png_join(chunks)

    def _jpeg_segment(self, data: bytes, rng: random.Random) -> bytes:
        segments, rest = jpeg_segments(data)
        i = rng.randrange(len(segments))
        marker, payload = segments[i]
        segments[i] = (marker, mutate_bytes(payload, rng)[0] if payload else rng.randbytes(4))
        return jpeg_join(segments, rest)

    def _jpeg_sof(self, data: bytes, rng: random.Random) -> bytes:
        segments, rest = jpeg_segments(data)
        i = next(n for n, (m, _) in enumerate(segments) if m in (0xC0, 0xC1, 0xC2))
        marker, payload = segments[i]
        buf = bytearray(payload)
        kind = rng.choice(("height", "width", "both", "precision", "components", "progressive"))
        if kind in ("height", "width", "both"):
            value = rng.choice((0, 1, 8, 12_000, 30_000, 65_535))
            if kind in ("height", "both"):
                buf[1:3] = value.to_bytes(2, "big")
            if kind in ("width", "both"):
                buf[3:5] = value.to_bytes(2, "big")
        elif kind == "precision":
            buf[0] = rng.choice((0, 12, 16, 255))
        elif kind == "components":
            buf[5] = rng.choice((0, 2, 4, 255))
        else:
            marker = rng.choice((0xC2, 0xC3, 0xC5, 0xCF))
        segments[i] = (marker, bytes(buf))
        return jpeg_join(segments, rest)

    def _jpeg_markers(self, data: bytes, rng: random.Random) -> bytes:
        segments, rest = jpeg_segments(data)
        kind = rng.choice(("duplicate", "drop", "reorder", "no_eoi", "two_soi", "unknown"))
        i = rng.randrange(len(segments))
        if kind == "duplicate":
            segments.insert(i, segments[i])
        elif kind == "drop":
            del segments[i]
        elif kind == "reorder":
            rng.shuffle(segments)
        elif kind == "no_eoi":
            rest = rest.removesuffix(b"\xff\xd9")
        elif kind == "two_soi":
            return data[:2] + data
        else:
            segments.insert(i, (rng.choice((0xC8, 0xF0, 0xFE, 0xE5)), rng.randbytes(32)))
        return jpeg_join(segments, rest)

    def _jpeg_exif(self, data: bytes, rng: random.Random) -> bytes:
        segments, rest = jpeg_segments(data)
        count = rng.choice((1, 1000, 65_535))
        orientation = struct.pack(">HHIHH", 0x0112, 3, 1, rng.choice((0, 3, 6, 8, 9, 65535)), 0)
        tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", count) + orientation
        tiff += rng.randbytes(rng.randint(0, 200))
        segments.insert(0, (0xE1, b"Exif\x00\x00" + tiff))
        return jpeg_join(segments, rest)

    def _jpeg_scan(self, data: bytes, rng: random.Random) -> bytes:
        segments, rest = jpeg_segments(data)
        kind = rng.choice(("restart_markers", "scan_bytes", "second_scan", "cut_scan"))
        if kind == "restart_markers":
            buf = bytearray(rest)
            for _ in range(rng.randint(1, 50)):
                at = rng.randrange(20, len(buf))
                buf[at : at + 2] = bytes([0xFF, 0xD0 + rng.randrange(8)])
            rest = bytes(buf)
        elif kind == "scan_bytes":
            rest = rest[:20] + mutate_bytes(rest[20:], rng)[0]
        elif kind == "second_scan":
            rest = rest.removesuffix(b"\xff\xd9") + rest
        else:
            rest = rest[: rng.randrange(len(rest))]
        return jpeg_join(segments, rest)


# -- the worker ----------------------------------------------------------------------------


class Hang(BaseException):
    """The timer ran out on an input (a BaseException: the verifier's ``except Exception``
    must not swallow it)."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak(libc: ctypes.CDLL | None) -> None:
    """Give freed heap back to the system, and make the peak RSS (VmHWM, ru_maxrss) start
    again from the current RSS: the next peak is that of one input, not of all before."""
    if libc is not None:
        libc.malloc_trim(0)
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


@dataclass(frozen=True)
class Outcome:
    """How one input was judged."""

    index: int
    mutation: str
    outcome: str  # ok, crash, hang, internal, memory, fuzzer
    verdict: str | None
    seconds: float
    megabytes: float  # peak RSS of the worker while judging it
    error: str = ""
    where: str = ""  # where the exception was raised, or the timer stopped it


def _location(tb: TracebackType | None) -> str:
    """Where a traceback ends: the innermost frame of this project, and the innermost frame
    of all (a library's) when that is another."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__]
    project = str(Path(__file__).resolve().parent.parent) + os.sep

    def name(frame: traceback.FrameSummary) -> str:
        path = _LIBRARY.sub("", frame.filename).removeprefix(project)
        return f"{path}:{frame.lineno} {frame.name}"

    ours = [f for f in frames if f.filename.startswith(project) and ".venv" not in f.filename]
    places = [name(ours[-1])] if ours else []
    if frames and (not ours or frames[-1] is not ours[-1]):
        places.append(name(frames[-1]))
    return " → ".join(places)


def _timed(call: Callable[[], Any]) -> Any:
    """``call()`` under the timer."""
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _where_internal(unguarded: Callable[[], Any]) -> str:
    """Where the exception behind an internal error is raised: the verification again,
    without the verifier's last line of defence."""
    try:
        _timed(unguarded)
    except Hang:
        return ""
    except Exception as exc:
        return _location(exc.__traceback__)
    return ""


def _judge(
    verify: Callable[[], Any], unguarded: Callable[[], Any], index: int, mutation: str
) -> Outcome:
    _reset_peak(_LIBC)
    outcome, verdict, error, where = "ok", None, "", ""
    start = time.perf_counter()
    try:
        report = _timed(verify)
        verdict = report.verdict.value
        internal = _INTERNAL.match(report.unreadable or "")
        if internal:
            outcome = "memory" if internal.group(1) == "MemoryError" else "internal"
            error = report.unreadable or ""
    except Hang as exc:
        outcome, error = "hang", f"stopped by the timer after {SECONDS:g} s"
        where = _location(exc.__traceback__)
    except BaseException as exc:  # what a crash is: anything escaping the verifier
        outcome, error = "crash", f"{type(exc).__name__}: {exc}"
        where = _location(exc.__traceback__)
    seconds = time.perf_counter() - start
    if outcome == "ok" and seconds > SECONDS:
        outcome, error = "hang", f"took {seconds:.2f} s (the timer could not interrupt it)"
    return Outcome(
        index,
        mutation,
        outcome,
        verdict,
        round(seconds, 3),
        round(_status_mb("VmHWM"), 1),
        error[:_ERROR_CHARS],
        _where_internal(unguarded) if outcome in ("internal", "memory") else where,
    )


def worker(conn: Connection, seeds_path: str, seed: int) -> None:
    """Judge the inputs the parent names, one message before and one after each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers
    warnings.simplefilter("ignore")  # DecompressionBombWarning and the like, on stderr
    from verify import api
    from verify.api import verify_bytes, verify_qr_text
    from verify.qrscan import ScanResult
    from verify.status import StatusSources
    from verify.trust import TrustList

    seeds: Seeds = pickle.loads(Path(seeds_path).read_bytes())
    trust = TrustList.load([Path(seeds.trust)])
    mutator = Mutator(seeds, seed)

    def verify(parser: str, data: bytes | str) -> Callable[[], Any]:
        if isinstance(data, str):
            return lambda: verify_qr_text(data, trust, AT)
        return lambda: verify_bytes(data, f"fuzz-{parser}", trust, AT)

    def unguarded(data: bytes | str) -> Callable[[], Any]:
        """What ``verify`` runs inside its ``except Exception`` (verify.api's own steps)."""
        if isinstance(data, str):
            scan = ScanResult((data.strip(),), "text", "as given", 0, 0.0)
            return lambda: api._verify(b"", "qr-text", trust, AT, StatusSources(), scan)
        return lambda: api._verify(data, "fuzz", trust, AT, StatusSources())

    for data in (seeds.ofd[0], seeds.pdf[0], seeds.png[0], seeds.jpeg[0], seeds.qr[0]):
        verify("warm-up", data)()  # imports, fonts, caches: not an input's cost
    address_space = _status_mb("VmSize")
    limit = int((address_space + MEGABYTES) * 2**20)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))  # the soft limit: lifted to make
    signal.signal(signal.SIGALRM, _on_alarm)
    conn.send(("ready", round(_status_mb("VmRSS"), 1), round(address_space, 1)))
    while True:
        task = conn.recv()
        if task is None:
            return
        parser, indices = task
        for index in indices:
            try:
                # making an input is this fuzzer's work, not the verifier's: unbounded
                resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
                try:
                    data, mutation = mutator.make(parser, index)
                finally:
                    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            except Exception as exc:  # a defect of this fuzzer, not of the verifier
                conn.send(("start", index, "?"))
                error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
                conn.send(("done", Outcome(index, "?", "fuzzer", None, 0.0, 0.0, error)))
                continue
            conn.send(("start", index, mutation))
            result = _judge(verify(parser, data), unguarded(data), index, mutation)
            conn.send(("done", result))
            del data
        conn.send(("idle",))


# -- the parent ----------------------------------------------------------------------------


@dataclass
class Tally:
    """What one parser's inputs came to."""

    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)
    findings: dict[str, Counter[str]] = field(default_factory=dict)  # kind → mutations
    slowest: list[Outcome] = field(default_factory=list)
    heaviest: Outcome | None = None
    seconds: float = 0.0  # judging, all inputs
    cost: dict[str, float] = field(default_factory=dict)  # seconds by mutation family
    examples: list[Outcome] = field(default_factory=list)

    def add(self, result: Outcome) -> None:
        self.inputs += 1
        self.seconds += result.seconds
        family = _family(result.mutation)
        self.cost[family] = self.cost.get(family, 0.0) + result.seconds
        self.outcomes[result.outcome] += 1
        if result.verdict is not None:
            self.verdicts[result.verdict] += 1
        for op in result.mutation.split("+"):
            self.mutations[op.split("@")[0]] += 1
        self.slowest = sorted([*self.slowest, result], key=lambda r: -r.seconds)[:SLOWEST]
        if self.heaviest is None or result.megabytes > self.heaviest.megabytes:
            self.heaviest = result
        if result.outcome != "ok":
            key = f"{result.outcome}: {_error_type(result.error)}"
            new = key not in self.findings
            self.findings.setdefault(key, Counter())[_family(result.mutation)] += 1
            if new and len(self.examples) < EXAMPLES:
                self.examples.append(result)

    def summary(self, saved: dict[tuple[str, int], str], parser: str) -> dict[str, Any]:
        def brief(r: Outcome) -> dict[str, Any]:
            return {"index": r.index, "mutation": r.mutation, "seconds": r.seconds,
                    "megabytes": r.megabytes, "verdict": r.verdict}  # fmt: skip

        return {
            "inputs": self.inputs,
            "crashes": self.outcomes["crash"],
            "hangs": self.outcomes["hang"],
            "internal_errors": self.outcomes["internal"],
            "memory_errors": self.outcomes["memory"],
            "fuzzer_errors": self.outcomes["fuzzer"],
            "mean_seconds": round(self.seconds / max(self.inputs, 1), 3),
            "worst_seconds": self.slowest[0].seconds if self.slowest else None,
            "worst_megabytes": self.heaviest.megabytes if self.heaviest else None,
            "worst_megabytes_mutation": self.heaviest.mutation if self.heaviest else None,
            "slowest": [brief(r) for r in self.slowest],
            "costliest_mutations": {
                name: round(seconds, 1)
                for name, seconds in sorted(self.cost.items(), key=lambda kv: -kv[1])[:COSTLIEST]
            },
            "verdicts": dict(self.verdicts.most_common()),
            "findings": {
                key: {"count": sum(by.values()), "mutations": dict(by.most_common())}
                for key, by in sorted(self.findings.items(), key=lambda kv: -sum(kv[1].values()))
            },
            "examples": [
                {
                    "index": r.index,
                    "outcome": r.outcome,
                    "mutation": r.mutation,
                    "error": r.error,
                    "where": r.where,
                    "seconds": r.seconds,
                    "input": saved.get((parser, r.index)),
                }
                for r in self.examples
            ],
            "mutations": dict(sorted(self.mutations.items())),
        }


def _error_type(error: str) -> str:
    """The exception's name in an error message, or how a hang was stopped."""
    internal = _INTERNAL.match(error)
    if internal:
        return internal.group(1)
    for words, kind in (("by the timer", "timer"), ("no answer", "killed"), ("took", "slow")):
        if words in error:
            return kind
    head = error.split(":", 1)[0]
    return head if head.isidentifier() else error[:60]


def _family(mutation: str) -> str:
    """A mutation's operation without the part it was applied to; stacked generic byte
    operations are one family, ``havoc``."""
    ops = mutation.split("@")[0].split("+")
    head = "cms+" if ops[0] == "cms" and len(ops) > 1 else ""
    ops = ops[1:] if head else ops
    return head + (ops[0] if len(ops) == 1 else "havoc")


@dataclass
class Slot:
    """One worker process and what it is doing."""

    process: BaseProcess
    conn: Connection
    parser: str = ""
    pending: deque[int] = field(default_factory=deque)  # sent, not yet judged
    inflight: tuple[int, str, float] | None = None  # index, mutation, start
    since: float = field(default_factory=time.monotonic)  # of the last message
    ready: bool = False


class Run:
    """Hands chunks of inputs to the workers, restarts the ones that hang or die."""

    def __init__(self, args: argparse.Namespace, parsers: list[str], seeds_path: Path) -> None:
        self.args = args
        self.seeds_path = seeds_path
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["__main__", "verify.api", "verify.pdf"])
        self.tasks: deque[tuple[str, list[int]]] = deque(
            (parser, list(range(start, min(start + CHUNK, args.n))))
            for start in range(0, args.n, CHUNK)
            for parser in parsers
        )
        self.tallies = {parser: Tally() for parser in parsers}
        self.slots: list[Slot] = []
        self.restarts = 0
        self.baseline: dict[str, float] = {}
        self.total = args.n * len(parsers)
        self.done = 0

    def _spawn(self) -> Slot:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=worker, args=(child, str(self.seeds_path), self.args.seed), daemon=True
        )
        process.start()
        child.close()
        return Slot(process, parent)

    def _assign(self, slot: Slot) -> None:
        if self.tasks:
            slot.parser, indices = self.tasks.popleft()
            slot.pending = deque(indices)
            slot.conn.send((slot.parser, indices))
        else:
            slot.pending = deque()
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        slot.since = time.monotonic()

    def _replace(self, n: int, outcome: str, error: str) -> None:
        """Kill worker ``n``: its input in flight gets ``outcome``, the rest are re-queued."""
        slot = self.slots[n]
        slot.process.kill()
        slot.process.join()
        slot.conn.close()
        if slot.pending:
            index, mutation = slot.pending.popleft(), "?"
            if slot.inflight is not None:
                mutation = slot.inflight[1]
            seconds = time.monotonic() - (slot.inflight[2] if slot.inflight else slot.since)
            result = Outcome(index, mutation, outcome, None, round(seconds, 3), 0.0, error)
            self.tallies[slot.parser].add(result)
            self.done += 1
            if slot.pending:
                self.tasks.appendleft((slot.parser, list(slot.pending)))
        self.restarts += 1
        self.slots[n] = self._spawn()

    def _receive(self, n: int) -> None:
        slot = self.slots[n]
        while slot.conn.poll():
            message = slot.conn.recv()
            slot.since = time.monotonic()
            if message[0] == "ready":
                slot.ready = True
                self.baseline = {"rss": message[1], "address_space": message[2]}
                self._assign(slot)
            elif message[0] == "start":
                slot.inflight = (message[1], message[2], time.monotonic())
            elif message[0] == "done":
                self.tallies[slot.parser].add(message[1])
                self.done += 1
                slot.inflight = None
                if slot.pending:
                    slot.pending.popleft()
            elif message[0] == "idle":
                self._assign(slot)

    def execute(self) -> None:
        self.slots = [self._spawn() for _ in range(self.args.workers)]
        last_progress = start = time.monotonic()
        while any(s.process.is_alive() or s.pending for s in self.slots):
            conns = [s.conn for s in self.slots] + [s.process.sentinel for s in self.slots]
            wait(conns, timeout=0.5)
            now = time.monotonic()
            for n, slot in enumerate(list(self.slots)):
                with contextlib.suppress(EOFError, OSError):
                    self._receive(n)
                if not slot.process.is_alive() and (slot.pending or self.tasks):
                    with contextlib.suppress(EOFError, OSError):
                        self._receive(n)  # what it said before it died
                    code = slot.process.exitcode
                    if code == 0 and not slot.pending:  # it was done; inputs came back since
                        slot.conn.close()
                        self.slots[n] = self._spawn()
                        continue
                    why = f"signal {signal.Signals(-code).name}" if code and code < 0 else code
                    self._replace(n, "crash", f"worker died ({why})")
                elif slot.inflight and now - slot.inflight[2] > SECONDS + GRACE_SECONDS:
                    self._replace(n, "hang", f"no answer after {SECONDS + GRACE_SECONDS:g} s")
                elif slot.pending and not slot.inflight and now - slot.since > 120:
                    self._replace(n, "fuzzer", "making the input took over 120 s")
                elif not slot.ready and now - slot.since > 300:
                    raise SystemExit("a worker did not start within 300 s")
            if now - last_progress > PROGRESS_SECONDS:
                last_progress = now
                self.progress(now - start)

    def progress(self, elapsed: float) -> None:
        findings = Counter[str]()
        for tally in self.tallies.values():
            findings.update({k: v for k, v in tally.outcomes.items() if k != "ok"})
        rate = self.done / max(elapsed, 1e-9)
        left = (self.total - self.done) / rate if rate else float("inf")
        print(
            f"fuzz: {self.done}/{self.total} inputs in {elapsed:.0f} s ({rate:.0f}/s, "
            f"~{left / 60:.1f} min left); findings {dict(findings)}; "
            f"restarts {self.restarts}",
            file=sys.stderr,
            flush=True,
        )

    def stop(self) -> None:
        for slot in self.slots:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        for slot in self.slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()


def _save(mutator: Mutator, tallies: dict[str, Tally], folder: Path) -> dict[tuple[str, int], str]:
    """Write each example's input (made again from its index) to ``folder``."""
    saved = {}
    suffix = {"ofd_package": "ofd", "ofd_xml": "ofd", "ses_asn1": "ofd", "pdf": "pdf",
              "qr_payload": "txt", "images": "img"}  # fmt: skip
    for parser, tally in tallies.items():
        for example in tally.examples:
            data, _ = mutator.make(parser, example.index)
            raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
            path = folder / f"{parser}-{example.index}.{suffix[parser]}"
            path.write_bytes(raw)
            saved[(parser, example.index)] = str(path)
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs per parser")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help=f"comma-separated, of {','.join(PARSERS)}")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    parsers = [p for p in args.only.split(",") if p] or list(PARSERS)
    unknown = sorted(set(parsers) - set(PARSERS))
    if unknown:
        parser.error(f"unknown parser(s) {', '.join(unknown)}; known: {', '.join(PARSERS)}")
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")  # workers: fewer 64 MB arenas under RLIMIT_AS
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))
    run: Run | None = None
    interrupted = False
    try:
        seeds = make_seeds(folder)
        seeds_path = folder / "seeds.pickle"
        seeds_path.write_bytes(pickle.dumps(seeds))
        print(f"fuzz: seeds made in {time.monotonic() - started:.1f} s", file=sys.stderr)
        run = Run(args, parsers, seeds_path)
        try:
            run.execute()
        except KeyboardInterrupt:
            interrupted = True
            print("fuzz: interrupted; reporting what was judged", file=sys.stderr)
        run.stop()
        findings = Path(tempfile.mkdtemp(prefix="bench-fuzz-findings-"))
        saved = _save(Mutator(seeds, args.seed), run.tallies, findings)
        if not saved:
            findings.rmdir()
        result = {
            "bounds": {
                "seconds": SECONDS,
                "megabytes": MEGABYTES,
                "worker_baseline_megabytes": run.baseline,
            },
            "seed": args.seed,
            "n": args.n,
            "workers": args.workers,
            "interrupted": interrupted,
            "parsers": {p: t.summary(saved, p) for p, t in run.tallies.items()},
            "totals": {
                "inputs": sum(t.inputs for t in run.tallies.values()),
                **{k: sum(t.outcomes[k] for t in run.tallies.values()) for k in _FINDINGS},
            },
            "worker_restarts": run.restarts,
            "saved_inputs": str(findings) if saved else None,
            "seconds_total": round(time.monotonic() - started, 1),
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        if run is not None:
            run.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
