"""The FastAPI application: routers, static files, sessions, and the edge around them."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from docgen import __version__
from docgen.clock import now

from . import holders, issuers, pages, public
from .edge import BodyLimit
from .settings import ServiceSettings
from .state import ServiceState

__all__ = ["create_app"]

_HERE = Path(__file__).parent
_ACCESS = logging.getLogger("docgen.access")


def _error_body(exc: HTTPException) -> dict[str, object]:
    if isinstance(exc.detail, dict):
        return dict(exc.detail)
    return {"error": "http_error", "message": str(exc.detail)}


def create_app(
    settings: ServiceSettings | None = None, clock: Callable[[], datetime] = now
) -> FastAPI:
    """The service over the registry, trust lists and keys named in ``settings``."""
    settings = settings or ServiceSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServiceState(settings, clock)
        app.state.service = state
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="docgen electronic certificates · 电子证书核验",
        version=__version__,
        description="Verify certificates; holders annotate theirs (加注); issuing bodies "
        "submit batches and manage their register.",
        lifespan=lifespan,
    )
    app.include_router(public.router, prefix="/api/v1")
    app.include_router(holders.router, prefix="/api/v1/holder")
    app.include_router(issuers.router, prefix="/api/v1/issuer")
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="docgen_session",
        max_age=30 * 60,
        same_site="strict",
        https_only=settings.secure_cookies,
    )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(_error_body(exc), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse(
            {
                "error": "invalid_request",
                "message": "the request is not valid",
                "problems": problems,
            },
            422,
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        logging.getLogger("docgen.service").error(
            "internal error on %s %s: %s", request.method, _route(request), type(exc).__name__
        )
        return JSONResponse(
            {"error": "internal", "message": "an internal error occurred; it has been logged"},
            500,
        )

    if settings.access_log:
        app.add_middleware(AccessLog)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_upload_bytes,
        larger={"/api/v1/issuer/batches": settings.max_batch_bytes},
    )
    return app


class AccessLog:
    """One JSON line per request: method, the route's template, status, milliseconds and a
    hash of the client address — no path, query or body (they hold personal data). A plain
    ASGI middleware: it adds no task per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            client = (scope.get("client") or ("unknown", 0))[0]
            _ACCESS.info(
                json.dumps(
                    {
                        "method": scope.get("method"),
                        "route": str(getattr(route, "path", "unmatched")),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "client": hashlib.sha256(client.encode()).hexdigest()[:12],
                    }
                )
            )


def _route(request: Request) -> str:
    """The route's template (``/api/v1/certificates/{number}/status``), never the path:
    paths carry certificate numbers."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))
