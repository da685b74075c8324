"""The ``docgen`` command line: one group, its commands grouped by who uses them (each
module is imported when one of its commands is asked for: ``common.COMMAND_MODULES``)."""

from __future__ import annotations

from .common import main

__all__ = ["main"]
