"""Where a batch's tasks run: local processes (the default) or a Dask distributed cluster.

Both run :func:`docgen.batch.worker.issue_chunk` unchanged; a runner only submits it and
says which submissions have finished.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .worker import Job, Outcome, Task, issue_chunk, warm

__all__ = ["DaskRunner", "LocalRunner", "Runner", "open_runner"]


class Runner:
    """Submits task chunks and waits for some to finish."""

    workers: int

    def start(self) -> None:
        """Start the workers now, so they warm up before the first task (optional)."""

    def submit(self, job: Job, tasks: list[Task]) -> Any:
        raise NotImplementedError

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        raise NotImplementedError

    def result(self, future: Any) -> list[Outcome]:
        outcome: list[Outcome] = future.result()
        return outcome

    def close(self, cancel: bool = False) -> None:
        raise NotImplementedError


def _local_worker(job: Job) -> None:
    """A local worker leaves Ctrl-C to the coordinator, which stops handing out tasks, lets
    the running ones finish and exits; then it warms up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm(job)


def _ready() -> None:
    """A task that only makes the pool start a worker (whose initializer warms it up)."""


class LocalRunner(Runner):
    """Worker processes on this machine, started from a clean fork server (not a fork of a
    process holding database connections), each warmed once with the key store and fonts."""

    def __init__(self, job: Job, workers: int | None) -> None:
        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["docgen.batch.worker"])
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_local_worker, initargs=(job,)
        )

    def start(self) -> None:
        # The pool starts a process for a task no idle process can take: one each.
        for _ in range(self.workers):
            self._pool.submit(_ready)

    def submit(self, job: Job, tasks: list[Task]) -> Future[list[Outcome]]:
        return self._pool.submit(issue_chunk, job, tasks)

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        done, rest = wait(pending, return_when=FIRST_COMPLETED)
        return set(done), set(rest)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)


class DaskRunner(Runner):
    """A Dask distributed cluster at ``address`` (``tcp://host:port``)."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        self._client = Client(address, timeout=30, set_as_default=False)
        workers = self._client.scheduler_info().get("workers", {})
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def submit(self, job: Job, tasks: list[Task]) -> Any:
        return self._client.submit(issue_chunk, job, tasks, pure=False)

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        from distributed import wait as dask_wait

        with self._client.as_current():
            done, rest = dask_wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(rest)

    def close(self, cancel: bool = False) -> None:
        self._client.close()


def open_runner(job: Job, workers: int | None, scheduler: str | None) -> Runner:
    """The Dask runner when a scheduler is given, else local processes."""
    if scheduler:
        return DaskRunner(scheduler)
    return LocalRunner(job, workers)
