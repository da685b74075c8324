"""Faults while issuing: SIGKILL during 加注, key rotation and a schema migration; a full
disk and a read-only output folder; a registry server that stops mid-batch; a batch killed
twenty times in a row. Each ends with the registry and the file tree agreeing, and a re-run
finishing the job.

The kills use :mod:`tests.crash_worker` (a child process that SIGKILLs itself at its Nth
fsync, rename, commit or SQL statement), as ``test_registry_crash.py`` does for issuing.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from docgen.annotation import annotate as annotate_api
from docgen.annotation import register, sign_in
from docgen.batch import write_sample_batch
from docgen.batch.samples import sample_rows
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import Registry, lifecycle
from docgen.registry import store as registry_store
from docgen.registry.audit import verify_chain
from docgen.registry.models import AnnotationRow, CertificateRow, FileIntent
from docgen.samples import sample_record
from docgen.signing.keystore import PROFILES, KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record
from verify.api import verify_path
from verify.report import Verdict
from verify.trust import TrustList

from . import crash_worker
from .conftest import AT, Sealed
from .pgcluster import ENV_URL, PgCluster
from .test_batch import _cli, _write, finish_batch
from .test_registry_crash import _agree

K3 = "safety-engineer"  # a kind with 加注
HOLDER_SECRET = "correct horse battery"
APPLIED = parse_at("2026-11-25T09:30:00")


def _spread(first: int, last: int, count: int) -> list[int]:
    """``count`` points spread evenly over ``first``..``last`` (all of them if fewer)."""
    if last - first + 1 <= count:
        return list(range(first, last + 1))
    return sorted({first + round(k * (last - first) / (count - 1)) for k in range(count)})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clone_sqlite(url: str, name: str) -> str:
    """A copy of a closed SQLite registry (its key is DOCGEN_REGISTRY_KEY_FILE's)."""
    source = Path(str(make_url(url).database))
    target = source.with_name(f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


def _registered(url: str, under: Path) -> dict[str, str | None]:
    """The files the registry records in ``under`` (certificates and annotated copies), by
    path relative to it, with their SHA-256; opening it finishes committed renames, and its
    audit chain must hold."""
    with Registry.open(url) as registry, registry.reading() as session:
        rows = [*session.scalars(select(CertificateRow)), *session.scalars(select(AnnotationRow))]
        assert list(session.scalars(select(FileIntent))) == []
        assert verify_chain(session).ok
    return {
        str(Path(path).relative_to(under)): digest
        for row in rows
        for path, digest in ((row.ofd_path, row.ofd_sha256), (row.pdf_path, row.pdf_sha256))
        if path and Path(path).is_relative_to(under)
    }


def _in_place(out: Path) -> dict[str, str | None]:
    """The files in ``out`` by name, with their SHA-256 (not the batch's report folder, not
    staged files)."""
    return {p.name: _sha(p) for p in out.glob("*.*") if p.is_file() and p.name[0] != "."}


# -- SIGKILL during 加注 ----------------------------------------------------------------------


def _annotations_agree(url: str, out: Path) -> int:
    """The annotated copies the registry records are the files in ``out``; returns how many
    annotations it holds."""
    registered = _registered(url, out)  # first: opening it finishes committed renames
    assert _in_place(out) == registered, "annotated copies and annotation rows disagree"
    # what a kill before the commit leaves: staged files of no annotation, never in place
    left = [p.name for p in out.glob(".*")]
    assert all(name.endswith(".staged") for name in left), left
    return len(registered) // 2


def test_sigkill_during_annotation_then_rerun_gives_agreeing_copies_and_rows(
    sealed: dict[str, Sealed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    monkeypatch.setenv("HOLDER_SECRET", HOLDER_SECRET)
    record = sample_record(K3)
    template = f"sqlite:///{tmp_path / 'template.db'}"
    store = sealed[K3].store
    with Registry.open(template) as registry:
        cert = validate_record(load_kind(K3), record, AT)
        lifecycle.issue(registry, [cert], tmp_path / "files", Sealer(store), operator="t", at=AT)
        register(registry, record["id_number"], record["name"], HOLDER_SECRET, at=AT)

    def annotate(kill_at: int, url: str, out: Path) -> Any:
        return crash_worker.run(
            kill_at, "docgen", "annotate", cert.number, "--scenario", "本人调用",
            "--days", "30", "--id-number", record["id_number"], "--secret-env",
            "HOLDER_SECRET", "--keys", store.folder, "--out", out, "--db", url,
            "--at", APPLIED.isoformat(),
        )  # fmt: skip

    points = crash_worker.counted(annotate(0, _clone_sqlite(template, "count"), tmp_path / "c"))
    assert points["points"] >= 8, points
    outcomes = []
    for kill_at in _spread(1, points["points"], 5):
        url, out = _clone_sqlite(template, f"kill-{kill_at}"), tmp_path / f"out-{kill_at}"
        crashed = annotate(kill_at, url, out)
        assert crashed.returncode == -9, (kill_at, crashed.stderr[-2000:])
        made = _annotations_agree(url, out)
        outcomes.append(made)
        with Registry.open(url) as registry:  # `docgen annotate` again
            holder = sign_in(registry, record["id_number"], HOLDER_SECRET, at=APPLIED)
            again = annotate_api(registry, holder, cert.number, scenario="本人调用", days=30,
                                 at=APPLIED, sealer=Sealer(store), out_dir=out)  # fmt: skip
        assert again.ofd is not None and again.ofd.parent == out
        assert _annotations_agree(url, out) == made + 1, kill_at
    # kills land before the annotation's commit and after it (its files then put in place)
    assert set(outcomes) == {0, 1}, outcomes
    trust = TrustList.load([store.folder / "trust.json"])
    for path in sorted(out.glob("*.*")):
        report = verify_path(path, trust, APPLIED)
        assert report.verdict is Verdict.AUTHENTIC, report.to_text()


# -- SIGKILL during key rotation ------------------------------------------------------------


def _store_consistent(folder: Path) -> int:
    """Check a key store a rotation may have been killed in; returns its generation.

    Every generation of the index has both signers and its seal, readable, private keys
    0600; the trust list covers every generation (and at most the one a killed rotation was
    adding, whose keys never signed).
    """
    store = KeyStore.open(folder)
    current = store.generation
    for generation in range(1, current + 1):
        for profile in PROFILES:
            store.signer(profile, generation)
            key = folder / profile / f"issuer-{generation}.key"
            assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        store.seal(generation)
    listed = json.loads((folder / "trust.json").read_text("utf-8"))
    generations = {s["generation"] for s in listed["signers"]}
    assert generations in ({*range(1, current + 1)}, {*range(1, current + 2)}), generations
    return current


def test_sigkill_during_key_rotation_then_rerun_finishes_it(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    template = tmp_path / "template"
    shutil.copytree(sealed["skill"].store.folder, template)
    at = "2026-06-01T09:00:00"

    def rotate(kill_at: int, folder: Path) -> Any:
        return crash_worker.run(kill_at, "docgen", "keys", "rotate", "--dir", folder, "--at", at)

    counting = tmp_path / "count"
    shutil.copytree(template, counting)
    points = crash_worker.counted(rotate(0, counting))["points"]
    assert points >= 20
    outcomes = []
    for kill_at in _spread(1, points, 6):
        folder = tmp_path / f"kill-{kill_at}"
        shutil.copytree(template, folder)
        crashed = rotate(kill_at, folder)
        assert crashed.returncode == -9, (kill_at, crashed.stderr[-2000:])
        generation = _store_consistent(folder)
        outcomes.append(generation)
        store = KeyStore.open(folder)  # `docgen keys rotate` again
        assert store.rotate(parse_at(at)) == generation + 1
        assert _store_consistent(folder) == generation + 1
        listed = json.loads((folder / "trust.json").read_text("utf-8"))
        assert listed == store.trust_list(), kill_at
        # nothing a killed run was writing is left: some held private keys
        assert [p for p in folder.rglob(".*")] == [], kill_at
    assert set(outcomes) == {1, 2}, outcomes


# -- SIGKILL during a schema migration ------------------------------------------------------

_OLD = "0001"


def _schema(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {
            table: sorted(c["name"] for c in found.get_columns(table))
            for table in sorted(found.get_table_names())
        }
    finally:
        engine.dispose()


def _version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def test_sigkill_during_a_schema_migration_leaves_the_old_schema_whole_then_rerun_upgrades(
    db_url: str,
    sealed: dict[str, Sealed],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """A registry of schema 0001 holding a certificate is upgraded by ``docgen db upgrade``,
    killed at SQL statements inside the migration: each kill leaves schema 0001 whole (the
    migration is one transaction), and upgrading again gives the schema of a new registry
    with the certificate, its files and its audit chain intact."""
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    out = tmp_path / "files"
    with Registry.open(db_url) as registry:
        cert = validate_record(load_kind("skill"), sample_record("skill"), AT)
        lifecycle.issue(registry, [cert], out, Sealer(sealed["skill"].store), operator="t", at=AT)
    new_schema, head = _schema(db_url), _version(db_url)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        command.downgrade(registry_store._alembic(connection), _OLD)
    engine.dispose()
    old_schema = _schema(db_url)
    assert old_schema != new_schema and _version(db_url) == _OLD
    postgres = not db_url.startswith("sqlite")
    clones: list[str] = []

    def clone(name: str) -> str:
        if not postgres:
            return _clone_sqlite(db_url, name)
        cluster = request.getfixturevalue("pg_cluster")
        source = make_url(db_url)
        admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {source.database}_{name} TEMPLATE "
                                    f"{source.database}"))  # fmt: skip
        admin.dispose()
        clones.append(source.set(database=f"{source.database}_{name}").render_as_string(False))
        return clones[-1]

    def upgrade(kill_at: int, url: str) -> Any:
        return crash_worker.run(kill_at, "docgen-sql", "db", "upgrade", "--db", url)

    try:
        counted = crash_worker.counted(upgrade(0, clone("count")))
        first, last = counted["migration"]
        assert last - first >= 5, counted
        for kill_at in _spread(first, last, 3 if postgres else 5):
            url = clone(f"kill_{kill_at}")
            crashed = upgrade(kill_at, url)
            assert crashed.returncode == -9, (kill_at, crashed.stderr[-2000:])
            assert (_version(url), _schema(url)) == (_OLD, old_schema), kill_at
            Registry.open(url, upgrade=True).close()  # `docgen db upgrade` again
            assert (_version(url), _schema(url)) == (head, new_schema), kill_at
            assert _agree(url, out) == (1, 0), kill_at
    finally:
        if postgres:
            for url in clones:
                request.getfixturevalue("pg_cluster").drop(url)


# -- a full disk and a read-only output folder ----------------------------------------------

_CONFINED = """
mount -t tmpfs -o size="$1" tmpfs "$2" || exit 97
if [ "$3" = ro ]; then mount -o remount,ro "$2" || exit 97; fi
folder=$2 after=$4
shift 4
"$@"
code=$?
cp -a "$folder/." "$after/"
exit $code
"""


def _unshare() -> str:
    """``unshare``, when it can mount a tmpfs in a user and mount namespace of its own here
    (else the test skips, saying why)."""
    found = shutil.which("unshare")
    if found is None:
        pytest.skip("no unshare (util-linux): cannot mount a small tmpfs as a full disk")
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [found, "--user", "--map-root-user", "--mount", "sh", "-c",
             'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", folder],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}")
    return found


def _confined(
    folder: Path, size: str, mode: str, *args: str | Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, bytes]]:
    """Run ``docgen ARGS`` with ``folder`` a tmpfs of ``size`` (``mode`` ``ro``: mounted
    read-only) in a user and mount namespace of its own; returns the run and the files the
    folder held after it, by name (the tmpfs goes with the namespace)."""
    after = folder.with_name(folder.name + "-after")
    folder.mkdir()
    after.mkdir()
    docgen = Path(sys.executable).with_name("docgen")
    finished = subprocess.run(
        [_unshare(), "--user", "--map-root-user", "--mount", "sh", "-c", _CONFINED, "sh",
         size, folder, mode, after, docgen, *args],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert finished.returncode != 97, finished.stderr
    return finished, {p.name: p.read_bytes() for p in after.rglob("*") if p.is_file()}


def _one_clear_line(finished: subprocess.CompletedProcess[str], named: str, reason: str) -> str:
    """The run failed (status 1) with one ``error:`` line naming ``named`` and ``reason``."""
    assert finished.returncode == 1, (finished.returncode, finished.stderr[-3000:])
    assert "Traceback" not in finished.stderr, finished.stderr[-3000:]
    errors = [line for line in finished.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0] and reason in errors[0], finished.stderr
    return errors[0]


@dataclass(frozen=True)
class Desk:
    """What the confined commands need: a record, key stores, a registry holding a K3
    certificate and its holder's account, and a sitting's results."""

    record: Path
    skill_keys: Path
    k3_keys: Path
    k3_number: str
    k3_id: str
    registry: str
    results: Path
    rescuer_keys: Path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, sealed: dict[str, Sealed]) -> Desk:
    tmp = tmp_path_factory.mktemp("desk")
    record = tmp / "skill.json"
    record.write_text(json.dumps(sample_record("skill"), ensure_ascii=False), "utf-8")
    k3 = sample_record(K3)
    url = f"sqlite:///{tmp / 'registry.db'}"  # its key beside it: registry.db.key
    with Registry.open(url) as registry:
        cert = validate_record(load_kind(K3), k3, AT)
        store = sealed[K3].store
        lifecycle.issue(registry, [cert], tmp / "files", Sealer(store), operator="t", at=AT)
        register(registry, k3["id_number"], k3["name"], HOLDER_SECRET, at=AT)
    results, _ = write_sample_batch("rescuer", 12, tmp / "sitting", AT.date())
    return Desk(
        record, sealed["skill"].store.folder, store.folder, cert.number, k3["id_number"],
        url, results, sealed["rescuer"].store.folder,
    )  # fmt: skip


def _registry(desk: Desk, tmp_path: Path) -> str:
    """A copy of the desk's registry (and its key beside it) for one test."""
    source, target = Path(str(make_url(desk.registry).database)), tmp_path / "registry.db"
    for suffix in ("", "-wal", "-shm", ".key"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


_FULL, _READ_ONLY = "No space left on device", "Read-only file system"
#: (command, the output folder's mount: size and mode, a subfolder of it as --out or not)
_CONFINEMENTS = {
    "issue into a full disk": ("issue", "100k", "rw", ""),
    "issue into a read-only folder": ("issue", "1m", "ro", ""),
    "a draft into a full disk": ("draft", "40k", "rw", ""),
    "batch into a full disk": ("batch", "1200k", "rw", ""),
    "batch into a new folder of a read-only one": ("batch", "1m", "ro", "new"),
    "annotate into a full disk": ("annotate", "100k", "rw", ""),
    "annotate into a new folder of a read-only one": ("annotate", "1m", "ro", "new"),
}


@pytest.mark.parametrize("case", _CONFINEMENTS)
def test_a_full_disk_or_read_only_folder_is_one_clear_line_and_leaves_nothing_partial(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    job, size, mode, sub = _CONFINEMENTS[case]
    url = _registry(desk, tmp_path)
    mount = tmp_path / "out"
    out = mount / sub if sub else mount
    at = AT.isoformat()
    args: dict[str, list[str | Path]] = {
        "issue": ["issue", "--data", desk.record, "--keys", desk.skill_keys, "--at", at],
        "draft": ["issue", "--unsigned", "--data", desk.record, "--at", at],
        "batch": ["batch", desk.results, "--kind", "rescuer", "--photos",
                  desk.results.parent / "photos", "--keys", desk.rescuer_keys, "--at", at,
                  "--workers", "1"],
        "annotate": ["annotate", desk.k3_number, "--scenario", "本人调用", "--days", "30",
                     "--id-number", desk.k3_id, "--secret-env", "HOLDER_SECRET", "--keys",
                     desk.k3_keys, "--at", APPLIED.isoformat()],
    }  # fmt: skip
    monkeypatch.setenv("HOLDER_SECRET", HOLDER_SECRET)
    finished, left = _confined(mount, size, mode, *args[job], "--out", out, "--db", url)
    _one_clear_line(finished, str(out), _FULL if mode == "rw" else _READ_ONLY)
    assert [name for name in left if Path(name).name.startswith(".")] == [], "temporaries left"
    # the registry records exactly the files that are there: no row without its files
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM file_intents")) == 0
    engine.dispose()
    on_disk = {name: hashlib.sha256(data).hexdigest() for name, data in left.items()}
    assert on_disk == _registered(url, mount)


# -- a registry that goes away mid-batch; a batch killed twenty times -----------------------

ROWS = 40
ROWS_STOPPED = 100


def _sitting(tmp_path: Path, seed: int, rows: int = ROWS) -> Path:
    return _write("rescuer", sample_rows("rescuer", rows, AT.date(), seed=seed), tmp_path / "in")


def _batch(results: Path, keys: Path, out: Path, db: str) -> list[str | Path]:
    # one worker: a run lasts long enough to be stopped while it issues
    return [
        "batch", results, "--kind", "rescuer", "--photos", results.parent / "photos",
        "--out", out, "--db", db, "--keys", keys, "--at", AT.isoformat(), "--workers", "1",
        "--operator", "test",
    ]  # fmt: skip


def test_a_registry_server_stopped_mid_batch_is_one_line_and_a_rerun_makes_each_once(
    pg_cluster: PgCluster,
    sealed: dict[str, Sealed],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rescuer_keys = sealed["rescuer"].store.folder
    if pg_cluster.external:
        pytest.skip(f"{ENV_URL} names a server that is not ours to stop")
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    db, out = pg_cluster.database(), tmp_path / "out"
    # the first commit comes a second into the issuing: stopped then, rows are left to do
    command = _cli(*_batch(_sitting(tmp_path, 7, ROWS_STOPPED), rescuer_keys, out, db))
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stderr, text=True, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 60
            while not list(out.glob("*.pdf")) and process.poll() is None:
                assert time.monotonic() < deadline, "the batch made no progress"
                time.sleep(0.02)
            assert process.poll() is None, "the batch ended before the server stopped"
            pg_cluster.halt()
            try:
                process.wait(timeout=120)
            finally:
                pg_cluster.restart()
        finally:
            crash_worker.kill_group(process.pid)
        stderr.seek(0)
        failed = subprocess.CompletedProcess(command, process.returncode, "", stderr.read())
    line = _one_clear_line(failed, f"/{make_url(db).database}?", "the registry at postgresql")
    assert any(w in line for w in ("lost the registry", "cannot reach", "failed:")), line
    registered = _registered(db, out)  # first: opening it finishes committed renames
    in_place = _in_place(out)
    assert in_place == registered, "files and rows disagree after the failure"
    assert 0 < len(in_place) < 2 * ROWS_STOPPED, "the server stopped before or after issuing"
    finish_batch(command, out, db, rescuer_keys, ROWS_STOPPED, "server back", verified=4)


KILLS = 20


def test_a_batch_killed_twenty_times_in_a_row_then_finished_makes_each_certificate_once(
    sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    """Each kill is at a random crash point (an fsync, a rename, a commit) of the batch's
    coordinator, its workers killed with it; the points are drawn from a window that
    grows as the kills run out, so the early kills hit starting and checking rows and the
    later ones the issuing, and no run ends before its kill. After each kill the registry
    records exactly the certificate files in place."""
    rescuer_keys = sealed["rescuer"].store.folder
    seed = int(os.environ.get("DOCGEN_KILL_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    results = _sitting(tmp_path, seed)
    # the points of a whole run, and of a run that finds nothing left to do
    count_out, count_db = tmp_path / "count", f"sqlite:///{tmp_path / 'count.db'}"
    whole = crash_worker.counted(crash_worker.run(0, "docgen-chunks", *_batch(
        results, rescuer_keys, count_out, count_db)))["points"]  # fmt: skip
    idle = crash_worker.counted(crash_worker.run(0, "docgen-chunks", *_batch(
        results, rescuer_keys, count_out, count_db)))["points"]  # fmt: skip
    out, db = tmp_path / "out", f"sqlite:///{tmp_path / 'registry.db'}"
    args = _batch(results, rescuer_keys, out, db)
    kills: list[int] = []
    left = ROWS
    for n in range(KILLS):
        # starting (a quarter of an idle run's points, the rest is its ending) and issuing
        expected = idle / 4 + (whole - idle) * left / ROWS
        kill_at = rng.randint(1, max(1, int(expected * min(0.8, 1 / (KILLS - n)))))
        crashed = crash_worker.run(kill_at, "docgen-chunks", *args)
        kills.append(kill_at)
        assert crashed.returncode == -9, (seed, kills, crashed.stderr[-2000:])
        registered = _registered(db, out)  # first: opening it finishes committed renames
        in_place = _in_place(out) if out.exists() else {}
        assert in_place == registered, (seed, kills)
        left = ROWS - len(in_place) // 2
    finish_batch(_cli(*args), out, db, rescuer_keys, ROWS, (seed, kills, left), verified=4)
