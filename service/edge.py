"""The service's edge: what is refused before any real work, and where heavy work runs.

- :class:`BodyLimit` (ASGI middleware): a request body larger than the limit is refused with
  413 from its declared length, before a byte of it is read, and cut off at the limit while
  reading when the length was not declared (or lied about).
- :class:`RateLimiter`: a token bucket per client and purpose.
- :class:`VerifierPool`: file verification in separate processes with a memory ceiling and
  a time limit; a process that overruns is killed and replaced.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "BodyLimit",
    "RateLimiter",
    "TooLarge",
    "VerifierPool",
    "VerifyTimeout",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TooLarge(Exception):
    """The request body passed the limit while it was being read."""


async def _refuse(send: Send, status: int, error: str, message: str) -> None:
    body = json.dumps({"error": error, "message": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (``larger`` for paths starting with one of
    its keys): by ``Content-Length`` before reading, and by counting while reading."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next((n for p, n in self.larger.items() if path.startswith(p)), self.limit)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = f"the upload is larger than {limit // (1024 * 1024)} MB"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "too_large", too_big)
            return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except TooLarge:
            if not started:
                await _refuse(send, 413, "too_large", too_big)


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, bursting to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > 100_000:  # forget idle clients
                    self._buckets = {k: v for k, v in self._buckets.items() if v[1] > now - 60}
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class VerifyTimeout(Exception):
    """Verification took longer than the service allows."""


@dataclass(frozen=True)
class _Job:
    trust_files: tuple[str, ...]
    db: str | None
    memory_mb: int
    max_pixels: int


def _limit_memory(megabytes: int, max_pixels: int) -> None:
    """A verifying process's ceiling: a hostile file that wants more gets MemoryError."""
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels


@cache
def _sources(trust_files: tuple[str, ...], db: str | None) -> tuple[Any, Any]:
    from docgen.registry import Registry, RegistryError
    from verify.status import StatusSources
    from verify.trust import TrustList

    trust = TrustList.load([Path(p) for p in trust_files])
    status = StatusSources()
    try:
        status.registry = Registry.open(db, reader=True)
    except RegistryError:
        status.registry = None
    return trust, status


def _verify(job: _Job, data: bytes, at: datetime) -> dict[str, Any]:
    from verify.api import verify_bytes

    trust, status = _sources(job.trust_files, job.db)
    report = verify_bytes(data, "upload", trust, at, status)
    result: dict[str, Any] = report.to_dict()
    return result


class VerifierPool:
    """Processes that verify uploads, each with a memory ceiling; a request waits at most
    ``seconds``. An overrun kills the pool's processes and starts new ones."""

    def __init__(
        self,
        trust_files: tuple[Path, ...],
        db: str | None,
        *,
        workers: int,
        seconds: float,
        memory_mb: int,
        max_pixels: int,
    ) -> None:
        self.job = _Job(tuple(str(p) for p in trust_files), db, memory_mb, max_pixels)
        self.workers = workers
        self.seconds = seconds
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_limit_memory,
            initargs=(self.job.memory_mb, self.job.max_pixels),
        )

    def _restart(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not pool:
                return
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()

    async def verify(self, data: bytes, at: datetime) -> dict[str, Any]:
        """The verification report of ``data`` as plain data.

        Raises:
            VerifyTimeout: it took longer than the limit (the work is killed).
        """
        pool = self._pool
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(pool, _verify, self.job, data, at)
            return await asyncio.wait_for(future, self.seconds)
        except TimeoutError:
            self._restart(pool)
            raise VerifyTimeout from None
        except BrokenProcessPool:
            self._restart(pool)
            raise VerifyTimeout from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
