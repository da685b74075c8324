"""Opening a registry: where it is, its schema, its secret key, its transactions.

Where the database is: ``--db URL``, else the ``DOCGEN_DB`` environment variable, else the
SQLite file ``registry/docgen.db`` in the working folder. SQLite runs in WAL mode with
foreign keys on and write transactions that take the lock at their start; PostgreSQL
(``postgresql+psycopg://...``) is the production choice.

The registry's secret key (32 random bytes) keys the look-up hash of ID numbers and
encrypts each certificate's record (AES-256-GCM); it never enters the database. It is read
from the file named by ``DOCGEN_REGISTRY_KEY_FILE``, else from ``<database file>.key``
beside a SQLite file, and made (mode 0600) when a new registry is created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .audit import lock_head
from .errors import RegistryError, SchemaError
from .models import FileIntent, MetaItem

__all__ = ["DEFAULT_DB", "Registry", "RegistryKey", "database_url"]

#: The embedded default database, relative to the working folder.
DEFAULT_DB = Path("registry/docgen.db")
_KEY_ENV = "DOCGEN_REGISTRY_KEY_FILE"
_KEY_CHECK = "key_check"
_MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The registry URL: ``url``, else ``$DOCGEN_DB``, else the default SQLite file.

    A plain path (no ``://``) means a SQLite file.
    """
    chosen = url or os.environ.get("DOCGEN_DB") or str(DEFAULT_DB)
    if "://" not in chosen:
        chosen = f"sqlite:///{Path(chosen).resolve()}"
    return chosen


@dataclass(frozen=True, repr=False)
class RegistryKey:
    """The registry's secret, split by HKDF into a look-up key and a record key."""

    secret: bytes

    def _derive(self, label: bytes) -> bytes:
        return HKDF(hashes.SHA256(), 32, salt=None, info=label).derive(self.secret)

    @cached_property
    def _lookup_key(self) -> bytes:
        return self._derive(b"docgen id lookup")

    @cached_property
    def _records(self) -> AESGCM:
        return AESGCM(self._derive(b"docgen record"))

    @property
    def check(self) -> str:
        """A value stored in the registry to tell the right key from a wrong one."""
        return hmac.new(self._derive(b"docgen registry check"), b"check", "sha256").hexdigest()

    def id_hash(self, id_number: str) -> str:
        """The keyed look-up hash (HMAC-SHA256, hex) of an ID number."""
        return hmac.new(
            self._lookup_key, id_number.strip().upper().encode(), hashlib.sha256
        ).hexdigest()

    def seal(self, record: dict[str, Any], bound_to: str) -> bytes:
        """``record`` as JSON, encrypted and bound to ``bound_to`` (the identifier)."""
        nonce = os.urandom(12)
        data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
        return nonce + self._records.encrypt(nonce, data, bound_to.encode())

    def open(self, blob: bytes, bound_to: str) -> dict[str, Any]:
        """The record sealed by :meth:`seal`.

        Raises:
            RegistryError: the blob was changed, belongs to another row, or another key.
        """
        try:
            data = self._records.decrypt(blob[:12], blob[12:], bound_to.encode())
        except (InvalidTag, ValueError) as exc:
            raise RegistryError(
                f"the stored record of {bound_to} does not decrypt: changed, or another key"
            ) from exc
        record: dict[str, Any] = json.loads(data)
        return record

    def __repr__(self) -> str:
        return "RegistryKey(…)"


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise RegistryError(f"--db: {url!r} is not a database URL ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            mode = (
                "DEFERRED" if connection.get_execution_options().get("read_only") else "IMMEDIATE"
            )
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, connect_args={"connect_timeout": 10}, pool_pre_ping=True)
    raise RegistryError(
        f"--db: {parsed.get_backend_name()} is not supported; use sqlite:/// or "
        "postgresql+psycopg://"
    )


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other backends and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(str(parsed.database))
    return None


def _must_exist(url: str) -> None:
    """A reader never creates a database: a SQLite file that is not there is no registry."""
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        raise RegistryError(f"there is no registry at {_safe(url)}")


