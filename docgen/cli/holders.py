"""Holder commands: an account, and one's own certificates. Secrets are read from an
environment variable only, never from the command line, and never printed."""

from __future__ import annotations

import json
import os
from datetime import datetime

import click

from ..annotation import certificates_of, register, sign_in
from ..clock import now
from ..errors import DocgenError
from ..registry import Registry
from .common import at_option, db_option, fail, main

__all__ = ["holder"]


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
