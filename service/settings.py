"""What the web service is started with: where the registry, trust lists and keys are, and
the limits at its edge. Defaults are the embedded ones (the SQLite registry in the working
folder, ``keys/trust.json``)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ServiceSettings"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """The service's settings; every limit is enforced at the edge, before real work."""

    db: str | None = None
    trust_files: tuple[Path, ...] = ()
    #: Issuing bodies' key stores, for annotated copies (the web process needs no private key
    #: when it only verifies; leave empty there).
    keys_dirs: tuple[Path, ...] = ()
    #: The environment variable holding those key stores' passphrase, if they have one.
    keys_passphrase_env: str | None = None
    #: Signed status lists to publish at /api/v1/status-list (one per issuing body).
    status_lists: tuple[Path, ...] = ()
    copies_dir: Path = Path("annotated")
    batches_dir: Path = Path("batches")
    batch_workers: int = 1
    max_upload_bytes: int = 20 * _MB
    #: A batch submission (results and a photo ZIP) may be larger.
    max_batch_bytes: int = 2048 * _MB
    max_image_pixels: int = 40_000_000
    verify_seconds: float = 20.0
    verify_workers: int = 2
    verify_memory_mb: int = 1024
    #: Public verification requests a client may make per minute (status look-ups included).
    rate_per_minute: int = 120
    #: Holder sign-in attempts a client may make per minute.
    sign_in_per_minute: int = 10
    session_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    secure_cookies: bool = False  # True behind HTTPS
    access_log: bool = True

    def to_env(self) -> str:
        """These settings as the JSON that :meth:`from_env` reads from ``DOCGEN_SERVICE``
        (how ``docgen serve`` hands them to several worker processes)."""
        values = {
            k: (
                [str(p) for p in v]
                if isinstance(v, tuple)
                else str(v)
                if isinstance(v, Path)
                else v
            )
            for k, v in self.__dict__.items()
            if k != "session_secret"
        }
        return json.dumps(values)

    @classmethod
    def from_env(cls, **given: object) -> ServiceSettings:
        """Settings from keyword values, then ``DOCGEN_SERVICE`` (JSON, see :meth:`to_env`),
        then ``DOCGEN_SESSION_SECRET`` (so several workers share sessions), then the
        defaults."""
        values: dict[str, object] = {}
        packed = os.environ.get("DOCGEN_SERVICE")
        if packed:
            for key, value in json.loads(packed).items():
                kind = cls.__dataclass_fields__[key].type
                if "tuple" in str(kind):
                    value = tuple(Path(v) for v in value)
                elif "Path" in str(kind):
                    value = Path(value)
                values[key] = value
        values.update(given)
        secret = os.environ.get("DOCGEN_SESSION_SECRET")
        if secret and "session_secret" not in values:
            values["session_secret"] = secret
        trust = values.get("trust_files") or ()
        if not trust and Path("keys/trust.json").is_file():
            values["trust_files"] = (Path("keys/trust.json"),)
        return cls(**values)  # type: ignore[arg-type]
