"""A throw-away PostgreSQL server for the tests, started by the tests themselves.

With ``DOCGEN_TEST_PG`` set (a SQLAlchemy URL of a server someone else runs) that server
is used. Otherwise Debian's PostgreSQL binaries make a cluster in a temporary folder that
listens only on a Unix socket there, and it is stopped and removed at the end. PostgreSQL
refuses to run as root, so as root (as in CI) the server runs as the ``postgres`` system
user, or ``nobody``.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

__all__ = ["PgCluster"]

_SUPERUSER = "docgen"


def _binaries() -> Path:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL is not installed (no initdb): `make test` installs Debian's postgresql"
    )


class PgCluster:
    """A running PostgreSQL server; :meth:`database` makes fresh empty databases on it."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._folder: Path | None = None
        self._user: pwd.struct_passwd | None = None
        given = os.environ.get("DOCGEN_TEST_PG")
        if given:
            self.url = given
            return
        self._start()

    # -- life ---------------------------------------------------------------------------

    def _as_server_user(self, args: Sequence[str | Path]) -> list[str]:
        command = [str(a) for a in args]
        if self._user is None:
            return command
        return [
            "setpriv",
            f"--reuid={self._user.pw_uid}",
            f"--regid={self._user.pw_gid}",
            "--clear-groups",
            *command,
        ]

    def _run(self, *args: str | Path) -> None:
        result = subprocess.run(
            self._as_server_user(args),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(str(args[0])).name} failed: {result.stderr.strip()}")

    def _start(self) -> None:
        bin_dir = _binaries()
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self._user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self._user is None:
                raise RuntimeError("running as root and there is no postgres or nobody user")
        self._folder = Path(tempfile.mkdtemp(prefix="docgen-pg-"))
        os.chmod(self._folder, 0o755)
        if self._user is not None:
            os.chown(self._folder, self._user.pw_uid, self._user.pw_gid)
        atexit.register(self.stop)
        data = self._folder / "data"
        self._pg_ctl = bin_dir / "pg_ctl"
        self._data = data
        self._run(
            bin_dir / "initdb",
            "-D",
            data,
            "-U",
            _SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-k {self._folder} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            self._pg_ctl, "-D", data, "-o", options, "-l", self._folder / "log", "-w", "start"
        )
        self.url = f"postgresql+psycopg://{_SUPERUSER}@/postgres?host={self._folder}"

    def stop(self) -> None:
        """Stop the server and remove its folder (nothing for an outside server)."""
        if self._folder is None:
            return
        folder, self._folder = self._folder, None
        for mode in ("fast", "immediate"):
            try:
                self._run(self._pg_ctl, "-D", self._data, "-m", mode, "-w", "stop")
                break
            except RuntimeError:
                continue
        shutil.rmtree(folder, ignore_errors=True)

    # -- databases ----------------------------------------------------------------------

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        url = make_url(self.url)
        return psycopg.connect(
            dbname=url.database or "postgres",
            user=url.username,
            password=url.password,
            host=str(url.query.get("host") or url.host or ""),
            port=url.port,
            autocommit=True,
        )

    def database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"t_{os.getpid()}_{next(self._counter)}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`database` (its connections are closed first)."""
        name = make_url(url).database
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
