"""The ``docgen`` command line: sample records and issue certificates.

Every error is printed as one line per problem on standard error, naming the record and
field; exit status 1 means the input was refused and nothing was written, 2 a usage error.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from . import __version__
from .clock import now, parse_at
from .errors import DocgenError, RecordError
from .issuing import issue_records
from .kinds import KIND_NAMES, load_kind
from .samples import sample_record
from .signing.keystore import IssuerIdentity, KeyStore

__all__ = ["main"]


def _parse_at(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_at(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time") from None


def _fail(lines: list[str]) -> NoReturn:
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


def _passphrase(env: str | None) -> bytes | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        _fail([f"--passphrase-env: the environment variable {env} is not set or empty"])
    return value.encode()


_PASSPHRASE_HELP = "Name of an environment variable holding the private keys' passphrase."


@main.group()
def keys() -> None:
    """Create and rotate an issuing body's development keys and seal."""


@keys.command("init")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the key store (created; must not hold one already).",
)
@click.option("--issuer-name", required=True, help="The issuing body, as printed.")
@click.option("--issuer-code", required=True, help="Its 统一社会信用代码 (18 characters).")
@click.option(
    "--seal-title",
    default="电子证照专用章",
    show_default=True,
    help="Title under the star of the seal.",
)
@click.option(
    "--at",
    "at",
    metavar="ISO-TIME",
    callback=_parse_at,
    default=None,
    help="Start of validity (default: now).",
)
@click.option("--passphrase-env", default=None, metavar="VAR", help=_PASSPHRASE_HELP)
def keys_init(
    folder: Path,
    issuer_name: str,
    issuer_code: str,
    seal_title: str,
    at: datetime | None,
    passphrase_env: str | None,
) -> None:
    """Create roots, seal maker, signer generation 1 and the seal; write the trust list."""
    try:
        code = uscc.validate(issuer_code)
    except StdnumError as exc:
        _fail([f"--issuer-code: {issuer_code!r} is not a valid 统一社会信用代码 ({exc})"])
    identity = IssuerIdentity(issuer_name.strip(), code, seal_title.strip())
    try:
        store = KeyStore.init(folder, identity, at or now(), _passphrase(passphrase_env))
    except DocgenError as exc:
        _fail([str(exc)])
    click.echo(f"key store: {store.folder}")
    click.echo(f"trust list: {store.folder / 'trust.json'}")


@keys.command("rotate")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--at",
    "at",
    metavar="ISO-TIME",
    callback=_parse_at,
    default=None,
    help="Start of the new generation's validity (default: now).",
)
@click.option("--passphrase-env", default=None, metavar="VAR", help=_PASSPHRASE_HELP)
def keys_rotate(folder: Path, at: datetime | None, passphrase_env: str | None) -> None:
    """Add a signer generation (both profiles) and a new seal; older ones stay trusted."""
    try:
        store = KeyStore.open(folder, _passphrase(passphrase_env))
        generation = store.rotate(at or now())
    except DocgenError as exc:
        _fail([str(exc)])
    click.echo(f"generation {generation}; trust list: {store.folder / 'trust.json'}")


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
