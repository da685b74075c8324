"""Exceptions raised while issuing; each names the field or file it concerns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigurationError",
    "DocgenError",
    "FieldProblem",
    "OutputError",
    "RecordError",
]


class DocgenError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(DocgenError):
    """A template, kind definition or font configuration is wrong.

    ``where`` names the file and key so the maintainer can find it.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of a record."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RecordError(DocgenError):
    """A certificate record is invalid; carries one problem per field and rule broken."""

    def __init__(self, problems: list[FieldProblem], source: str = "record") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{source}: {lines}")

    def lines(self) -> list[str]:
        """One human-readable line per problem, prefixed with the record's source."""
        return [f"{self.source}: {p}" for p in self.problems]


class OutputError(DocgenError):
    """An output file could not be written (exists, not writable, ...)."""
