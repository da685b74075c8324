"""Run by the crash tests in a child process: a job that kills itself with SIGKILL at its Nth
crash point (an fsync, a rename, a commit), or never with N = 0 (then its last line on
standard output is JSON: how many points there were, and which of them fell inside a schema
migration)::

    python -m tests.crash_worker N issue DB KEYS OUT RECORD   # issue, then correct, one record
    python -m tests.crash_worker N docgen ARGS...             # the command `docgen ARGS...`
    python -m tests.crash_worker N docgen-sql ARGS...         # ... and every SQL statement a point
    python -m tests.crash_worker N docgen-chunks batch ARGS...  # a batch committing each chunk

A batch commits what its workers made once a second; committing each task's certificates as
they come, in tasks of four, makes its progress (and the points between commits) finer,
nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import Registry, lifecycle
from docgen.signing.keystore import KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

ROOT = Path(__file__).resolve().parents[1]
_count = 0
_kill_at = 0
_migration: list[int] = []  # the first and the last point inside a migration


def _point() -> None:
    global _count
    _count += 1
    if _count == _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def _install(sql: bool) -> None:
    """Make every fsync, rename and commit (and with ``sql`` every statement) a point."""
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        _point()
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        _point()
        real_replace(src, dst)
        _point()

    os.fsync = fsync
    os.replace = replace  # type: ignore[assignment]
    event.listen(Session, "before_commit", lambda session: _point())
    event.listen(Session, "after_commit", lambda session: _point())
    if not sql:
        return
    event.listen(Engine, "before_cursor_execute", lambda *args: _point())
    event.listen(Engine, "commit", lambda connection: _point())
    real_run = MigrationContext.run_migrations

    def run_migrations(self: MigrationContext, **kw: Any) -> None:
        first = _count + 1
        real_run(self, **kw)
        _migration[:] = [_migration[0] if _migration else first, _count]

    MigrationContext.run_migrations = run_migrations  # type: ignore[method-assign]


def _issue_and_correct(db_url: str, keys: str, out: str, record_file: str) -> int:
    record = json.loads(Path(record_file).read_text("utf-8"))
    sealer = Sealer(KeyStore.open(Path(keys)))
    issued_at = parse_at("2026-11-20T10:00:00")
    cert = validate_record(load_kind(record["kind"]), record, issued_at)
    with Registry.open(db_url) as registry:
        lifecycle.issue(registry, [cert], Path(out), sealer, operator="crash", at=issued_at)
        corrected = {**record, "work_type": "高压电工"}
        lifecycle.correct(
            registry,
            cert.number,
            corrected,
            sealer,
            operator="crash",
            at=parse_at("2026-11-21T10:00:00"),
        )
    return 0


def _docgen(args: list[str]) -> int:
    from docgen.cli import main as cli

    try:
        cli.main(args, prog_name="docgen", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def kill_group(pgid: int) -> None:
    """SIGKILL every process of the process group ``pgid`` (a batch's coordinator, its
    workers, their fork server) but multiprocessing's resource tracker: left alive, it
    removes the named semaphores the killed processes held, which would otherwise stay in
    /dev/shm for good."""
    for _ in range(50):  # again while a fork server may still be starting a worker
        members = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
                command = (entry / "cmdline").read_bytes() if stat else b""
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[-1].split()  # state, parent, process group, ...
            tracker = b"multiprocessing.resource_tracker" in command
            if stat and fields[0] != "Z" and int(fields[2]) == pgid and not tracker:
                members.append(int(entry.name))
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def run(kill_at: int, job: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``job`` (``issue``, ``docgen`` or ``docgen-sql`` and its arguments) in a child
    process killed at point ``kill_at`` (0: never); the environment is this process's.
    The child runs in a session of its own, whose processes (a batch's workers) are killed
    with it."""
    command = [sys.executable, "-m", "tests.crash_worker", str(kill_at), job, *map(str, args)]
    # Files, not pipes: the workers of a killed batch could hold a pipe open for a while.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, text=True, cwd=ROOT,
            env=os.environ.copy(), start_new_session=True,
        )  # fmt: skip
        try:
            process.wait(timeout=120)
        finally:
            kill_group(process.pid)
        outputs = []
        for output in (stdout, stderr):
            output.seek(0)
            outputs.append(output.read())
    return subprocess.CompletedProcess(command, process.returncode, *outputs)


def counted(finished: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """What a run with N = 0 counted: ``{"points": N}``, and ``"migration": [first, last]``
    when it migrated a schema."""
    assert finished.returncode == 0, finished.stderr[-2000:]
    result: dict[str, Any] = json.loads(finished.stdout.splitlines()[-1])
    return result


def main() -> None:
    global _kill_at
    _kill_at = int(sys.argv[1])
    job, args = sys.argv[2], sys.argv[3:]
    _install(sql=job == "docgen-sql")
    if job == "docgen-chunks":
        from docgen.batch import running

        running._COMMIT_EVERY = 0.0
        issue = running._issue

        def small_tasks(*args: Any) -> None:
            issue(*args[:-1], 4)  # tasks of four: the points between commits stay fine

        running._issue = small_tasks
    code = _issue_and_correct(*args) if job == "issue" else _docgen(args)
    sys.stdout.flush()
    counted: dict[str, Any] = {"points": _count}
    if _migration:
        counted["migration"] = _migration
    print(json.dumps(counted))
    sys.exit(code)


if __name__ == "__main__":
    main()
