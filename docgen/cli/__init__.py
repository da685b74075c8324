"""The ``docgen`` command line: one group, its commands grouped by who uses them."""

from __future__ import annotations

from . import batch, holders, issuing, registry, serving, verifying
from .common import main

__all__ = ["batch", "holders", "issuing", "main", "registry", "serving", "verifying"]
