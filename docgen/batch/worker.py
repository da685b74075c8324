"""The task of a batch: render, seal and stage certificates — the same function on local
processes and on Dask workers.

A worker loads the fonts, the key store and the photo source once and keeps them for every
task it runs (:func:`issue_chunk` caches them per process). It writes each file whole to a
staged name beside its target (see :func:`docgen.registry.lifecycle.stage`; the writes and
their ``fsync`` run on two threads while the next certificate renders) and returns what the
registry records; the coordinator commits the rows and renames the files. It never
opens the registry.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import DocgenError, OutputError, RecordError
from ..issuing import render
from ..kinds import load_kind
from ..registry.lifecycle import VersionFacts, file_name, stage
from ..signing.keystore import KeyStore
from ..signing.sealer import Sealer
from ..validation import validate_record
from .photos import PhotoSource

__all__ = ["Job", "Outcome", "Task", "issue_chunk", "warm"]


@dataclass(frozen=True)
class Job:
    """What every task of a batch shares. Paths must be the same on every worker (a shared
    folder); the passphrase is read on the worker from the environment variable named."""

    kind: str
    at: datetime
    keys_dir: str
    profile: str
    out_dir: str
    photos: str
    passphrase_env: str | None = None
    tsa_url: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Task:
    """One certificate to make: its row, its allocated number and status-list entry."""

    line: int
    number: str
    identifier: str
    status_index: int
    record: dict[str, Any]
    photo: str


@dataclass(frozen=True)
class Outcome:
    """A task's result: the staged files and facts to record, or why it could not be made."""

    line: int
    number: str
    facts: VersionFacts | None = None
    files: dict[str, tuple[str, str, str]] | None = None  # kind → (target, staged, sha256)
    field: str = ""
    problem: str = ""


@cache
def _sealer(keys_dir: str, profile: str, passphrase_env: str | None, tsa: str | None) -> Sealer:
    import os

    secret = os.environ.get(passphrase_env) if passphrase_env else None
    if passphrase_env and not secret:
        raise DocgenError(f"the environment variable {passphrase_env} is not set on this worker")
    store = KeyStore.open(Path(keys_dir), secret.encode() if secret else None)
    return Sealer(store, profile, tsa)


@cache
def _photos(path: str) -> PhotoSource:
    return PhotoSource(Path(path))


def warm(job: Job) -> None:
    """Load what every task needs (key store, photo index, fonts) once in this process."""
    from ..fonts import font_stack

    _sealer(job.keys_dir, job.profile, job.passphrase_env, job.tsa_url)
    _photos(job.photos)
    font_stack()


# Threads per task that write and fsync staged files (waiting on the disk, not the CPU).
_WRITERS = 2


@dataclass(frozen=True)
class _Staging:
    """A made certificate whose files are being written on a writer thread."""

    line: int
    number: str
    facts: VersionFacts
    write: Future[dict[str, tuple[str, str, str]]]

    def outcome(self) -> Outcome:
        return Outcome(self.line, self.number, facts=self.facts, files=self.write.result())


def _stage_files(targets: dict[str, tuple[Path, bytes]]) -> dict[str, tuple[str, str, str]]:
    """Stage each file beside its target: kind → (target, staged path, SHA-256 in hex).

    Raises:
        OutputError: a file cannot be written; what was staged of the others is removed.
    """
    files: dict[str, tuple[str, str, str]] = {}
    for key, (target, data) in targets.items():
        try:
            staged = stage(target, data)
        except OSError as exc:
            for _, temporary, _ in files.values():
                Path(temporary).unlink(missing_ok=True)
            raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
        files[key] = (str(target), str(staged), hashlib.sha256(data).hexdigest())
    return files


def _refused(task: Task, error: RecordError) -> Outcome:
    problems = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    return Outcome(task.line, task.number, field=error.problems[0].field, problem=problems)


def _one(job: Job, task: Task, writers: ThreadPoolExecutor) -> Outcome | _Staging:
    kind = load_kind(job.kind)
    try:
        photo = _photos(job.photos).read(task.photo)
    except (KeyError, ValueError) as exc:
        return Outcome(task.line, task.number, field="photo", problem=f"{task.photo} {exc}")
    try:
        cert = validate_record(kind, {**task.record, "photo": photo}, job.at, None, "")
    except RecordError as exc:
        return _refused(task, exc)
    if cert.number != task.number or cert.identifier != task.identifier:
        raise DocgenError(f"line {task.line}: the record no longer gives {task.number}")
    cert = replace(cert, status_index=task.status_index)
    sealer = _sealer(job.keys_dir, job.profile, job.passphrase_env, job.tsa_url)
    refused = sealer.problems(cert)
    if refused:
        return Outcome(task.line, task.number, field=refused[0].field, problem=refused[0].message)
    try:
        rendered = render(cert, sealer)
    except RecordError as exc:
        return _refused(task, exc)
    out = Path(job.out_dir)
    targets = {
        suffix[1:]: (out / file_name(cert.number, 1, suffix), data)
        for suffix, data in ((".ofd", rendered.ofd), (".pdf", rendered.pdf))
    }
    for target, _ in targets.values():
        if target.exists() and not job.overwrite:
            return Outcome(
                task.line, task.number, field="number", problem=f"{target} exists already"
            )
    # one writer task a certificate: each submit wakes a thread that contends for the GIL
    return _Staging(
        task.line, task.number, VersionFacts.of(cert), writers.submit(_stage_files, targets)
    )


def issue_chunk(job: Job, tasks: list[Task]) -> list[Outcome]:
    """Render, seal and stage each task's certificate (the batch's task function).

    Raises:
        OutputError: a file cannot be written (its staged siblings are removed).
    """
    with ThreadPoolExecutor(_WRITERS, thread_name_prefix="stage") as writers:
        made = [_one(job, task, writers) for task in tasks]
        return [m.outcome() if isinstance(m, _Staging) else m for m in made]
