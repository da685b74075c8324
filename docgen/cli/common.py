"""What every ``docgen`` command shares: the group, the ``--at`` option, one-line errors.

Every error is printed as one line per problem on standard error, naming the record and
field; exit status 1 means the input was refused and nothing was written, 2 a usage error.
"""

from __future__ import annotations

import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__
from ..clock import parse_at

__all__ = [
    "COMMAND_MODULES",
    "PASSPHRASE_HELP",
    "at_option",
    "db_option",
    "fail",
    "keys_option",
    "load_records",
    "main",
    "operator_option",
    "passphrase",
    "status_list_option",
    "trust_option",
]


def _parse_at(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_at(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time") from None


def at_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--at ISO-TIME`` option (naive times are Beijing time)."""
    return click.option(
        "--at", "at", metavar="ISO-TIME", callback=_parse_at, default=None, help=help_text
    )


def fail(lines: list[str]) -> NoReturn:
    """Print each line as ``error: ...`` on standard error and exit with status 1."""
    for line in lines:
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


def load_records(path: Path) -> list[Any]:
    """The JSON record or array of records in ``path`` (exits with one line if unreadable)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        fail([f"{path}: not UTF-8 text ({exc.reason})"])
    except json.JSONDecodeError as exc:
        fail([f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"])
    records = data if isinstance(data, list) else [data]
    if not records:
        fail([f"{path}: holds no records"])
    return records


#: The module of this package that defines each command. A command's module is imported
#: when it runs (every module for ``--help``), so that ``docgen verify`` does not load
#: what issuing, batches and the registry need.
COMMAND_MODULES = {
    "annotate": "holders",
    "apikey": "serving",
    "audit": "registry",
    "batch": "batch",
    "correct": "registry",
    "db": "registry",
    "export": "registry",
    "extend": "registry",
    "holder": "holders",
    "import-legacy": "registry",
    "issue": "issuing",
    "keys": "issuing",
    "kinds": "issuing",
    "reissue": "registry",
    "review": "registry",
    "revoke": "registry",
    "sample": "issuing",
    "sample-batch": "batch",
    "serve": "serving",
    "status": "registry",
    "status-list": "registry",
    "verify": "verifying",
}


class _Commands(click.Group):
    """The ``docgen`` group: each command's module is imported when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"{__package__}.{module}")
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None:
            importlib.import_module(f"{__package__}.{module}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="docgen")
def main() -> None:
    """Electronic vocational certificates: issue, register and verify."""


def passphrase(env: str | None) -> bytes | None:
    """The key store passphrase from the environment variable ``env`` (None: no passphrase)."""
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        fail([f"--passphrase-env: the environment variable {env} is not set or empty"])
    return value.encode()


PASSPHRASE_HELP = "Name of an environment variable holding the private keys' passphrase."


def db_option(
    help_text: str = "Registry database URL (default: $DOCGEN_DB, else registry/docgen.db).",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--db URL`` option of every command that uses the registry."""
    return click.option("--db", "db", metavar="URL", default=None, help=help_text)


def keys_option(
    help_text: str = "Key store of the issuing body.",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--keys DIR`` option (parameter ``keys_dir``) of every command that signs."""
    return click.option(
        "--keys",
        "keys_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("keys"),
        show_default=True,
        help=help_text,
    )


def trust_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The repeatable ``--trust FILE`` option (parameter ``trust_files``)."""
    return click.option(
        "--trust",
        "trust_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=help_text,
    )


def status_list_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The repeatable ``--status-list FILE`` option (parameter ``status_lists``)."""
    return click.option(
        "--status-list",
        "status_lists",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=help_text,
    )


def _default_operator() -> str:
    return os.environ.get("DOCGEN_OPERATOR") or getpass.getuser()


def operator_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--operator NAME`` option: who makes a change (recorded in the audit log)."""
    return click.option(
        "--operator",
        default=_default_operator,
        show_default="$DOCGEN_OPERATOR, else the login name",
        help="Who makes this change; recorded in the audit log.",
    )
