"""Commands of an issuing body's desk: kinds, samples, keys and issuing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..clock import now
from ..errors import DocgenError, RecordError
from ..kinds import KIND_NAMES, load_kind
from ..signing.profiles import PROFILES
from .common import (
    PASSPHRASE_HELP,
    at_option,
    db_option,
    fail,
    keys_option,
    load_records,
    main,
    operator_option,
    passphrase,
)

if TYPE_CHECKING:
    from ..signing.sealer import Sealer


__all__ = ["issue", "keys", "kinds", "open_sealer", "sample"]


@main.command()
@click.option(
    "--kind", "kind", type=click.Choice(KIND_NAMES), required=True, help="Certificate kind."
)
def sample(kind: str) -> None:
    """Print a valid sample record of KIND as JSON (photo embedded as a data URI)."""
    from ..samples import sample_record

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
@click.option("--issuer-name", default=None, help="The issuing body, as printed.")
@click.option("--issuer-code", default=None, help="Its 统一社会信用代码 (18 characters).")
@click.option(
    "--issuer-from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Take issuer name, code and seal title from this certificate record instead.",
)
@click.option("--seal-title", default=None, help="Title under the star of the seal.")
@at_option("Start of validity (default: now).")
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
def keys_init(
    folder: Path,
    issuer_name: str | None,
    issuer_code: str | None,
    issuer_from: Path | None,
    seal_title: str | None,
    at: datetime | None,
    passphrase_env: str | None,
) -> None:
    """Create roots, seal maker, signer generation 1 and the seal; write the trust list."""
    from stdnum.cn import uscc
    from stdnum.exceptions import ValidationError as StdnumError

    from ..signing.keystore import IssuerIdentity, KeyStore
    from ..validation import validate_record

    at = at or now()
    title = "电子证照专用章"
    if issuer_from is not None:
        record = load_records(issuer_from)[0]
        try:
            # the record is read as of now, whatever validity start the keys get
            cert = validate_record(
                load_kind(str(record.get("kind"))),
                record,
                now(),
                issuer_from.parent,
                str(issuer_from),
            )
        except RecordError as exc:
            fail(exc.lines())
        except DocgenError as exc:
            fail([f"{issuer_from}: {exc}"])
        issuer_name = issuer_name or str(cert.values[cert.kind.issuer_field])
        issuer_code = issuer_code or str(cert.values["issuer_code"])
        title = cert.kind.seal_title
    if not issuer_name or not issuer_code:
        fail(["give --issuer-name and --issuer-code, or --issuer-from RECORD.json"])
    try:
        code = uscc.validate(issuer_code)
    except StdnumError as exc:
        fail([f"--issuer-code: {issuer_code!r} is not a valid 统一社会信用代码 ({exc})"])
    identity = IssuerIdentity(issuer_name.strip(), code, (seal_title or title).strip())
    try:
        store = KeyStore.init(folder, identity, at, passphrase(passphrase_env))
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(f"key store: {store.folder} ({identity.name}, {identity.code})")
    click.echo(f"trust list: {store.folder / 'trust.json'}")


@keys.command("rotate")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), required=True)
@at_option("Start of the new generation's validity (default: now).")
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
def keys_rotate(folder: Path, at: datetime | None, passphrase_env: str | None) -> None:
    """Add a signer generation (both profiles) and a new seal; older ones stay trusted."""
    from ..signing.keystore import KeyStore

    try:
        store = KeyStore.open(folder, passphrase(passphrase_env))
        generation = store.rotate(at or now())
    except DocgenError as exc:
        fail([str(exc)])
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
@at_option("Issue time (ISO 8601; naive = Beijing time). Default: now.")
@click.option("--overwrite", is_flag=True, help="Replace files that already exist.")
@keys_option("Key store of the issuing body (docgen keys init).")
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default="sm2",
    show_default=True,
    help="OFD signature: sm2 = GB/T 38540 seal; ecdsa = ECDSA-SHA256 sign. PDF and QR use ECDSA.",
)
@click.option("--tsa-url", default=None, help="Timestamp authority for PAdES B-T.")
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
@click.option(
    "--unsigned",
    is_flag=True,
    help="Write unsigned drafts (placeholder QR, no seal); drafts are not registered.",
)
@db_option()
@operator_option()
def issue(
    kind: str | None,
    data: Path,
    out: Path,
    at: datetime | None,
    overwrite: bool,
    keys_dir: Path,
    profile: str,
    tsa_url: str | None,
    passphrase_env: str | None,
    unsigned: bool,
    db: str | None,
    operator: str,
) -> None:
    """Validate records, render each to OFD and PDF, seal them, register them in the
    registry and write them (all or nothing), print the paths."""
    from ..issuing import issue_records, validate_records
    from ..registry import Registry, lifecycle

    records = load_records(data)
    at = at or now()
    try:
        if unsigned:
            drafts = issue_records(
                kind, records, at, out, base_dir=data.parent, source=str(data), overwrite=overwrite
            )
            paths = [p for item in drafts for p in (item.ofd, item.pdf)]
        else:
            sealer = open_sealer(keys_dir, profile, tsa_url, passphrase_env)
            certificates = validate_records(
                kind, records, at, base_dir=data.parent, source=str(data), sealer=sealer
            )
            with Registry.open(db) as registry:
                written = lifecycle.issue(
                    registry,
                    certificates,
                    out,
                    sealer,
                    operator=operator,
                    at=at,
                    overwrite=overwrite,
                )
            paths = [p for item in written for p in (item.ofd, item.pdf)]
    except RecordError as exc:
        fail(exc.lines())
    except DocgenError as exc:
        fail([str(exc)])
    for path in paths:
        click.echo(str(path))


def open_sealer(
    keys_dir: Path, profile: str, tsa_url: str | None, passphrase_env: str | None
) -> Sealer:
    """The sealer of the key store in ``keys_dir`` (exits with one line if it cannot open)."""
    from ..signing.keystore import KeyStore
    from ..signing.sealer import Sealer

    try:
        return Sealer(KeyStore.open(keys_dir, passphrase(passphrase_env)), profile, tsa_url)
    except DocgenError as exc:
        fail([f"--keys: {exc} (or pass --unsigned for drafts)"])
