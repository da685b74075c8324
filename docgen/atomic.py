"""Atomic file output: nothing is ever half-written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .errors import OutputError

__all__ = ["write_atomically"]


def write_atomically(files: Mapping[Path, bytes], mode: int = 0o644) -> None:
    """Write every file via a temporary file in its folder, then rename them all into place.

    Files get permission ``mode`` (use 0o600 for private keys: the temporary file is created
    0600 and keeps that mode, so a secret is never readable by others, not even briefly).

    Raises:
        OutputError: a folder cannot be created or a file cannot be written.
    """
    staged: list[tuple[Path, Path]] = []
    target = Path()
    try:
        for target, data in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
            tmp = Path(tmp_name)
            staged.append((tmp, target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
        for tmp, target in staged:
            os.replace(tmp, target)
    except OSError as exc:
        # named by the file asked for: the error's own name is the temporary's, or none
        raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
