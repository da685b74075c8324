"""Registry commands: the database, lifecycle changes, status and the audit log.

Each command is a thin layer over :mod:`docgen.registry`: it parses options, calls one
function and prints its result or one line per error (exit 1).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..clock import now
from ..errors import DocgenError, RecordError
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
from .issuing import open_sealer

if TYPE_CHECKING:
    from ..registry import Registry, lifecycle
    from ..signing.sealer import Sealer


__all__ = [
    "audit",
    "correct",
    "db",
    "export_command",
    "extend",
    "import_legacy_command",
    "reissue",
    "review",
    "revoke",
    "status",
    "status_list",
]


@dataclass(frozen=True)
class _Change:
    """The options every change that seals a new version takes, and running it."""

    keys_dir: Path
    profile: str
    passphrase_env: str | None
    out: Path | None
    overwrite: bool
    db: str | None
    operator: str
    at: datetime | None

    def run(self, change: Callable[[Registry, Sealer, _Change], lifecycle.Written]) -> None:
        """Open the sealer and the registry, make the change, print the new version and
        its files, or one line per error (exit 1)."""
        from ..registry import Registry

        sealer = open_sealer(self.keys_dir, self.profile, None, self.passphrase_env)
        try:
            with Registry.open(self.db) as registry:
                item = change(registry, sealer, self)
        except RecordError as exc:
            fail(exc.lines())
        except DocgenError as exc:
            fail([str(exc)])
        click.echo(f"{item.number} version {item.version}: {item.identifier}")
        click.echo(str(item.ofd))
        click.echo(str(item.pdf))

    @property
    def common(self) -> dict[str, Any]:
        """The keyword arguments every lifecycle change takes."""
        return {
            "operator": self.operator,
            "at": self.at or now(),
            "out_dir": self.out,
            "overwrite": self.overwrite,
        }


_CHANGE_OPTIONS: list[Callable[[Any], Any]] = [
    keys_option("Key store of the issuing body."),
    click.option("--profile", type=click.Choice(PROFILES), default="sm2", show_default=True),
    click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP),
    click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder of the new files (default: beside the current version's).",
    ),
    click.option("--overwrite", is_flag=True, help="Replace files that already exist."),
    db_option(),
    operator_option(),
    at_option("Time of the change (default: now)."),
]


def _with_photo_path(record: Any, base: Path) -> Any:
    """A record whose relative photo path is made absolute (records are re-validated later)."""
    if isinstance(record, dict) and isinstance(record.get("photo"), str):
        photo = record["photo"]
        if not photo.startswith("data:") and not Path(photo).is_absolute():
            return {**record, "photo": str((base / photo).resolve())}
    return record


def _sealing(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the options of a change that seals files, gathered in ``change``."""
    names = [f.name for f in fields(_Change)]

    @functools.wraps(command)
    def gathered(**kwargs: Any) -> None:
        change = _Change(**{name: kwargs.pop(name) for name in names})
        command(change=change, **kwargs)

    wrapped: Callable[..., None] = gathered
    for option in reversed(_CHANGE_OPTIONS):
        wrapped = option(wrapped)
    return wrapped


@main.group()
def db() -> None:
    """The registry database."""


@db.command("upgrade")
@db_option()
def db_upgrade(db: str | None) -> None:
    """Create the registry, or migrate an older schema to this version's."""
    from ..registry import Registry

    try:
        with Registry.open(db, upgrade=True) as registry:
            click.echo(f"registry at {registry.engine.url.render_as_string()}: schema is current")
    except DocgenError as exc:
        fail([str(exc)])


@main.command()
@click.argument("number")
@click.option("--reason", required=True, help="Why (recorded and shown to verifiers).")
@db_option()
@operator_option()
@at_option("Time the revocation takes effect (default: now).")
def revoke(number: str, reason: str, db: str | None, operator: str, at: datetime | None) -> None:
    """Revoke certificate NUMBER (its current version)."""
    from ..registry import Registry, lifecycle

    try:
        with Registry.open(db) as registry:
            row = lifecycle.revoke(
                registry, number, reason=reason, operator=operator, at=at or now()
            )
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(f"{row.number} version {row.version} revoked: {reason.strip()}")


@main.command()
@click.argument("number")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The corrected record (JSON), all fields.",
)
@click.option("--reason", default=None, help="What was corrected.")
@_sealing
def correct(
    number: str,
    data: Path,
    reason: str | None,
    change: _Change,
) -> None:
    """Issue a corrected new version of NUMBER; the old version becomes superseded."""
    from ..registry import lifecycle

    records = load_records(data)
    if len(records) != 1:
        fail([f"{data}: holds {len(records)} records; a correction takes one"])
    record = _with_photo_path(records[0], data.parent)
    change.run(
        lambda registry, sealer, c: lifecycle.correct(
            registry, number, record, sealer, reason=reason, **c.common
        )
    )


@main.command()
@click.argument("number")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="For a legacy paper record only: the full record with the holder's photo.",
)
@click.option("--reason", default=None, help="Lost, damaged, ...")
@_sealing
def reissue(
    number: str,
    data: Path | None,
    reason: str | None,
    change: _Change,
) -> None:
    """补发: replace a lost or damaged certificate by a new e-certificate version (never by
    paper)."""
    from ..registry import lifecycle

    record = None
    if data is not None:
        record = _with_photo_path(load_records(data)[0], data.parent)
    change.run(
        lambda registry, sealer, c: lifecycle.reissue(
            registry, number, sealer, record=record, reason=reason, **c.common
        )
    )


