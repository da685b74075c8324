"""The registry: every certificate version recorded, its life kept, its status answered.

The one entry is :class:`Registry` (``Registry.open(url)``): it finds the database, brings
a new one to the current schema (an older one only with ``upgrade=True``) and holds the
secret key. Reading status needs only this package's light modules (``lookup``,
``status``), which the verifier may use; changes that seal files live in
:mod:`docgen.registry.lifecycle`, which uses the issuer's keys.
"""

from __future__ import annotations

from .errors import NotFoundError, RefusedError, RegistryError, SchemaError
from .lookup import find, status_of
from .status import State, Status, StatusAnswer
from .store import DEFAULT_DB, Registry, database_url

__all__ = [
    "DEFAULT_DB",
    "NotFoundError",
    "RefusedError",
    "Registry",
    "RegistryError",
    "SchemaError",
    "State",
    "Status",
    "StatusAnswer",
    "database_url",
    "find",
    "status_of",
]
