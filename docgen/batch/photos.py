"""Candidates' photos from a folder or a ZIP file, found by file name.

A row names its photo in the 照片 column, or the photo is ``<证件号码>.jpg`` (or ``.jpeg``,
``.png``). Names are matched without regard to case. A ZIP is read member by member,
never extracted, and a member larger than :data:`MAX_PHOTO_BYTES` is refused.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from ..photo import MIN_PHOTO_PIXELS
from .results import BatchInputError

__all__ = ["MAX_PHOTO_BYTES", "PhotoSource"]

#: Largest photo file accepted (a 1-inch ID photo is some 20-200 kB).
MAX_PHOTO_BYTES = 10 * 1024 * 1024
_EXTENSIONS = (".jpg", ".jpeg", ".png")


class PhotoSource:
    """The photos of a batch: a folder or a ZIP file, indexed by lower-case file name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        index: dict[str, str] = {}
        if path.is_dir():
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_file():
                        index.setdefault(entry.name.lower(), entry.name)
        elif path.is_file() and zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            for info in self._zip.infolist():
                if not info.is_dir():
                    index.setdefault(PurePosixPath(info.filename).name.lower(), info.filename)
        else:
            raise BatchInputError(f"--photos: {path} is neither a folder nor a ZIP file")
        self._index = index

    def find(self, named: str, id_number: str) -> str | None:
        """The photo's name in the source: ``named`` if given, else ``<id_number>.jpg`` etc."""
        if named:
            return self._index.get(PurePosixPath(named.replace("\\", "/")).name.lower())
        for suffix in _EXTENSIONS:
            found = self._index.get(id_number.lower() + suffix)
            if found is not None:
                return found
        return None

    def read(self, name: str) -> bytes:
        """The bytes of the photo ``name``.

        Raises:
            ValueError: too large or unreadable.
        """
        if self._zip is not None:
            info = self._zip.getinfo(name)
            if info.file_size > MAX_PHOTO_BYTES:
                raise ValueError(f"is {info.file_size} bytes; at most {MAX_PHOTO_BYTES}")
            with self._zip.open(info) as handle:
                data = handle.read(MAX_PHOTO_BYTES + 1)
        else:
            try:
                with (self.path / name).open("rb") as handle:
                    data = handle.read(MAX_PHOTO_BYTES + 1)
            except OSError as exc:
                raise ValueError(f"cannot be read ({exc.strerror})") from exc
        if len(data) > MAX_PHOTO_BYTES:
            raise ValueError(f"is larger than {MAX_PHOTO_BYTES} bytes")
        return data

    def check(self, name: str) -> str | None:
        """Why the photo ``name`` cannot be used, judged by its header (None: it can)."""
        try:
            data = self.read(name)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
        except (ValueError, OSError, UnidentifiedImageError) as exc:
            return f"{name} {exc}" if isinstance(exc, ValueError) else f"{name} is not an image"
        if kind not in {"JPEG", "PNG"}:
            return f"{name} is {kind}, not JPEG or PNG"
        min_w, min_h = MIN_PHOTO_PIXELS
        if width < min_w or height < min_h:
            return f"{name} is {width}×{height} px; at least {min_w}×{min_h} px is needed"
        return None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
