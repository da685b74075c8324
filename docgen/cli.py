"""The ``docgen`` command line: sample records and issue certificates.

Every error is printed as one line per problem on standard error, naming the record and
field; exit status 1 means the input was refused and nothing was written, 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from . import __version__
from .clock import now, parse_at
from .errors import DocgenError, RecordError
from .issuing import issue_records
from .kinds import KIND_NAMES, load_kind
from .samples import sample_record

__all__ = ["main"]


def _parse_at(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_at(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time") from None


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


def _load_records(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        _fail([f"{path}: not UTF-8 text ({exc.reason})"])
    except json.JSONDecodeError as exc:
        _fail([f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"])
    records = data if isinstance(data, list) else [data]
    if not records:
        _fail([f"{path}: holds no records"])
    return records


@click.group()
@click.version_option(__version__, prog_name="docgen")
def main() -> None:
    """Electronic vocational certificates: issue to OFD and PDF."""


@main.command()
@click.option(
    "--kind", "kind", type=click.Choice(KIND_NAMES), required=True, help="Certificate kind."
)
def sample(kind: str) -> None:
    """Print a valid sample record of KIND as JSON (photo embedded as a data URI)."""
    click.echo(json.dumps(sample_record(kind), ensure_ascii=False, indent=2))


@main.command()
def kinds() -> None:
    """List the certificate kinds and their fields."""
    for name in KIND_NAMES:
        spec = load_kind(name)
        click.echo(f"{name}\t{spec.title}")
        for field in spec.fields:
            need = (
                "derived"
                if field.derived
                else ("required" if field.required and field.default is None else "optional")
            )
            click.echo(f"  {field.name:<22} {field.type:<10} {need:<9} {field.label}")


@main.command()
@click.option(
    "--kind",
    "kind",
    type=click.Choice(KIND_NAMES),
    default=None,
    help='Certificate kind (default: each record\'s "kind").',
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A JSON record, or a JSON array of records.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder; files are named <certificate number>.ofd/.pdf.",
)
@click.option(
    "--at",
    "at",
    metavar="ISO-TIME",
    callback=_parse_at,
    default=None,
    help="Issue time (ISO 8601; naive = Beijing time). Default: now.",
)
@click.option("--overwrite", is_flag=True, help="Replace files that already exist.")
def issue(kind: str | None, data: Path, out: Path, at: datetime | None, overwrite: bool) -> None:
    """Validate records, render each to OFD and PDF, write them, print their paths."""
    records = _load_records(data)
    try:
        issued = issue_records(
            kind,
            records,
            at or now(),
            out,
            base_dir=data.parent,
            source=str(data),
            overwrite=overwrite,
        )
    except RecordError as exc:
        _fail(exc.lines())
    except DocgenError as exc:
        _fail([str(exc)])
    for item in issued:
        click.echo(str(item.ofd))
        click.echo(str(item.pdf))
