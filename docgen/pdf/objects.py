"""PDF objects and the file around them (ISO 32000-1 §7): just what a certificate needs.

A certificate's PDF is written in one pass from its layout: numbered objects, a classic
cross-reference table and a trailer, no incremental sections. Values are plain Python:
``dict`` (keys are names), ``list``/``tuple``, ``int``/``float``, ``bool``, :class:`Name`,
:class:`Ref`, :class:`Text` (a text string), ``bytes`` (a byte string, written in hex),
:class:`Stream`, and :class:`Placeholder` — bytes of fixed width that are filled in after
the file is laid out (a signature's ``/ByteRange`` and ``/Contents``).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["Name", "Placeholder", "Ref", "Stream", "Text", "Writer", "WrittenFile", "deflate"]

_HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
# Characters that must be escaped in a name (§7.3.5): delimiters, '#', and non-regular bytes.
_NAME_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+*,;:!?@$&'=~^`|\"\\"
)


# zlib level of what each document compresses anew (content, font subsets): level 1 takes a
# third of the default's time for files 3 % larger.
_DEFLATE_LEVEL = 1


def deflate(data: bytes) -> bytes:
    """``data`` compressed for a ``FlateDecode`` stream written once per document."""
    return zlib.compress(data, _DEFLATE_LEVEL)


class Name(str):
    """A PDF name such as ``/Type``; the value is written without the slash."""

    __slots__ = ()


class Text(str):
    """A text string (§7.9.2.2): PDFDocEncoding-safe ASCII as a literal, anything else as
    UTF-16BE with a byte order mark."""

    __slots__ = ()


@dataclass(frozen=True)
class Ref:
    """An indirect reference ``n 0 R``."""

    number: int


@dataclass
class Stream:
    """A stream object: its dictionary (``/Length`` is added) and its encoded data."""

    entries: dict[str, object]
    data: bytes


@dataclass(frozen=True)
class Placeholder:
    """Bytes written as they are and overwritten later, in place, by as many bytes."""

    key: str
    initial: bytes


@dataclass
class WrittenFile:
    """A laid-out file and where each placeholder sits in it (start offset, width)."""

    data: bytearray
    placeholders: dict[str, tuple[int, int]] = field(default_factory=dict)


def _number(value: float) -> bytes:
    if isinstance(value, int):
        return str(value).encode()
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode()


@lru_cache(maxsize=1024)
def _name(value: str) -> bytes:
    """``/value``, escaped (a certificate's names come from a small set: kept once made)."""
    out = bytearray(b"/")
    for byte in value.encode("utf-8"):
        out += bytes((byte,)) if byte in _NAME_SAFE else f"#{byte:02X}".encode()
    return bytes(out)


def _text(value: str) -> bytes:
    if value.isascii() and value.isprintable():
        escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"


class _Serializer:
    """Writes one object's bytes, noting where its placeholders fall."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.placeholders: dict[str, tuple[int, int]] = {}

    def write(self, value: object) -> None:
        out = self.out
        kind = type(value)
        if kind is int or kind is float:  # most values: glyph widths and coordinates
            out += _number(value)  # type: ignore[arg-type]
        elif isinstance(value, Name):
            out += _name(value)
        elif isinstance(value, Text):
            out += _text(value)
        elif isinstance(value, bool):
            out += b"true" if value else b"false"
        elif isinstance(value, int | float):
            out += _number(value)
        elif isinstance(value, Ref):
            out += b"%d 0 R" % value.number
        elif isinstance(value, bytes):
            out += b"<" + value.hex().upper().encode() + b">"
        elif isinstance(value, Placeholder):
            self.placeholders[value.key] = (len(out), len(value.initial))
            out += value.initial
        elif isinstance(value, Mapping):
            self.dictionary(value)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            out += b"["
            for n, item in enumerate(value):
                if n:
                    out += b" "
                self.write(item)
            out += b"]"
        elif isinstance(value, Stream):
            self.dictionary({**value.entries, "Length": len(value.data)})
            out += b"\nstream\n" + value.data + b"\nendstream"
        else:
            raise TypeError(f"not a PDF value: {value!r}")

    def dictionary(self, entries: Mapping[str, object]) -> None:
        self.out += b"<<"
        for key, item in entries.items():
            self.out += _name(key) + b" "
            self.write(item)
            self.out += b"\n"
        self.out += b">>"


class Writer:
    """Numbered objects, then :meth:`finish` writes the file."""

    def __init__(self) -> None:
        self._objects: list[object] = []

    def reserve(self) -> Ref:
        """A number for an object given later with :meth:`put`."""
        self._objects.append(None)
        return Ref(len(self._objects))

    def put(self, ref: Ref, value: object) -> Ref:
        """Give the reserved object ``ref`` its value."""
        self._objects[ref.number - 1] = value
        return ref

    def add(self, value: object) -> Ref:
        """A new object holding ``value``."""
        return self.put(self.reserve(), value)

    def finish(self, root: Ref, info: Ref, file_id: bytes) -> WrittenFile:
        """The whole file: header, objects, cross-reference table and trailer."""
        written = WrittenFile(bytearray(_HEADER))
        data = written.data
        offsets: list[int] = []
        for number, value in enumerate(self._objects, start=1):
            if value is None:
                raise ValueError(f"object {number} was reserved but never given")
            offsets.append(len(data))
            part = _Serializer()
            part.write(value)
            head = b"%d 0 obj\n" % number
            start = len(data) + len(head)
            for key, (at, width) in part.placeholders.items():
                written.placeholders[key] = (start + at, width)
            data += head + part.out + b"\nendobj\n"
        xref = len(data)
        data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        for offset in offsets:
            data += b"%010d 00000 n \n" % offset
        trailer = _Serializer()
        trailer.dictionary(
            {"Size": len(offsets) + 1, "Root": root, "Info": info, "ID": [file_id, file_id]}
        )
        data += b"trailer\n" + trailer.out + b"\nstartxref\n%d\n%%%%EOF\n" % xref
        return written
