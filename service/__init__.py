"""The web service: the verification page and the REST API, a thin layer over the same
functions the CLI calls (``verify``, ``docgen.registry``, ``docgen.annotation``,
``docgen.batch``). The one entry is :func:`create_app`; ``docgen serve`` runs it under
uvicorn."""

from __future__ import annotations

from .app import create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
