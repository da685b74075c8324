"""API keys of issuing bodies, for the web service's issuer endpoints.

A key reads ``dgk_<key id>_<secret>``: the key id (public, 12 hex characters) finds the
row, the secret (43 URL-safe characters, 256 bits) is checked against its Argon2id hash.
The whole key is shown once, when it is made; the registry cannot show it again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from . import audit
from .errors import NotFoundError, RefusedError
from .models import ApiKey, IssuingBody
from .store import Registry

__all__ = ["ApiKeyHolder", "check_key", "create_key", "revoke_key"]

_HASHER = PasswordHasher()
_PREFIX = "dgk"


@dataclass(frozen=True)
class ApiKeyHolder:
    """Who a valid key belongs to."""

    key_id: str
    issuer_code: str
    label: str


def create_key(registry: Registry, issuer_code: str, label: str, *, at: datetime) -> str:
    """A new key for the issuing body ``issuer_code`` (which must be in the registry).

    Raises:
        NotFoundError: no issuing body of that code.
    """
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with registry.writing() as session:
        body = session.scalars(select(IssuingBody).where(IssuingBody.code == issuer_code)).first()
        if body is None:
            raise NotFoundError(f"no issuing body {issuer_code} in the registry")
        session.add(
            ApiKey(
                key_id=key_id,
                issuer_code=issuer_code,
                secret_hash=_HASHER.hash(secret),
                label=label[:100],
                created_at=at,
            )
        )
        audit.append(
            session,
            at=at,
            operator=label[:100] or "apikey",
            action="apikey-create",
            subject=issuer_code,
            detail={"key_id": key_id},
        )
    return f"{_PREFIX}_{key_id}_{secret}"


def check_key(registry: Registry, presented: str) -> ApiKeyHolder:
    """Whose key ``presented`` is.

    Raises:
        RefusedError: malformed, unknown, revoked or wrong (one message for all).
    """
    refused = RefusedError("the API key is not valid")
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or len(parts[1]) != 12:
        raise refused
    with registry.reading() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_id == parts[1])).first()
    if row is None or row.revoked_at is not None:
        _HASHER.hash(parts[2])  # the same work as a real check: no timing oracle
        raise refused
    try:
        _HASHER.verify(row.secret_hash, parts[2])
    except (VerificationError, InvalidHashError):
        raise refused from None
    return ApiKeyHolder(row.key_id, row.issuer_code, row.label)


def revoke_key(registry: Registry, key_id: str, *, at: datetime) -> None:
    """Revoke the key ``key_id``.

    Raises:
        NotFoundError: no such key.
    """
    with registry.writing() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
        if row is None:
            raise NotFoundError(f"no API key {key_id}")
        row.revoked_at = at
        audit.append(
            session,
            at=at,
            operator="apikey",
            action="apikey-revoke",
            subject=row.issuer_code,
            detail={"key_id": key_id},
        )
