"""DER encoded once by asn1crypto, then filled in for each signature.

Two signatures by one signer differ only in a few values of fixed length: the digest of
what is signed, the signing time, the signature value (whose DER length varies by a byte or
two). A :class:`Template` is the DER of the structure built once by the ordinary asn1crypto
code with random marker bytes in those places; filling it joins the pieces around the real
values. Every length in the structure stays what asn1crypto wrote, because each value has
exactly its marker's length (a template is made per length of the values, a handful in all).

This saves the object building and encoding asn1crypto repeats for every certificate (about
0.3 ms for a CMS and for an SES signature each); the bytes are the same as asn1crypto's,
which the tests check against a direct build.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Mapping

__all__ = ["Template", "filled"]

# Markers shorter than this could occur elsewhere in a structure by chance.
_MIN_MARKER = 8


class Template:
    """DER pieces around named values of fixed length."""

    def __init__(self, build: Callable[[Mapping[str, bytes]], bytes], sizes: Mapping[str, int]):
        """Build once with a random marker for each value (``sizes``: name → length).

        Raises:
            ValueError: a value shorter than 8 bytes, or a marker not found exactly once.
        """
        if any(size < _MIN_MARKER for size in sizes.values()):
            raise ValueError(f"values of at least {_MIN_MARKER} bytes can be marked: {sizes}")
        markers = {name: os.urandom(size) for name, size in sizes.items()}
        der = build(markers)
        found = []
        for name, marker in markers.items():
            if der.count(marker) != 1:
                raise ValueError(f"the marker of {name} is not in the structure exactly once")
            found.append((der.index(marker), name))
        found.sort()
        self.sizes = dict(sizes)
        self.order = [name for _, name in found]
        self.pieces = []
        at = 0
        for position, name in found:
            self.pieces.append(der[at:position])
            at = position + sizes[name]
        self.pieces.append(der[at:])

    def fill(self, values: Mapping[str, bytes]) -> bytes:
        """The structure with ``values`` in place of the markers.

        Raises:
            ValueError: a value of another length than its template's.
        """
        out = [self.pieces[0]]
        for name, piece in zip(self.order, self.pieces[1:], strict=True):
            value = values[name]
            if len(value) != self.sizes[name]:
                raise ValueError(f"{name} has {len(value)} bytes; the template {self.sizes[name]}")
            out.append(value)
            out.append(piece)
        return b"".join(out)


_TEMPLATES: dict[Hashable, Template] = {}
_LOCK = threading.Lock()
# Templates kept per process (each key is one signer, one structure, one set of lengths).
_KEPT = 256


def filled(
    key: Hashable, build: Callable[[Mapping[str, bytes]], bytes], values: Mapping[str, bytes]
) -> bytes:
    """``build(values)``, made by filling the template kept under ``key`` and the values'
    lengths (built from ``build`` the first time)."""
    full_key = (key, tuple(sorted((name, len(v)) for name, v in values.items())))
    with _LOCK:
        template = _TEMPLATES.get(full_key)
    if template is None:
        template = Template(build, {name: len(v) for name, v in values.items()})
        with _LOCK:
            if len(_TEMPLATES) >= _KEPT:
                _TEMPLATES.clear()
            _TEMPLATES[full_key] = template
    return template.fill(values)
