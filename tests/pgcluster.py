"""A throw-away PostgreSQL server for the tests, started by the tests themselves.

With ``DOCGEN_TEST_PG`` set (a SQLAlchemy URL of a server someone else runs) that server
is used. Otherwise Debian's PostgreSQL binaries make a cluster in a temporary folder (in
/dev/shm when there is room there and TMPDIR is not set) that listens only on a Unix socket
there, and it is stopped and removed at the end. PostgreSQL refuses to run as root, so as
root (as in CI) the server runs as the ``postgres`` system user, or ``nobody``.

Nothing is left behind: :meth:`PgCluster.stop` (or leaving the ``with`` block) stops the
server and removes the folder, an ``atexit`` hook does so if nobody called it, and a small
watchdog process does so when the test process dies without running either (SIGTERM from
``timeout``, SIGKILL, ``os._exit``)::

    with PgCluster() as cluster, cluster.fresh_database() as url:
        engine = sqlalchemy.create_engine(url)
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from sqlalchemy.engine import make_url

__all__ = ["ENV_URL", "PgCluster", "PgClusterError", "postgres_binaries"]

#: A SQLAlchemy URL of a server to use instead of starting one.
ENV_URL = "DOCGEN_TEST_PG"
_SUPERUSER = "docgen"
_SOCKET_PATH_MAX = 107  # sun_path of a Unix socket, less the final NUL
_SERVER_SETTINGS = {
    "listen_addresses": "",  # no TCP at all: only the socket in the temporary folder
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
#: The server's folder goes to /dev/shm (unless TMPDIR is set) when it has this much room:
#: a new database writes ~8 MB of new files (12 ms there, 100-250 ms on a slow VM's disk).
_SHM = Path("/dev/shm")
_SHM_ROOM = 1 << 30


class PgClusterError(RuntimeError):
    """The throw-away server could not be found, started or used."""


def postgres_binaries() -> Path:
    """The folder of the newest Debian PostgreSQL's ``initdb``, ``pg_ctl``, ... (or PATH's)."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parts[-3].isdigit()]
    if found:
        return max(found, key=lambda p: int(p.parts[-3])).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=str(Path(initdb).parent)):
        return Path(initdb).parent
    raise PgClusterError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH);"
        " `make test` installs Debian's postgresql package"
    )


