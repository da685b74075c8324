"""What every request of the service shares: the registry, the trust lists, the verifying
processes, the rate limiters, the clock."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from docgen.clock import now
from docgen.registry import Registry
from docgen.signing.keystore import KeyStore
from docgen.signing.sealer import Sealer
from verify.status import StatusSources
from verify.trust import TrustList

from .edge import RateLimiter, VerifierPool
from .settings import ServiceSettings

__all__ = ["BatchJob", "ServiceState", "client_key", "limit", "refuse", "state_of"]


@dataclass
class BatchJob:
    """A batch running in this process for the issuer API."""

    thread: threading.Thread | None = None
    error: str | None = None

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class ServiceState:
    """Opened once when the service starts, closed when it stops."""

    def __init__(self, settings: ServiceSettings, clock: Callable[[], datetime] = now) -> None:
        self.settings = settings
        self.clock = clock
        self.registry = Registry.open(settings.db)
        self.trust = TrustList.load(list(settings.trust_files))
        self.status = StatusSources(
            registry=self.registry,
            lists=[(str(p), p.read_bytes()) for p in settings.status_lists],
        )
        self.pool = VerifierPool(
            settings.trust_files,
            self.registry.url,
            workers=settings.verify_workers,
            seconds=settings.verify_seconds,
            memory_mb=settings.verify_memory_mb,
            max_pixels=settings.max_image_pixels,
        )
        self.public = RateLimiter(settings.rate_per_minute)
        self.sign_in = RateLimiter(settings.sign_in_per_minute)
        self.batches: dict[str, BatchJob] = {}
        self._sealers: dict[str, Sealer] = {}
        self._sealers_lock = threading.Lock()

    def keys_dir_for(self, issuer_code: str) -> Path | None:
        """The key store of the issuing body ``issuer_code`` among the configured ones."""
        for folder in self.settings.keys_dirs:
            try:
                index = json.loads((folder / "keystore.json").read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if index.get("issuer", {}).get("code") == issuer_code:
                return folder
        return None

    def sealer_for(self, issuer_code: str) -> Sealer | None:
        """The issuing body's sealer, loaded once (None when its keys are not here)."""
        with self._sealers_lock:
            if issuer_code not in self._sealers:
                folder = self.keys_dir_for(issuer_code)
                if folder is None:
                    return None
                env = self.settings.keys_passphrase_env
                secret = os.environ.get(env) if env else None
                store = KeyStore.open(folder, secret.encode() if secret else None)
                self._sealers[issuer_code] = Sealer(store)
            return self._sealers[issuer_code]

    def close(self) -> None:
        self.pool.close()
        self.registry.close()


def state_of(request: Request) -> ServiceState:
    """The service state of the app serving ``request``."""
    state: ServiceState = request.app.state.service
    return state


def client_key(request: Request) -> str:
    """Who is asking, for rate limits and logs: a short hash of the client address (the
    address itself is personal data and is not kept)."""
    host = request.client.host if request.client else "unknown"
    return hashlib.sha256(host.encode()).hexdigest()[:12]


def refuse(status: int, error: str, message: str, **extra: Any) -> HTTPException:
    """An HTTP error whose body is ``{"error", "message", ...}`` (never a trace or a path)."""
    return HTTPException(status, detail={"error": error, "message": message, **extra})


def limit(request: Request, limiter: RateLimiter) -> None:
    """Refuse with 429 (and Retry-After) a client over ``limiter``'s rate.

    Raises:
        HTTPException: 429.
    """
    wait = limiter.allow(client_key(request))
    if wait > 0:
        raise HTTPException(
            429,
            detail={
                "error": "rate_limited",
                "message": f"too many requests; retry in {wait:.0f} s",
            },
            headers={"Retry-After": str(max(1, round(wait)))},
        )
