"""``docgen batch`` and ``docgen sample-batch``: issuing a whole sitting from its results."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from ..clock import BEIJING, now
from ..errors import DocgenError
from ..kinds import KIND_NAMES
from ..signing.profiles import PROFILES
from .common import (
    PASSPHRASE_HELP,
    at_option,
    db_option,
    fail,
    keys_option,
    main,
    operator_option,
)

__all__ = ["batch", "sample_batch"]


@main.command()
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KIND_NAMES), required=True, help="Certificate kind.")
@click.option(
    "--photos",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="Folder or ZIP of photos: the 照片 column's file, else <证件号码>.jpg/.jpeg/.png.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder: <number>.ofd/.pdf, and batch-<id>/ with the manifest, the "
    "rejection report and one ZIP per unit.",
)
@db_option()
@keys_option("Key store of the issuing body (docgen keys init).")
@click.option(
    "--workers", type=click.IntRange(1, 256), default=None, help="Local worker processes "
    "(default: one per core)."
)  # fmt: skip
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run the tasks on this Dask distributed scheduler instead of local processes.",
)
@at_option(
    "Issue time (ISO 8601; naive = Beijing time). Default: now; a resumed batch keeps its own."
)
@click.option("--profile", type=click.Choice(PROFILES), default="sm2", show_default=True,
              help="OFD signature profile.")  # fmt: skip
@click.option("--passphrase-env", default=None, metavar="VAR", help=PASSPHRASE_HELP)
@click.option("--tsa-url", default=None, help="Timestamp authority for PAdES B-T.")
@click.option("--overwrite", is_flag=True, help="Replace certificate files already there.")
@operator_option()
def batch(
    results: Path,
    kind: str,
    photos: Path,
    out: Path,
    db: str | None,
    keys_dir: Path,
    workers: int | None,
    scheduler: str | None,
    at: datetime | None,
    profile: str,
    passphrase_env: str | None,
    tsa_url: str | None,
    overwrite: bool,
    operator: str,
) -> None:
    """Issue a sitting's certificates from RESULTS (.csv or .xlsx, headers in Chinese or
    English): check every row, judge eligibility from the scores, number, render, seal and
    register each eligible candidate exactly once. Running the same command again after a
    crash or Ctrl-C continues where it stopped."""
    from ..batch import BatchOptions, run_batch

    options = BatchOptions(
        results=results, kind=kind, photos=photos, out_dir=out, keys_dir=keys_dir, at=at,
        db=db, workers=workers, scheduler=scheduler, profile=profile,
        passphrase_env=passphrase_env, tsa_url=tsa_url, operator=operator, overwrite=overwrite,
    )  # fmt: skip
    try:
        summary = run_batch(options)
    except KeyboardInterrupt:
        click.echo("interrupted: run the same command again to continue the batch", err=True)
        sys.exit(130)
    except DocgenError as exc:
        fail([str(exc)])
    reports = summary.reports
    if summary.resumed:
        click.echo(f"batch {summary.batch_id} (continued)")
    else:
        click.echo(f"batch {summary.batch_id}")
    click.echo(f"issued:   {summary.issued} certificates in {summary.out_dir}")
    click.echo(f"rejected: {summary.rejected} rows, reasons in {reports.rejected_csv}")
    if summary.void:
        click.echo(f"void:     {summary.void} numbers allocated but not used (see the report)")
    click.echo(f"manifest: {reports.manifest_csv} and {reports.manifest_json.name}")
    click.echo(f"units:    {reports.units}/ (one ZIP per applying unit)")
    if summary.made_now:
        click.echo(
            f"made {summary.made_now} OFD+PDF pairs in {summary.seconds:.1f} s "
            f"({summary.rate:.1f}/s)"
        )


@main.command("sample-batch")
@click.option("--kind", type=click.Choice(KIND_NAMES), required=True, help="Certificate kind.")
@click.option("--rows", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for results.csv (or .xlsx) and photos/.")  # fmt: skip
@click.option("--xlsx", is_flag=True, help="Write results.xlsx instead of results.csv.")
@click.option("--zip", "photos_zip", is_flag=True, help="Photos as photos.zip, not a folder.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--bad", type=click.IntRange(0), default=0, help="Of the ROWS, make this many to be rejected "
    "(wrong ID check character, score below the line, no photo, a repeated candidate)."
)  # fmt: skip
@at_option("Day the results are for (exam dates lie before it). Default: today.")
def sample_batch(
    kind: str,
    rows: int,
    out: Path,
    xlsx: bool,
    photos_zip: bool,
    seed: int,
    bad: int,
    at: datetime | None,
) -> None:
    """Write a results file of ROWS made-up candidates and their photos (all eligible
    unless --bad)."""
    from ..batch import write_sample_batch

    if bad > rows // 2:
        fail([f"--bad: at most half the rows ({rows // 2})"])
    day = (at or now()).astimezone(BEIJING).date()
    results, photos = write_sample_batch(
        kind, rows, out, day, seed=seed, xlsx=xlsx, photos_zip=photos_zip, bad=bad
    )
    click.echo(f"results: {results}")
    click.echo(f"photos:  {photos}")