def _base_folder() -> str | None:
    """Where the temporary folder goes: /dev/shm if roomy (and no TMPDIR), else tempfile's."""
    if os.environ.get("TMPDIR"):
        return None
    try:
        room = os.statvfs(_SHM)
    except OSError:
        return None
    roomy = room.f_bavail * room.f_frsize >= _SHM_ROOM
    return str(_SHM) if roomy and os.access(_SHM, os.W_OK | os.X_OK) else None


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as when we are root (else None: ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PgClusterError("running as root, and there is neither a postgres nor a nobody user")


class PgCluster:
    """A running PostgreSQL server; :meth:`database` makes fresh empty databases on it.

    ``PgCluster()`` starts a server at once (or takes ``DOCGEN_TEST_PG``); ``url`` is the
    superuser's URL of its ``postgres`` database and ``socket_dir`` the folder of its socket
    (``None`` for an outside server). :meth:`stop` is idempotent.
    """

    url: str
    socket_dir: Path | None

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._owner = os.getpid()
        self._folder: Path | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        self.socket_dir = None
        given = os.environ.get(ENV_URL)
        if given:
            self.url = given
            return
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    @property
    def external(self) -> bool:
        """Whether the server is someone else's (``DOCGEN_TEST_PG``), not started here."""
        return self.socket_dir is None

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- life ---------------------------------------------------------------------------

    def _command(self, args: Sequence[str | Path]) -> list[str]:
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

    def _run(self, *args: str | Path, timeout: float = 120) -> None:
        name = Path(str(args[0])).name
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=str(self._folder))
        try:
            result = subprocess.run(
                self._command(args),
                capture_output=True,
                text=True,
                check=False,
                env=env,
                cwd=self._folder,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PgClusterError(f"{name}: {exc}") from exc
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip()
            raise PgClusterError(f"{name} failed ({result.returncode}): {message}")

    def _start(self) -> None:
        bin_dir = postgres_binaries()
        self._user = _server_user()
        self._pg_ctl = bin_dir / "pg_ctl"
        folder = Path(tempfile.mkdtemp(prefix="docgen-pg-", dir=_base_folder())).resolve()
        self._folder = folder
        atexit.register(self.stop)
        self._watchdog = _start_watchdog(folder, self._command(self._stop_args("immediate")))
        if len(str(folder / ".s.PGSQL.5432")) > _SOCKET_PATH_MAX:
            raise PgClusterError(f"{folder} is too long a path for a Unix socket; set TMPDIR")
        folder.chmod(0o755)  # root (the tests) reaches the socket; the server owns the folder
        if self._user is not None:
            os.chown(folder, self._user.pw_uid, self._user.pw_gid)
        try:
            self._initdb(bin_dir / "initdb", folder / "data")
        except PgClusterError as exc:
            if self._user is None or "Permission denied" not in str(exc):
                raise
            raise PgClusterError(
                f"{exc}\n(the server runs as {self._user.pw_name}, who must be able to reach"
                f" {folder}: point TMPDIR at a folder open to it)"
            ) from exc
        self._pg_start(folder)
        self.socket_dir = folder
        self.url = f"postgresql+psycopg://{_SUPERUSER}@/postgres?host={folder}"

    def _pg_start(self, folder: Path) -> None:
        settings = {**_SERVER_SETTINGS, "unix_socket_directories": str(folder)}
        options = " ".join(f"-c {key}='{value}'" for key, value in settings.items())
        log = folder / "log"
        try:
            self._run(
                self._pg_ctl,
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                folder / "data",
                "-l",
                log,
                "-o",
                options,
            )
        except PgClusterError as exc:
            tail = log.read_text("utf-8", "replace").strip()[-2000:] if log.exists() else ""
            raise PgClusterError(f"{exc}\n{tail}") from exc

    def halt(self, mode: str = "fast") -> None:
        """Stop the server as an outage would, keeping its data (open connections are cut:
        ``fast`` rolls their transactions back, ``immediate`` is a crash); :meth:`restart`
        starts it again.

        Raises:
            PgClusterError: the server is not one started here, or pg_ctl failed.
        """
        if self._folder is None or self.external:
            raise PgClusterError("only a server started here can be halted")
        self._run(*self._stop_args(mode))

    def restart(self) -> None:
        """Start a server stopped by :meth:`halt` again, on the same data and socket.

        Raises:
            PgClusterError: the server is not one started here, or pg_ctl failed.
        """
        if self._folder is None or self.external:
            raise PgClusterError("only a server started here can be restarted")
        self._pg_start(self._folder)

    def _initdb(self, initdb: Path, data: Path) -> None:
        self._run(
            initdb,
            "--pgdata",
            data,
            "--username",
            _SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )

    def _stop_args(self, mode: str) -> list[str | Path]:
        assert self._folder is not None
        return [self._pg_ctl, "stop", "-w", "-t", "30", "-m", mode, "-D", self._folder / "data"]

    def stop(self) -> None:
        """Stop the server and remove its folder (nothing for an outside server)."""
        if self._folder is None or os.getpid() != self._owner:
            return  # stopped already, an outside server, or a forked child's exit
        folder = self._folder  # kept in self._folder (the commands' cwd) until removed
        try:
            if (folder / "data" / "postmaster.pid").exists():
                for mode in ("fast", "immediate"):
                    with contextlib.suppress(PgClusterError):
                        self._run(*self._stop_args(mode), timeout=40)
                        break
                _kill_postmaster(folder / "data")
        finally:
            self._folder = None
            self.socket_dir = None
            shutil.rmtree(folder, ignore_errors=True)
            atexit.unregister(self.stop)
            if self._watchdog is not None:
                watchdog, self._watchdog = self._watchdog, None
                if watchdog.stdin is not None:
                    watchdog.stdin.close()  # it finds the folder gone and exits
                with contextlib.suppress(subprocess.TimeoutExpired):
                    watchdog.wait(5)

    # -- databases ----------------------------------------------------------------------

    def _admin(self) -> psycopg.Connection[TupleRow]:
        url = make_url(self.url)
        host = url.query.get("host") or url.host
        try:
            return psycopg.connect(
                dbname=url.database or "postgres",
                user=url.username,
                password=url.password,
                host=str(host) if host else None,
                port=url.port,
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise PgClusterError(f"cannot reach PostgreSQL at {self.url}: {exc}") from exc

    def database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL (drop it with :meth:`drop`)."""
        name = f"t_{os.getpid()}_{next(self._counter)}"
        with self._admin() as connection:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if connection.info.server_version >= 150000:
                # Copying template1's files beats writing them all to the WAL (the default).
                statement += sql.SQL(" STRATEGY = FILE_COPY")
            connection.execute(statement)
        if self.socket_dir is not None:  # ours: the plain form, readable in logs
            return f"postgresql+psycopg://{_SUPERUSER}@/{name}?host={self.socket_dir}"
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`database` (its connections are closed first)."""
        name = make_url(url).database
        if not name:
            raise PgClusterError(f"no database named in {url}")
        with self._admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new empty database's URL for the ``with`` block; dropped afterwards."""
        url = self.database()
        try:
            yield url
        finally:
            self.drop(url)


def _kill_postmaster(data: Path) -> None:
    """SIGKILL a postmaster that ``pg_ctl stop`` could not stop (its children follow it)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().split()[0])
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return  # a stale file: the number is someone else's now
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            os.kill(pid, 0)  # raises once it is gone
            time.sleep(0.05)


def _start_watchdog(folder: Path, stop: list[str]) -> subprocess.Popen[bytes]:
    """A process that stops the server and removes ``folder`` once we die, however we die.

    It waits for the end of a pipe only we hold open: the kernel closes it when this process
    exits, even on SIGKILL. It runs in a session of its own, so the signals sent to our
    process group (Ctrl-C, ``timeout``) do not end it first.
    """
    return subprocess.Popen(
        [sys.executable, "-S", "-c", _WATCHDOG, str(folder), *stop],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
    )


_WATCHDOG = """
import os, shutil, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
folder, stop = sys.argv[1], sys.argv[2:]
sys.stdin.buffer.read()
if os.path.isdir(folder):
    if os.path.exists(os.path.join(folder, "data", "postmaster.pid")):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        subprocess.run(stop, cwd="/", env=env, capture_output=True, timeout=60, check=False)
    shutil.rmtree(folder, ignore_errors=True)
"""
