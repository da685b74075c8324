"""Where a PDF signature goes, and filling it in (ISO 32000-1 §12.8.1).

The renderer writes the signature dictionary with a fixed-width ``/ByteRange`` and a
``/Contents`` hex string of zeros; :func:`embed_signature` states the byte range (the whole
file but the ``/Contents`` string), has the CMS made over its digest and writes the CMS into
the reserved string — the file is neither parsed nor rewritten. The CMS itself is the
signing package's business (:mod:`docgen.signing.pdf`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .objects import WrittenFile

__all__ = ["BYTE_RANGE", "CONTENTS", "SignatureField", "embed_signature"]

#: Placeholder keys of the signature dictionary's entries.
BYTE_RANGE = "ByteRange"
CONTENTS = "Contents"
# Room for four offsets of up to ten digits: "[0 1234567890 1234567890 1234567890]".
_BYTE_RANGE_WIDTH = 37


@dataclass(frozen=True)
class SignatureField:
    """A visible signature: field name, who signs and why, when, the picture shown, and
    how many bytes the CMS may take."""

    name: str
    signer_name: str
    reason: str
    signed_at: datetime
    picture: bytes
    reserved: int

    def byte_range_placeholder(self) -> bytes:
        """The ``/ByteRange`` array as first written."""
        return b"[0 0 0 0]".ljust(_BYTE_RANGE_WIDTH - 1) + b"]"

    def contents_placeholder(self) -> bytes:
        """The ``/Contents`` hex string as first written: ``reserved`` zero bytes."""
        return b"<" + b"0" * (2 * self.reserved) + b">"


def embed_signature(written: WrittenFile, sign: Callable[[bytes], bytes]) -> bytes:
    """The file with its signature: ``sign`` gets the SHA-256 digest of the signed byte
    range and returns the DER of the CMS to embed.

    Raises:
        ValueError: the CMS is larger than the room reserved for it.
    """
    data = written.data
    start, width = written.placeholders[CONTENTS]
    end = start + width
    ranges = b"[0 %d %d %d]" % (start, end, len(data) - end)
    at, room = written.placeholders[BYTE_RANGE]
    if len(ranges) > room:
        raise ValueError("the file is too large for its /ByteRange placeholder")
    data[at : at + room] = ranges[:-1].ljust(room - 1) + b"]"
    view = memoryview(data)
    digest = hashlib.sha256(view[:start])
    digest.update(view[end:])
    view.release()
    cms = sign(digest.digest())
    hexed = cms.hex().upper().encode()
    if len(hexed) > width - 2:
        raise ValueError(f"the signature needs {len(cms)} bytes, {(width - 2) // 2} reserved")
    data[start + 1 : start + 1 + len(hexed)] = hexed
    return bytes(data)
