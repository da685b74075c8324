"""Running the service under uvicorn, one process or several.

Several workers share one listening socket that uvicorn binds itself; it creates it without
``IPPROTO_TCP``, so asyncio never turns on ``TCP_NODELAY`` for the accepted connections and
every keep-alive response after the first waits ~40 ms for the client's delayed ACK
(Kludex/uvicorn#3149, open). :class:`_Config` sets ``TCP_NODELAY`` on the listening socket,
which Linux passes on to every accepted connection.
"""

from __future__ import annotations

import copy
import os
import secrets
import socket
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from .settings import ServiceSettings

__all__ = ["run"]


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def _logging() -> dict[str, Any]:
    """uvicorn's logging, without its access log (it prints client addresses and paths,
    which hold certificate numbers), plus the service's own JSON access lines on stdout."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["line"] = {"format": "%(message)s"}
    config["handlers"]["docgen_access"] = {
        "formatter": "line",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["docgen.access"] = {
        "handlers": ["docgen_access"], "level": "INFO", "propagate": False,
    }  # fmt: skip
    config["loggers"]["docgen.service"] = {"handlers": ["default"], "level": "INFO"}
    return config


def run(settings: ServiceSettings, host: str, port: int, workers: int) -> None:
    """Serve until interrupted; ``workers`` processes read the settings from the environment
    (``DOCGEN_SERVICE``) and share one session secret."""
    os.environ["DOCGEN_SERVICE"] = settings.to_env()
    os.environ.setdefault("DOCGEN_SESSION_SECRET", secrets.token_hex(32))
    config = _Config(
        "service.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=_logging(),
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
