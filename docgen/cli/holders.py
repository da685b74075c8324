"""Holder commands: an account, one's own certificates, and 加注 (annotated copies). Secrets
are read from an environment variable only, never from the command line, and never
printed."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import click

from ..clock import now
from ..errors import DocgenError, RecordError
from ..signing.profiles import PROFILES
from .common import PASSPHRASE_HELP, at_option, db_option, fail, keys_option, main
from .issuing import open_sealer

__all__ = ["annotate_command", "holder"]


def _secret(env: str) -> str:
    value = os.environ.get(env)
    if not value:
        fail([f"--secret-env: the environment variable {env} is not set or empty"])
    return value


@main.group()
def holder() -> None:
    """Holders: register an account and list one's own certificates."""


@holder.command("register")
@click.option("--id-number", required=True, help="Your ID number, as on your certificate.")
@click.option("--name", required=True, help="Your name, as on your certificate.")
@click.option("--secret-env", required=True, metavar="VAR", help="Variable holding your secret.")
@db_option()
@at_option("Time of registration (default: now).")
def holder_register(
    id_number: str, name: str, secret_env: str, db: str | None, at: datetime | None
) -> None:
    """Create your account: a certificate in the registry must carry your ID number and
    name."""
    from ..annotation import register
    from ..registry import Registry

    secret = _secret(secret_env)
    try:
        with Registry.open(db) as registry:
            register(registry, id_number, name, secret, at=at or now())
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(f"account created for {name.strip()}")


@holder.command("certificates")
@click.option("--id-number", required=True)
@click.option("--secret-env", required=True, metavar="VAR", help="Variable holding your secret.")
@db_option()
@at_option("Day to show the status for (default: now).")
@click.option("--json", "as_json", is_flag=True)
def holder_certificates(
    id_number: str, secret_env: str, db: str | None, at: datetime | None, as_json: bool
) -> None:
    """List your certificates (every version) with their status."""
    from ..annotation import certificates_of, sign_in
    from ..registry import Registry

    secret = _secret(secret_env)
    at = at or now()
    try:
        with Registry.open(db) as registry:
            account = sign_in(registry, id_number, secret, at=at)
            answers = certificates_of(registry, account, at)
    except DocgenError as exc:
        fail([str(exc)])
    if as_json:
        click.echo(json.dumps([a.to_dict() for a in answers], ensure_ascii=False, indent=2))
        return
    for answer in answers:
        click.echo(f"{answer.number} version {answer.version} ({answer.kind}): {answer.sentence()}")


@main.command("annotate")
@click.argument("number")
@click.option("--scenario", required=True, help="Use scenario (加注), e.g. 本人调用.")
@click.option("--days", required=True, type=int, help="Days the copy is good for (1-90).")
@click.option("--id-number", required=True, help="Your ID number, as on your certificate.")
@click.option("--secret-env", required=True, metavar="VAR", help="Variable holding your secret.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the annotated copy (OFD and PDF).",
)
@keys_option("Key store of the certificate's issuing body, which signs the 加注.")
@click.option("--profile", type=click.Choice(PROFILES), default="sm2", show_default=True)
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
@db_option()
@at_option("Time of the application (default: now); the window starts that day.")
def annotate_command(
    number: str,
    scenario: str,
    days: int,
    id_number: str,
    secret_env: str,
    out: Path,
    keys_dir: Path,
    profile: str,
    passphrase_env: str | None,
    db: str | None,
    at: datetime | None,
) -> None:
    """Annotate (加注) your certificate NUMBER for a use scenario and a window of days, and
    write the annotated copy: the issuer's sealed files plus a signed 加注 band."""
    from ..annotation import annotate, sign_in
    from ..registry import Registry

    secret = _secret(secret_env)
    at = at or now()
    sealer = open_sealer(keys_dir, profile, None, passphrase_env)
    try:
        with Registry.open(db) as registry:
            account = sign_in(registry, id_number, secret, at=at)
            done = annotate(
                registry,
                account,
                number,
                scenario=scenario,
                days=days,
                at=at,
                sealer=sealer,
                out_dir=out,
            )
    except RecordError as exc:
        fail(exc.lines())
    except DocgenError as exc:
        fail([str(exc)])
    note = " (cut at the certificate's own end of validity)" if done.shortened else ""
    click.echo(
        f"加注 {done.number}: {done.certificate_number} for {done.scenario}, valid "
        f"{done.valid_from.isoformat()} – {done.valid_to.isoformat()}{note}"
    )
    click.echo(str(done.ofd))
    click.echo(str(done.pdf))