@main.command()
@click.argument("number")
@click.option(
    "--clean-record",
    is_flag=True,
    help="10 years of continuous clean work: the next review is due after the longer interval.",
)
@_sealing
def review(
    number: str,
    clean_record: bool,
    change: _Change,
) -> None:
    """复审 of special-operations certificate NUMBER: within the 60 days before 应复审日期."""
    from ..registry import lifecycle

    change.run(
        lambda registry, sealer, c: lifecycle.review(
            registry, number, sealer, clean_record=clean_record, **c.common
        )
    )


@main.command()
@click.argument("number")
@_sealing
def extend(
    number: str,
    change: _Change,
) -> None:
    """证书延期 of NUMBER: a new version whose validity ends later (years from the kind file)."""
    from ..registry import lifecycle

    change.run(lambda registry, sealer, c: lifecycle.extend(registry, number, sealer, **c.common))


@main.command()
@click.argument("query")
@db_option()
@at_option("Day to answer for (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def status(query: str, db: str | None, at: datetime | None, as_json: bool) -> None:
    """The status of a certificate, by NUMBER, GB/T 36904 IDENTIFIER or QR text: exit 0
    when valid, 1 when not (revoked, superseded, expired, ...)."""
    from ..registry import NotFoundError, Registry, status_of

    try:
        with Registry.open(db, reader=True) as registry, registry.reading() as session:
            answer = status_of(session, query, at or now())
    except NotFoundError as exc:
        fail([str(exc)])
    except DocgenError as exc:
        fail([str(exc)])
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"{answer.number} version {answer.version}: {answer.sentence()}")
        click.echo(f"  holder {answer.holder} ({answer.id_masked}); issued by {answer.issuer}")
        click.echo(f"  identifier {answer.identifier}")
    raise SystemExit(0 if answer.valid else 1)


@main.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("verify")
@db_option()
def audit_verify(db: str | None) -> None:
    """Recompute the audit log's hash chain; name the first row that was changed."""
    from ..registry import Registry
    from ..registry.audit import verify_chain

    try:
        with Registry.open(db, reader=True) as registry, registry.reading() as session:
            check = verify_chain(session)
    except DocgenError as exc:
        fail([str(exc)])
    if not check.ok:
        where = f"row {check.broken_id}" if check.broken_id is not None else "the chain's end"
        fail([f"audit log broken at {where}: {check.reason}"])
    click.echo(f"audit log intact: {check.rows} rows, head {check.head}")


@main.group("status-list")
def status_list() -> None:
    """Signed status lists, for verifiers offline."""


@status_list.command("export")
@keys_option("Key store of the issuing body whose list this is (it signs the list).")
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--valid-hours",
    type=click.IntRange(1, 24 * 31),
    default=24,
    show_default=True,
    help="Hours until the next update; after that verifiers call the list stale.",
)
@db_option()
@at_option("Time the list speaks for (default: now).")
def status_list_export(
    keys_dir: Path,
    passphrase_env: str | None,
    out: Path,
    valid_hours: int,
    db: str | None,
    at: datetime | None,
) -> None:
    """Write the issuing body's signed status list (COSE_Sign1) to OUT."""
    from ..atomic import write_atomically
    from ..registry import Registry
    from ..registry.statuslist import build_status_list
    from ..signing.keystore import KeyStore
    from ..signing.statuslist import sign_status_list
    from ..statuslist import Code

    at = at or now()
    try:
        store = KeyStore.open(keys_dir, passphrase(passphrase_env))
        signer = store.signer("ecdsa")
        with Registry.open(db) as registry, registry.reading() as session:
            built = build_status_list(
                session, store.identity.code, at, at + timedelta(hours=valid_hours)
            )
        write_atomically({out: sign_status_list(built, signer)})
    except DocgenError as exc:
        fail([str(exc)])
    revoked = sum(1 for e in built.details.values() if e.code is Code.REVOKED)
    click.echo(
        f"{out}: {built.size} entries ({revoked} revoked) of {store.identity.name}, "
        f"next update {built.next_update.isoformat()}"
    )


@main.command("import-legacy")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option()
@operator_option()
@at_option("Time of the import (default: now).")
def import_legacy_command(
    csv_file: Path, db: str | None, operator: str, at: datetime | None
) -> None:
    """Register old-style certificates (no QR, no file) from CSV_FILE, to be looked up by
    number. Columns: kind, number, name, id_number, issuer, issuer_code, issue_date
    (required); id_type, first_issue_date, valid_from, valid_to, review_date."""
    from ..registry import Registry
    from ..registry.legacy import import_legacy

    try:
        with Registry.open(db) as registry:
            count = import_legacy(registry, csv_file, operator=operator, at=at or now())
    except RecordError as exc:
        fail(exc.lines())
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(f"{csv_file}: {count} legacy records registered")


@main.command("export")
@click.option(
    "--since",
    required=True,
    metavar="YYYY-MM-DD",
    help="Certificates created or changed on or after this day (Beijing time).",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@db_option()
def export_command(since: str, out: Path, db: str | None) -> None:
    """Write the GB/T 36903 core items of what changed since a day, as JSON and CSV (for the
    national platform); the same call gives the same files."""
    from ..registry import Registry
    from ..registry.export import export_since

    try:
        day = date.fromisoformat(since)
    except ValueError:
        fail([f"--since: {since!r} is not a date YYYY-MM-DD"])
    try:
        with Registry.open(db) as registry:
            json_path, csv_path, count = export_since(registry, day, out)
    except DocgenError as exc:
        fail([str(exc)])
    click.echo(f"{count} certificate versions changed since {day.isoformat()}")
    click.echo(str(json_path))
    click.echo(str(csv_path))
