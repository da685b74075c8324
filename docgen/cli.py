"""The ``docgen`` command line: sample records and issue certificates.

Every error is printed as one line per problem on standard error, naming the record and
field; exit status 1 means the input was refused and nothing was written, 2 a usage error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
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
from .signing.keystore import PROFILES, IssuerIdentity, KeyStore
from .signing.sealer import Sealer
from .validation import validate_record

__all__ = ["main"]

#: The trust list `docgen verify` uses when none is given.
_DEFAULT_TRUST = Path("keys/trust.json")


def _parse_at(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_at(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time") from None


def _at_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--at ISO-TIME`` option (naive times are Beijing time)."""
    return click.option(
        "--at", "at", metavar="ISO-TIME", callback=_parse_at, default=None, help=help_text
    )


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
@click.option("--issuer-name", default=None, help="The issuing body, as printed.")
@click.option("--issuer-code", default=None, help="Its 统一社会信用代码 (18 characters).")
@click.option(
    "--issuer-from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Take issuer name, code and seal title from this certificate record instead.",
)
@click.option("--seal-title", default=None, help="Title under the star of the seal.")
@_at_option("Start of validity (default: now).")
@click.option("--passphrase-env", default=None, metavar="VAR", help=_PASSPHRASE_HELP)
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
    at = at or now()
    title = "电子证照专用章"
    if issuer_from is not None:
        record = _load_records(issuer_from)[0]
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
            _fail(exc.lines())
        except DocgenError as exc:
            _fail([f"{issuer_from}: {exc}"])
        issuer_name = issuer_name or str(cert.values[cert.kind.issuer_field])
        issuer_code = issuer_code or str(cert.values["issuer_code"])
        title = cert.kind.seal_title
    if not issuer_name or not issuer_code:
        _fail(["give --issuer-name and --issuer-code, or --issuer-from RECORD.json"])
    try:
        code = uscc.validate(issuer_code)
    except StdnumError as exc:
        _fail([f"--issuer-code: {issuer_code!r} is not a valid 统一社会信用代码 ({exc})"])
    identity = IssuerIdentity(issuer_name.strip(), code, (seal_title or title).strip())
    try:
        store = KeyStore.init(folder, identity, at, _passphrase(passphrase_env))
    except DocgenError as exc:
        _fail([str(exc)])
    click.echo(f"key store: {store.folder} ({identity.name}, {identity.code})")
    click.echo(f"trust list: {store.folder / 'trust.json'}")


@keys.command("rotate")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), required=True)
@_at_option("Start of the new generation's validity (default: now).")
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
@_at_option("Issue time (ISO 8601; naive = Beijing time). Default: now.")
@click.option("--overwrite", is_flag=True, help="Replace files that already exist.")
@click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("keys"),
    show_default=True,
    help="Key store of the issuing body (docgen keys init).",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default="sm2",
    show_default=True,
    help="OFD signature: sm2 = GB/T 38540 seal; ecdsa = ECDSA-SHA256 sign. PDF and QR use ECDSA.",
)
@click.option("--tsa-url", default=None, help="Timestamp authority for PAdES B-T.")
@click.option("--passphrase-env", default=None, metavar="VAR", help=_PASSPHRASE_HELP)
@click.option("--unsigned", is_flag=True, help="Write unsigned drafts (placeholder QR, no seal).")
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
) -> None:
    """Validate records, render each to OFD and PDF, seal them, write them, print the paths."""
    records = _load_records(data)
    sealer = None
    if not unsigned:
        try:
            store = KeyStore.open(keys_dir, _passphrase(passphrase_env))
            sealer = Sealer(store, profile, tsa_url)
        except DocgenError as exc:
            _fail([f"--keys: {exc} (or pass --unsigned for drafts)"])
    try:
        issued = issue_records(
            kind,
            records,
            at or now(),
            out,
            base_dir=data.parent,
            source=str(data),
            overwrite=overwrite,
            sealer=sealer,
        )
    except RecordError as exc:
        _fail(exc.lines())
    except DocgenError as exc:
        _fail([str(exc)])
    for item in issued:
        click.echo(str(item.ofd))
        click.echo(str(item.pdf))


@main.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust list (trust.json); repeat for several issuing bodies. "
    "Default: keys/trust.json when it exists.",
)
@_at_option("Time to check validity at (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the report(s) as JSON.")
def verify_command(
    paths: tuple[Path, ...], trust_files: tuple[Path, ...], at: datetime | None, as_json: bool
) -> None:
    """Verify OFD, PDF, PNG or JPEG files: exit 0 authentic and valid, 1 not authentic or
    not valid, 2 could not be checked."""
    from verify.api import verify_path
    from verify.trust import TrustList, TrustListError

    files = list(trust_files)
    if not files and _DEFAULT_TRUST.is_file():
        files = [_DEFAULT_TRUST]
    try:
        trust = TrustList.load(files)
    except TrustListError as exc:
        click.echo(f"error: --trust: {exc}", err=True)
        sys.exit(2)
    reports = [verify_path(path, trust, at or now()) for path in paths]
    if as_json:
        data = [r.to_dict() for r in reports]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(r.to_text() for r in reports))
    sys.exit(max(r.exit_code for r in reports))