def _alembic(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Registry:
    """An open registry: a database with the current schema, and its secret key.

    Open with :meth:`open`; use :meth:`writing` for a transaction that changes things and
    :meth:`reading` for one that only reads.
    """

    def __init__(self, url: str, engine: Engine, key: RegistryKey | None) -> None:
        self.url = url
        self.engine = engine
        self._key = key
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def key(self) -> RegistryKey:
        """The registry's secret key.

        Raises:
            RegistryError: the registry was opened for reading only, without its key.
        """
        if self._key is None:
            raise RegistryError("the registry was opened for reading status only (no key)")
        return self._key

    @classmethod
    def open(
        cls, url: str | None = None, *, upgrade: bool = False, reader: bool = False
    ) -> Registry:
        """Open the registry at ``url`` (see :func:`database_url`), creating it when the
        database is empty, and finishing file renames a crash interrupted.

        ``upgrade`` migrates an older schema (``docgen db upgrade``); without it an older
        schema is refused. A ``reader`` (a verifier asking for status) changes nothing and
        needs no key: an empty database is "no registry" to it.

        Raises:
            RegistryError: unreachable, wrong key, or not a registry.
            SchemaError: the schema is older (without ``upgrade``) or newer than this program.
        """
        url = database_url(url)
        if reader:
            _must_exist(url)
        engine = _engine(url)
        try:
            with engine.connect() as probe:
                probe.execution_options(read_only=True).exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            engine.dispose()
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise RegistryError(f"cannot reach the registry at {_safe(url)}: {first}") from exc
        try:
            cls._migrate(engine, url, upgrade, reader)
            if reader:
                return cls(url, engine, None)
            key = cls._load_key(engine, url)
        except BaseException:
            engine.dispose()
            raise
        registry = cls(url, engine, key)
        registry.finish_file_intents()
        return registry

    @staticmethod
    def _migrate(engine: Engine, url: str, upgrade: bool, reader: bool = False) -> None:
        """Check the schema: a new registry is created (not for a reader), an older one is
        migrated only with ``upgrade``, a newer one is refused.

        Raises:
            SchemaError: older (without ``upgrade``), newer, or not a registry.
            RegistryError: a reader found no registry.
        """
        with engine.connect() as connection, connection.execution_options(read_only=reader).begin():
            config = _alembic(connection)
            scripts = ScriptDirectory.from_config(config)
            head = scripts.get_current_head()
            current = MigrationContext.configure(connection).get_current_revision()
            if current == head:
                return
            if current is None:
                if reader:
                    raise RegistryError(f"there is no registry at {_safe(url)}")
                tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
                if tables:
                    raise SchemaError(
                        f"{_safe(url)} holds tables but no registry schema "
                        f"({', '.join(sorted(tables)[:5])}): not a docgen registry"
                    )
                command.upgrade(config, "head")
                return
            if current not in {s.revision for s in scripts.walk_revisions()}:
                raise SchemaError(
                    f"the registry at {_safe(url)} has schema {current}, unknown to this "
                    f"docgen (which knows up to {head}): it was written by a newer version"
                )
            if not upgrade:
                raise SchemaError(
                    f"the registry at {_safe(url)} has the older schema {current}; this "
                    f"docgen needs {head}: run `docgen db upgrade` (back it up first)"
                )
            command.upgrade(config, "head")

    @staticmethod
    def _key_path(url: str) -> Path:
        named = os.environ.get(_KEY_ENV)
        if named:
            return Path(named)
        path = _sqlite_file(url)
        if path is not None:
            return path.with_name(path.name + ".key")
        raise RegistryError(
            f"set {_KEY_ENV} to the registry's key file (it is kept outside the database)"
        )

    @classmethod
    def _load_key(cls, engine: Engine, url: str) -> RegistryKey:
        path = cls._key_path(url)
        with Session(engine) as session, session.begin():
            stored = session.get(MetaItem, _KEY_CHECK)
            if stored is None:
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(os.urandom(32).hex().encode() + b"\n")
                key = cls._read_key(path)
                session.add(MetaItem(key=_KEY_CHECK, value=key.check))
                return key
            if not path.exists():
                raise RegistryError(
                    f"the registry's key file {path} is missing (set {_KEY_ENV} to its place)"
                )
            key = cls._read_key(path)
            if not hmac.compare_digest(stored.value, key.check):
                raise RegistryError(f"{path} is not this registry's key")
            return key

    @staticmethod
    def _read_key(path: Path) -> RegistryKey:
        try:
            secret = bytes.fromhex(path.read_text("ascii").strip())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise RegistryError(f"cannot read the registry key {path} ({exc})") from exc
        if len(secret) < 32:
            raise RegistryError(f"{path}: the registry key must be 32 bytes (64 hex digits)")
        return RegistryKey(secret)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A transaction that may change things, committed when the block ends normally;
        writers take turns (the audit chain's head is locked first).

        Raises:
            RegistryError: the database went away (or failed) during the transaction.
        """
        with self._reachable(), self._sessions() as session, session.begin():
            lock_head(session)
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads (on SQLite it takes no write lock).

        Raises:
            RegistryError: the database went away (or failed) during the transaction.
        """
        with self._reachable(), self._sessions() as session:
            session.connection(execution_options={"read_only": True})
            yield session

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A database lost mid-run (a stopped server, a cut connection) or failing (a lock
        waited for too long) as one line."""
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            first = (str(exc.orig).strip() or type(exc.orig).__name__).splitlines()[0]
            where = _safe(self.url)
            if exc.connection_invalidated:
                raise RegistryError(f"lost the registry at {where}: {first}") from exc
            raise RegistryError(f"the registry at {where} failed: {first}") from exc

    def finish_file_intents(self) -> int:
        """Rename staged files whose transaction committed (after a crash); returns how many
        intents were settled.

        Raises:
            RegistryError: a committed file is neither staged nor in place with its digest.
        """
        with self.writing() as session:
            intents = list(session.scalars(select(FileIntent).order_by(FileIntent.id)))
            for intent in intents:
                settle(intent.path, intent.staged, intent.sha256)
                session.delete(intent)
        return len(intents)


def settle(path: str, staged: str, sha256: str, *, hashed: bool = False) -> None:
    """Put a committed file in place: rename its staged copy, or find it already there.

    ``hashed``: the caller staged the file in this run from bytes whose digest it committed
    (written whole and synced before the commit), so the staged copy is renamed unread.
    After a crash (``hashed`` false) a staged copy is renamed only if it has the digest.

    Raises:
        RegistryError: neither the staged file nor the target has the committed digest.
    """
    target, temporary = Path(path), Path(staged)
    try:
        if hashed:
            os.replace(temporary, target)
            return
        if _digest(temporary) == sha256:
            os.replace(temporary, target)
            return
    except FileNotFoundError:
        pass  # not staged, or another process finishing committed intents renamed it
    if target.exists() and _digest(target) == sha256:
        temporary.unlink(missing_ok=True)
        return
    raise RegistryError(
        f"{target}: the registry committed this file (SHA-256 {sha256[:16]}…) but it is "
        "neither in place nor staged"
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
