"""SIGKILL at any point of issue and correct leaves files and registry rows agreeing."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from docgen.registry import Registry
from docgen.registry.audit import verify_chain
from docgen.registry.models import CertificateRow
from docgen.samples import sample_record

from . import crash_worker
from .conftest import Sealed

RUNS = 10


def _run(
    db_url: str, keys: Path, out: Path, record: Path, kill_at: int
) -> subprocess.CompletedProcess[str]:
    return crash_worker.run(kill_at, "issue", db_url, keys, out, record)


def _agree(db_url: str, out: Path) -> tuple[int, int]:
    """Open the registry (which finishes committed renames) and compare rows with files;
    returns (rows, versions superseded)."""
    with Registry.open(db_url) as registry, registry.reading() as session:
        rows = list(session.scalars(select(CertificateRow).order_by(CertificateRow.version)))
        assert verify_chain(session).ok
    on_disk = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in out.glob("*")
        if not p.name.startswith(".")
    }
    registered = {}
    for row in rows:
        for path, digest in ((row.ofd_path, row.ofd_sha256), (row.pdf_path, row.pdf_sha256)):
            assert path is not None and digest is not None
            registered[Path(path)] = digest
    assert on_disk == registered, "files and rows disagree"
    versions = [(r.version, r.state) for r in rows]
    assert versions in ([], [(1, "active")], [(1, "superseded"), (2, "active")]), versions
    return len(rows), sum(1 for r in rows if r.state == "superseded")


def test_sigkill_anywhere_leaves_files_and_rows_agreeing(
    db_url: str, sealed: dict[str, Sealed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    record = tmp_path / "record.json"
    record.write_text(json.dumps(sample_record("skill"), ensure_ascii=False), "utf-8")
    keys = sealed["skill"].store.folder
    clean = _run(f"sqlite:///{tmp_path / 'count.db'}", keys, tmp_path / "count", record, 0)
    points = crash_worker.counted(clean)["points"]
    assert points > 10
    chosen = sorted(random.Random(20261125).sample(range(1, points + 1), RUNS))
    outcomes = []
    for n, kill_at in enumerate(chosen):
        url = db_url if n == 0 else _fresh(db_url, tmp_path, n)
        out = tmp_path / f"out-{n}"
        crashed = _run(url, keys, out, record, kill_at)
        assert crashed.returncode == -9, (kill_at, crashed.stderr[-2000:])
        out.mkdir(exist_ok=True)
        outcomes.append(_agree(url, out))
    # the kill points reach every stage: before the issue, between, and after the correction
    assert (0, 0) in outcomes and (1, 0) in outcomes and (2, 1) in outcomes, outcomes


def _fresh(db_url: str, tmp_path: Path, n: int) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'crash-{n}.db'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    name = f"crash_{os.getpid()}_{n}"
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    base, _, query = db_url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


def test_what_a_killed_issue_staged_is_removed_by_a_later_change_once_abandoned(
    sealed: dict[str, Sealed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after staging, before its commit, an issue leaves hidden ``.staged`` files. The
    next change staging in that folder removes those older than ABANDONED_AFTER_SECONDS, but
    never a younger one (a batch's file may await its commit), one a running change holds,
    or one a committed intent names."""
    import fcntl

    from docgen.registry import lifecycle
    from docgen.registry.models import FileIntent

    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    record = tmp_path / "record.json"
    record.write_text(json.dumps(sample_record("skill"), ensure_ascii=False), "utf-8")
    for kill_at in range(1, 20):  # the first point at which both files are staged, unsettled
        url, out = f"sqlite:///{tmp_path / f'r{kill_at}.db'}", tmp_path / f"out-{kill_at}"
        crashed = _run(url, sealed["skill"].store.folder, out, record, kill_at)
        assert crashed.returncode == -9, crashed.stderr[-2000:]
        killed = sorted(out.glob(".*.staged"))
        if len(killed) == 2 and not list(out.glob("[!.]*")):
            break
    else:
        raise AssertionError("no crash point left two staged files")
    hour_ago = os.stat(killed[0]).st_mtime - lifecycle.ABANDONED_AFTER_SECONDS - 60
    young, held, named = (out / f".{n}.pdf.young.staged" for n in ("a", "b", "c"))
    for path in (young, held, named):
        path.write_bytes(b"x")
    for path in (*killed, held, named):
        os.utime(path, (hour_ago, hour_ago))
    holder = os.open(held, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_SH)
    try:
        with Registry.open(url) as registry:
            with registry.writing() as session:
                session.add(FileIntent(path=str(out / "c.pdf"), staged=str(named), sha256="0"))
            files = lifecycle.StagedFiles()
            with registry.writing() as session:
                files.add(session, out / "new.pdf", b"%PDF new", overwrite=False)
            files.discard()
    finally:
        os.close(holder)
    left = sorted(p.name for p in out.glob(".*.staged"))
    assert left == sorted(p.name for p in (young, held, named)), left
