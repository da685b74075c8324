"""``docgen verify``: the verifier's command."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from ..clock import now
from .common import at_option, main, status_list_option, trust_option

__all__ = ["verify_command"]

#: The trust list `docgen verify` uses when none is given.
_DEFAULT_TRUST = Path("keys/trust.json")


@main.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@trust_option(
    "Trust list (trust.json); repeat for several issuing bodies. "
    "Default: keys/trust.json when it exists."
)
@at_option("Time to check validity at (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON.")
@click.option(
    "--db",
    "db",
    metavar="URL",
    default=None,
    help="Ask this registry for each certificate's status (read only).",
)
@status_list_option(
    "A signed status list (docgen status-list export), for status offline; repeatable."
)
def verify_command(
    paths: tuple[Path, ...],
    trust_files: tuple[Path, ...],
    at: datetime | None,
    as_json: bool,
    db: str | None,
    status_lists: tuple[Path, ...],
) -> None:
    """Verify OFD, PDF, PNG or JPEG files: exit 0 authentic and valid, 1 not authentic or
    not valid, 2 could not be checked (or its status asked for could not be established)."""
    from verify.api import verify_path
    from verify.status import StatusSources
    from verify.trust import TrustList, TrustListError

    files = list(trust_files)
    if not files and _DEFAULT_TRUST.is_file():
        files = [_DEFAULT_TRUST]
    try:
        trust = TrustList.load(files)
    except TrustListError as exc:
        click.echo(f"error: --trust: {exc}", err=True)
        sys.exit(2)
    sources = StatusSources(lists=[(str(p), p.read_bytes()) for p in status_lists])
    if db is not None:
        from docgen.registry import Registry, RegistryError  # SQLAlchemy: 0.3 s to import

        try:
            sources.registry = Registry.open(db, reader=True)
        except RegistryError as exc:
            click.echo(f"error: --db: {exc}", err=True)
            sys.exit(2)
    try:
        reports = [verify_path(path, trust, at or now(), sources) for path in paths]
    finally:
        if sources.registry is not None:
            sources.registry.close()
    if as_json:
        data = [r.to_dict() for r in reports]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(r.to_text() for r in reports))
    sys.exit(max(r.exit_code for r in reports))
