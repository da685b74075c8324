"""The application object for ``uvicorn service.asgi:app`` (several workers): settings come
from ``DOCGEN_SERVICE`` (JSON, written by ``docgen serve``) and ``DOCGEN_SESSION_SECRET``."""

from __future__ import annotations

from .app import create_app

app = create_app()
