"""Holder accounts: registration by real-name match, Argon2id secrets, lock-out.

A holder registers with an ID number and name that a registered certificate carries (our
stand-in for a real-name check) and a secret, kept only as an Argon2id hash. Wrong
secrets are counted; after ``max_failures`` in a row the account is locked for
``lock_minutes`` (``docgen/templates/holders.toml``). A holder sees only certificates whose
keyed ID hash is theirs. Secrets are never stored, logged or printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..clock import BEIJING
from ..kinds import load_table
from ..qrpayload import masked
from ..registry import RefusedError, Registry, audit
from ..registry.models import CertificateRow, Holder
from ..registry.status import StatusAnswer, answer

__all__ = ["AccountPolicy", "SignInError", "certificates_of", "register", "sign_in"]

_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters


class SignInError(RefusedError):
    """Wrong ID number or secret, or the account is locked (the message says which)."""


@dataclass(frozen=True)
class AccountPolicy:
    """Lock-out and secret rules, from ``holders.toml``."""

    max_failures: int
    lock_minutes: int
    min_secret_length: int

    @classmethod
    def load(cls) -> AccountPolicy:
        """The packaged policy."""
        table = load_table("holders")["accounts"]
        return cls(
            int(table["max_failures"]),
            int(table["lock_minutes"]),
            int(table["min_secret_length"]),
        )


def _who(id_number: str) -> str:
    return f"holder {masked(id_number.strip().upper(), len(id_number.strip()))}"


def register(registry: Registry, id_number: str, name: str, secret: str, *, at: datetime) -> Holder:
    """Create the account of the holder of ``id_number`` named ``name``.

    Raises:
        RefusedError: no registered certificate has that ID number and name, the account
            exists already, or the secret is too short.
    """
    policy = AccountPolicy.load()
    if len(secret) < policy.min_secret_length:
        raise RefusedError(f"the secret must have at least {policy.min_secret_length} characters")
    id_hash = registry.key.id_hash(id_number)
    with registry.writing() as session:
        owned = session.scalars(
            select(CertificateRow.id).where(
                CertificateRow.id_hash == id_hash, CertificateRow.holder_name == name.strip()
            )
        ).first()
        if owned is None:
            raise RefusedError(
                "no certificate in the registry has this ID number and name: cannot register"
            )
        if session.scalars(select(Holder).where(Holder.id_hash == id_hash)).first():
            raise RefusedError("this ID number has an account already")
        holder = Holder(
            id_hash=id_hash,
            name=name.strip(),
            secret_hash=_HASHER.hash(secret),
            failures=0,
            created_at=at,
        )
        session.add(holder)
        audit.append(
            session, at=at, operator=_who(id_number), action="holder-register", subject=id_hash
        )
    return holder


def sign_in(registry: Registry, id_number: str, secret: str, *, at: datetime) -> Holder:
    """The account of ``id_number`` when ``secret`` is right.

    Raises:
        SignInError: unknown ID number or wrong secret (the same message for both), or the
            account is locked (until when).
    """
    policy = AccountPolicy.load()
    id_hash = registry.key.id_hash(id_number)
    with registry.writing() as session:
        holder = session.scalars(select(Holder).where(Holder.id_hash == id_hash)).first()
        if holder is None:
            raise SignInError("wrong ID number or secret")
        if holder.locked_until is not None and at < holder.locked_until:
            until = holder.locked_until.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
            raise SignInError(f"the account is locked after repeated wrong secrets until {until}")
        try:
            _HASHER.verify(holder.secret_hash, secret)
        except (VerificationError, InvalidHashError):
            _failed(session, holder, policy, id_number, at)
            locked = holder.locked_until is not None and at < holder.locked_until
            message = "wrong ID number or secret"
            if locked:
                message += f"; the account is now locked for {policy.lock_minutes} minutes"
            error = SignInError(message)
        else:
            holder.failures = 0
            holder.locked_until = None
            if _HASHER.check_needs_rehash(holder.secret_hash):
                holder.secret_hash = _HASHER.hash(secret)
            return holder
    raise error  # after the failure was committed


def _failed(
    session: Session, holder: Holder, policy: AccountPolicy, id_number: str, at: datetime
) -> None:
    holder.failures += 1
    if holder.failures >= policy.max_failures:
        holder.failures = 0
        holder.locked_until = at + timedelta(minutes=policy.lock_minutes)
        audit.append(
            session,
            at=at,
            operator=_who(id_number),
            action="holder-locked",
            subject=holder.id_hash,
            reason=f"{policy.max_failures} wrong secrets in a row",
        )


def certificates_of(registry: Registry, holder: Holder, at: datetime) -> list[StatusAnswer]:
    """The holder's certificates (every version), newest first, with their status at ``at``."""
    with registry.reading() as session:
        rows = session.scalars(
            select(CertificateRow)
            .where(CertificateRow.id_hash == holder.id_hash)
            .options(selectinload(CertificateRow.changes))
            .order_by(CertificateRow.number, CertificateRow.version.desc())
        )
        return [answer(row, at) for row in rows]
