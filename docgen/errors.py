"""Exceptions raised while issuing; each names the field or file it concerns."""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "ConfigurationError",
    "DocgenError",
    "FieldProblem",
    "OutputError",
    "RecordError",
    "SigningError",
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
    """One thing wrong with one field of one record (``record`` names it, e.g. ``a.json[3]``)."""

    field: str
    message: str
    record: str = "record"

    def __str__(self) -> str:
        return f"{self.record}: {self.field}: {self.message}"


class RecordError(DocgenError):
    """One or more records are invalid; carries one problem per field and rule broken."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        """One human-readable line per problem."""
        return [str(p) for p in self.problems]

    def about(self, record: str) -> RecordError:
        """The same problems, attributed to ``record``."""
        return RecordError([replace(p, record=record) for p in self.problems])


class SigningError(DocgenError):
    """A signature could not be made (e.g. the timestamp authority did not answer)."""


class OutputError(DocgenError):
    """An output file could not be written (exists, not writable, ...)."""
