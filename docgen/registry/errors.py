"""Errors of the registry; each says what was asked and why it cannot be done."""

from __future__ import annotations

from ..errors import DocgenError

__all__ = ["NotFoundError", "RefusedError", "RegistryError", "SchemaError"]


class RegistryError(DocgenError):
    """The registry cannot be reached, opened or used (URL, key file, damaged rows)."""


class SchemaError(RegistryError):
    """The database holds an older or newer schema than this program, or no registry."""


class NotFoundError(RegistryError):
    """No certificate answers to the number, identifier or QR text asked for."""


class RefusedError(RegistryError):
    """The rules forbid the change asked for (revoked, outside the review window, ...)."""
