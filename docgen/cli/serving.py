"""``docgen serve`` (the web service) and ``docgen apikey`` (issuing bodies' API keys)."""

from __future__ import annotations

from pathlib import Path

import click

from ..clock import now
from ..errors import DocgenError
from .common import db_option, fail, main, status_list_option, trust_option

__all__ = ["apikey", "serve"]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@db_option()
@click.option(
    "--keys",
    "keys_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="An issuing body's key store, for annotated copies and its API; repeatable. "
    "A service that only verifies needs none.",
)
@trust_option("Trust list (trust.json); repeatable. Default: keys/trust.json.")
@status_list_option("A signed status list to publish; repeatable.")
@click.option(
    "--copies",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("annotated"),
    show_default=True,
    help="Where annotated copies are written.",
)
@click.option(
    "--batches",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("batches"),
    show_default=True,
    help="Where submitted batches are kept.",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Web worker processes.")  # fmt: skip
@click.option("--verify-workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Processes per web worker that verify uploaded files.")  # fmt: skip
@click.option("--rate-per-minute", type=click.IntRange(1), default=120, show_default=True,
              help="Public verification requests one client may make per minute.")  # fmt: skip
@click.option("--passphrase-env", default=None, metavar="VAR",
              help="Environment variable holding the key stores' passphrase.")  # fmt: skip
def serve(
    host: str,
    port: int,
    db: str | None,
    keys_dirs: tuple[Path, ...],
    trust_files: tuple[Path, ...],
    status_lists: tuple[Path, ...],
    copies: Path,
    batches: Path,
    workers: int,
    verify_workers: int,
    rate_per_minute: int,
    passphrase_env: str | None,
) -> None:
    """Serve the verification page (/), the API (/api/v1, documented at /docs) until Ctrl-C."""
    from service.server import run
    from service.settings import ServiceSettings

    from ..registry.store import database_url

    settings = ServiceSettings.from_env(
        db=database_url(db),
        keys_dirs=tuple(p.resolve() for p in keys_dirs),
        trust_files=tuple(p.resolve() for p in trust_files),
        status_lists=tuple(p.resolve() for p in status_lists),
        copies_dir=copies.resolve(),
        batches_dir=batches.resolve(),
        keys_passphrase_env=passphrase_env,
        verify_workers=verify_workers,
        rate_per_minute=rate_per_minute,
    )
    click.echo(f"serving on http://{host}:{port}/ (API docs at /docs); Ctrl-C stops")
    run(settings, host, port, workers)


@main.group()
def apikey() -> None:
    """Issuing bodies' API keys for the web service."""


@apikey.command("create")
@click.option("--issuer", "issuer_code", required=True, help="The body's 统一社会信用代码.")
@click.option("--label", default="", help="Who or what the key is for.")
@db_option()
def apikey_create(issuer_code: str, label: str, db: str | None) -> None:
    """Make a key and print it (once: only its hash is kept)."""
    from ..registry import Registry
    from ..registry.apikeys import create_key

    try:
        with Registry.open(db) as registry:
            key = create_key(registry, issuer_code.strip().upper(), label, at=now())
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(key)


@apikey.command("revoke")
@click.argument("key_id")
@db_option()
def apikey_revoke(key_id: str, db: str | None) -> None:
    """Revoke the key whose id (the part after ``dgk_``) is KEY_ID."""
    from ..registry import Registry
    from ..registry.apikeys import revoke_key

    try:
        with Registry.open(db) as registry:
            revoke_key(registry, key_id, at=now())
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(f"revoked {key_id}")
