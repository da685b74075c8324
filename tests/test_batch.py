"""docgen batch: a sitting's results become sealed certificates, exactly once.

A 200-row results file with 20 bad rows issues exactly the 180 good ones (local processes,
then the same on a Dask LocalCluster: same numbers, byte-identical unsigned content);
SIGKILL at random points and re-running gives one certificate per eligible row with
consecutive serials; eligibility is exact at every threshold's edge.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select

from docgen.batch import BatchInputError, BatchOptions, run_batch
from docgen.batch.eligibility import assess
from docgen.batch.results import columns_of
from docgen.batch.samples import sample_rows
from docgen.cli import main
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import Registry
from docgen.registry.audit import verify_chain
from docgen.registry.models import AuditEntry, BatchItem, CertificateRow
from docgen.samples import sample_photo_png
from docgen.signing.keystore import IssuerIdentity, KeyStore
from verify.api import verify_path
from verify.report import Verdict
from verify.status import StatusSources
from verify.trust import TrustList

from .crash_worker import kill_group

ROOT = Path(__file__).resolve().parents[1]
AT = parse_at("2026-11-20T10:00:00+08:00")
KEYS_AT = parse_at("2024-01-01T09:00:00+08:00")
SITE = "S000037000101"
PREFIX = SITE + "265"  # 2026, level 5 (五级/初级工)
ROWS_KILLED = 100  # rows of the kill-and-resume batch


@pytest.fixture(scope="module")
def rescuer_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key store of the rescuer sample's issuing body."""
    kind = load_kind("rescuer")
    identity = IssuerIdentity(kind.sample["issuer"], kind.sample["issuer_code"], kind.seal_title)
    folder = tmp_path_factory.mktemp("batch-keys") / "store"
    KeyStore.init(folder, identity, KEYS_AT)
    return folder


def _write(kind: str, rows: list[dict[str, Any]], folder: Path, english: bool = False) -> Path:
    """A results CSV of ``rows`` (Chinese headers, or English ones) and a photo per row."""
    headers = {c.key: c.headers[-1 if english else 0] for c in columns_of(load_kind(kind))}
    headers.update({k: k for row in rows for k in row if k not in headers})
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys and not k.startswith("_"))
    folder.mkdir(parents=True, exist_ok=True)
    photos = folder / "photos"
    photos.mkdir(exist_ok=True)
    photo = sample_photo_png()
    for row in rows:
        if not row.get("_no_photo"):
            (photos / f"{row['id_number']}.png").write_bytes(photo)
    path = folder / "results.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([headers[k] for k in keys])
        for row in rows:
            writer.writerow([row.get(k, "") for k in keys])
    return path


def _wrong_check(id_number: str) -> str:
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


def _two_hundred(folder: Path) -> tuple[Path, dict[int, tuple[str, str]]]:
    """200 rows: 180 good; 5 bad check characters, 5 below the line, 5 without a photo and
    5 repeating an earlier candidate. Returns the file and {line: (field, reason text)}."""
    rows = sample_rows("rescuer", 195, AT.date(), seed=9)
    bad: dict[int, tuple[str, str]] = {}
    for n in range(5):
        index = 3 + 11 * n
        rows[index]["id_number"] = _wrong_check(rows[index]["id_number"])
        rows[index]["_no_photo"] = True
        bad[index + 2] = ("id_number", "校验位错误")
    for n in range(5):
        index = 60 + 13 * n
        rows[index]["theory_score"] = 59.9
        bad[index + 2] = ("theory_score", "低于合格线 60")
    for n in range(5):
        index = 130 + 7 * n
        rows[index]["_no_photo"] = True
        bad[index + 2] = ("photo", "照片缺失")
    for n in range(5):
        copy = dict(rows[20 + n])  # rows 20-24 are good ones
        copy["name"] = "重复" + copy["name"][:1]
        rows.append(copy)
        bad[len(rows) + 1] = ("id_number", f"与第 {20 + n + 2} 行为同一考生")
    return _write("rescuer", rows, folder), bad


def _options(results: Path, keys: Path, tmp: Path, name: str, **extra: Any) -> BatchOptions:
    return BatchOptions(
        results=results,
        kind="rescuer",
        photos=results.parent / "photos",
        out_dir=tmp / name / "out",
        keys_dir=keys,
        at=AT,
        db=f"sqlite:///{tmp / name / 'registry.db'}",
        workers=2,
        operator="test",
        **extra,
    )


def _manifest(summary: Any) -> list[dict[str, str]]:
    with summary.reports.manifest_csv.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_manifest(out: Path, manifest: list[dict[str, str]]) -> None:
    for entry in manifest:
        assert _sha(out / entry["ofd"]) == entry["ofd_sha256"], entry["number"]
        assert _sha(out / entry["pdf"]) == entry["pdf_sha256"], entry["number"]


def _serials(manifest: list[dict[str, str]]) -> list[int]:
    assert all(e["number"].startswith(PREFIX) for e in manifest)
    return [int(e["number"][len(PREFIX) :]) for e in manifest]


@pytest.fixture(scope="module")
def local_batch(
    rescuer_keys: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, dict[int, tuple[str, str]], Path]:
    tmp = tmp_path_factory.mktemp("batch200")
    results, bad = _two_hundred(tmp / "input")
    summary = run_batch(_options(results, rescuer_keys, tmp, "local"))
    return summary, bad, tmp


def test_two_hundred_rows_issue_exactly_the_180_good_ones(
    local_batch: tuple[Any, dict[int, tuple[str, str]], Path],
) -> None:
    summary, bad, _ = local_batch
    assert (summary.issued, summary.rejected, summary.void) == (180, 20, 0)
    with summary.reports.rejected_csv.open(encoding="utf-8-sig") as handle:
        rejected = {int(r["行号 line"]): r for r in csv.DictReader(handle)}
    assert set(rejected) == set(bad)
    for line, (field, text) in bad.items():
        assert rejected[line]["字段 field"] == field, rejected[line]
        assert text in rejected[line]["原因 reason"], rejected[line]
        assert rejected[line]["reason"], "every reason has its English text"
    manifest = _manifest(summary)
    assert len(manifest) == 180
    lines = [int(e["line"]) for e in manifest]
    assert lines == sorted(lines) and not set(lines) & set(bad)
    assert _serials(manifest) == list(range(1, 181)), "consecutive serials in row order"
    _check_manifest(summary.out_dir, manifest)


def test_units_get_one_zip_each_with_their_files(
    local_batch: tuple[Any, dict[int, tuple[str, str]], Path],
) -> None:
    summary, _, _ = local_batch
    manifest = _manifest(summary)
    by_unit = Counter(e["unit"] for e in manifest)
    zips = sorted(summary.reports.units.glob("*.zip"))
    assert len(zips) == len(by_unit) == 8
    seen = 0
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            listing = archive.read("manifest.csv").decode("utf-8-sig").splitlines()
            files = [n for n in names if n != "manifest.csv"]
            assert len(files) == 2 * (len(listing) - 1) == 2 * by_unit[path.stem]
            for name in files:
                assert archive.read(name) == (summary.out_dir / name).read_bytes()
            seen += len(files)
    assert seen == 360
    data = json.loads(summary.reports.manifest_json.read_text("utf-8"))
    assert [c["number"] for c in data["certificates"]] == [e["number"] for e in manifest]


def test_batch_files_verify_and_the_registry_agrees(
    local_batch: tuple[Any, dict[int, tuple[str, str]], Path], rescuer_keys: Path
) -> None:
    summary, _, tmp = local_batch
    manifest = _manifest(summary)
    trust = TrustList.load([rescuer_keys / "trust.json"])
    with Registry.open(f"sqlite:///{tmp / 'local' / 'registry.db'}") as registry:
        for entry in (manifest[0], manifest[-1]):
            for name in (entry["ofd"], entry["pdf"]):
                report = verify_path(
                    summary.out_dir / name, trust, AT, StatusSources(registry=registry)
                )
                assert report.verdict is Verdict.AUTHENTIC, report.to_text()
                assert report.valid is True, report.to_text()
        with registry.reading() as session:
            rows = list(session.scalars(select(CertificateRow)))
            assert len(rows) == 180 and {r.state for r in rows} == {"active"}
            assert len({r.id_hash for r in rows}) == 180
            assert len({r.status_index for r in rows}) == 180
            assert verify_chain(session).ok


def test_running_the_same_batch_again_issues_nothing_new(
    local_batch: tuple[Any, dict[int, tuple[str, str]], Path], rescuer_keys: Path
) -> None:
    summary, _, tmp = local_batch
    again = run_batch(_options(tmp / "input" / "results.csv", rescuer_keys, tmp, "local"))
    assert again.resumed and again.made_now == 0
    assert (again.batch_id, again.issued, again.rejected) == (summary.batch_id, 180, 20)
    assert _manifest(again) == _manifest(summary)


def test_numbers_are_never_reused_by_a_later_batch(
    local_batch: tuple[Any, dict[int, tuple[str, str]], Path], rescuer_keys: Path
) -> None:
    summary, _, tmp = local_batch
    rows = sample_rows("rescuer", 3, AT.date(), seed=123)
    later = _write("rescuer", rows, tmp / "later", english=True)
    options = _options(later, rescuer_keys, tmp, "local")
    options = BatchOptions(**{**options.__dict__, "out_dir": summary.out_dir})
    result = run_batch(options)
    assert result.issued == 3 and result.batch_id != summary.batch_id
    assert _serials(_manifest(result)) == [181, 182, 183]


def _unsigned_parts(out: Path, number: str) -> tuple[dict[str, bytes], bytes]:
    """The OFD's entries other than its signature parts, and the PDF with its signature
    value and signing time blanked (the rest is the rendered document)."""
    with zipfile.ZipFile(out / f"{number}.ofd") as package:
        entries = {
            n: package.read(n) for n in package.namelist() if not n.startswith("Doc_0/Signs/")
        }
    pdf = (out / f"{number}.pdf").read_bytes()
    pdf = re.sub(rb"/Contents <[0-9A-F]+>", lambda m: b"0" * len(m[0]), pdf)
    return entries, re.sub(rb"/M \(D:[0-9+'Z-]+\)", lambda m: b"0" * len(m[0]), pdf)


def test_a_dask_cluster_gives_the_same_numbers_and_unsigned_content(
    local_batch: tuple[Any, dict[int, tuple[str, str]], Path], rescuer_keys: Path
) -> None:
    from distributed import LocalCluster

    summary, _, tmp = local_batch
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        options = _options(
            tmp / "input" / "results.csv",
            rescuer_keys,
            tmp,
            "dask",
            scheduler=cluster.scheduler_address,
        )
        on_dask = run_batch(options)
    assert (on_dask.issued, on_dask.rejected, on_dask.void) == (180, 20, 0)
    local, remote = _manifest(summary), _manifest(on_dask)
    assert [(e["line"], e["number"], e["identifier"]) for e in local] == [
        (e["line"], e["number"], e["identifier"]) for e in remote
    ]
    _check_manifest(on_dask.out_dir, remote)
    for entry in local:
        number = entry["number"]
        assert _unsigned_parts(summary.out_dir, number) == _unsigned_parts(
            on_dask.out_dir, number
        ), number


def _cli(*args: str | Path) -> list[str]:
    return [str(Path(sys.executable).with_name("docgen")), *map(str, args)]


def kill_batch(command: list[str], out: Path, rng: random.Random, *, early: bool, rows: int) -> int:
    """Start the batch ``command`` and SIGKILL it with its workers: ``early`` at a random
    moment of its first 0.5-2.5 s (starting or checking rows), else once a random number of
    certificates more are in place; returns how many were in place at the kill."""
    process = subprocess.Popen(
        command, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if early:
        time.sleep(rng.uniform(0.5, 2.5))
    else:  # while issuing: after a random number of certificates are in place
        made = len(list(out.glob("*.pdf")))
        wanted = made + rng.randint(1, max(1, (rows - made) // 3))
        deadline = time.monotonic() + 60
        while len(list(out.glob("*.pdf"))) < wanted and process.poll() is None:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.02)
    assert process.poll() is None, "the batch ended before it was killed"
    made = len(list(out.glob("*.pdf")))
    kill_group(process.pid)
    process.wait(timeout=30)
    return made


def finish_batch(
    command: list[str],
    out: Path,
    db: str,
    keys: Path,
    rows: int,
    context: object,
    verified: int | None = None,
) -> None:
    """Run the batch ``command`` to its end and check that it made each of the ``rows``
    certificates once: consecutive serials, one registry row and one batch item per row,
    files in place as the manifest and the registry say, none staged, each file authentic
    (or the first ``verified`` certificates' files)."""
    final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, (context, final.stderr)
    assert f"issued:   {rows} certificates" in final.stdout, (context, final.stdout)
    batch_dir = next(out.glob("batch-*"))
    with (batch_dir / "manifest.csv").open(encoding="utf-8-sig") as handle:
        manifest = list(csv.DictReader(handle))
    assert len(manifest) == rows
    assert sorted(_serials(manifest)) == list(range(1, rows + 1)), context
    _check_manifest(out, manifest)
    assert not [p for p in out.iterdir() if p.name.endswith(".staged")], context
    assert sorted(p.name for p in out.glob("*.ofd")) == sorted(e["ofd"] for e in manifest)
    trust = TrustList.load([keys / "trust.json"])
    with Registry.open(db) as registry:
        with registry.reading() as session:
            certificates = list(session.scalars(select(CertificateRow)))
            items = list(session.scalars(select(BatchItem)))
            assert verify_chain(session).ok
        assert len(certificates) == rows
        assert len({c.id_hash for c in certificates}) == rows
        assert sorted(i.row_no for i in items) == list(range(2, rows + 2)), "each row once"
        assert {i.state for i in items} == {"issued"}
        status = StatusSources(registry=registry)
        for entry in manifest[:verified]:
            for name in (entry["ofd"], entry["pdf"]):
                report = verify_path(out / name, trust, AT, status)
                assert report.verdict is Verdict.AUTHENTIC and report.valid, report.to_text()


def test_sigkill_at_random_points_then_rerun_gives_each_certificate_once(
    rescuer_keys: Path, tmp_path: Path
) -> None:
    seed = int(os.environ.get("DOCGEN_KILL_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    rows = sample_rows("rescuer", ROWS_KILLED, AT.date(), seed=seed)
    results = _write("rescuer", rows, tmp_path / "input")
    out, db = tmp_path / "out", f"sqlite:///{tmp_path / 'registry.db'}"
    # one worker: slow enough that each kill lands while the batch is still running
    command = _cli(
        "batch", results, "--kind", "rescuer", "--photos", results.parent / "photos",
        "--out", out, "--db", db, "--keys", rescuer_keys, "--at", AT.isoformat(),
        "--workers", "1", "--operator", "test",
    )  # fmt: skip
    kills = [
        kill_batch(command, out, rng, early=point == 0, rows=ROWS_KILLED) for point in range(3)
    ]
    finish_batch(command, out, db, rescuer_keys, ROWS_KILLED, (seed, kills))


def test_unknown_or_missing_columns_refuse_the_whole_file(
    rescuer_keys: Path, tmp_path: Path
) -> None:
    rows = sample_rows("rescuer", 2, AT.date())
    for row in rows:
        row["成绩备注x"] = "?"
    results = _write("rescuer", rows, tmp_path / "odd")
    with pytest.raises(BatchInputError, match="column 9 「成绩备注x」 is not a column of kind"):
        run_batch(_options(results, rescuer_keys, tmp_path, "odd"))
    for row in rows:
        del row["成绩备注x"], row["theory_score"]
    results = _write("rescuer", rows, tmp_path / "missing")
    outcome = CliRunner().invoke(
        main,
        ["batch", str(results), "--kind", "rescuer", "--photos", str(results.parent / "photos"),
         "--out", str(tmp_path / "o"), "--keys", str(rescuer_keys), "--at", AT.isoformat()],
    )  # fmt: skip
    assert outcome.exit_code == 1
    assert "no column for theory_score (header 理论知识考试成绩 or theory_score)" in outcome.output
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("*.ofd"))


def test_xlsx_results_with_photos_in_a_zip(tmp_path: Path) -> None:
    """Another kind end to end through the CLI: sample-batch writes XLSX and a photo ZIP."""
    kind = load_kind("special-ops")
    identity = IssuerIdentity(kind.sample["issuer"], kind.sample["issuer_code"], kind.seal_title)
    keys = tmp_path / "keys"
    KeyStore.init(keys, identity, KEYS_AT)
    runner = CliRunner()
    made = runner.invoke(
        main, ["sample-batch", "--kind", "special-ops", "--rows", "4", "--out",
               str(tmp_path / "in"), "--xlsx", "--zip", "--at", AT.isoformat()],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        main, ["batch", str(tmp_path / "in" / "results.xlsx"), "--kind", "special-ops",
               "--photos", str(tmp_path / "in" / "photos.zip"), "--out", str(tmp_path / "out"),
               "--keys", str(keys), "--at", AT.isoformat(), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "issued:   4 certificates" in result.output and "rejected: 0 rows" in result.output
    numbers = sorted(p.stem for p in (tmp_path / "out").glob("*.ofd"))
    assert len(numbers) == 4 and all(n.startswith("T") and len(n) == 19 for n in numbers)


# -- eligibility at each threshold's edge -------------------------------------------------

DAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("row", "passed", "field"),
    [
        ({"theory_score": "59.9", "skill_mandatory_score": "80", "skill_drawn_score": "80"},
         False, "theory_score"),
        ({"theory_score": "60", "skill_mandatory_score": "80", "skill_drawn_score": "80"},
         True, None),
        # 0.75 × 59.9 + 0.25 × 60 = 59.925 → 59.9: below
        ({"theory_score": "80", "skill_mandatory_score": "59.9", "skill_drawn_score": "60"},
         False, "skill_score"),
        # 0.75 × 60 + 0.25 × 59.9 = 59.975 → 60.0: passes
        ({"theory_score": "80", "skill_mandatory_score": "60", "skill_drawn_score": "59.9"},
         True, None),
        # a weak drawn part is carried by the mandatory part: 0.75 × 70 + 0.25 × 30 = 60
        ({"theory_score": "80", "skill_mandatory_score": "70", "skill_drawn_score": "30"},
         True, None),
        # the make-up attempt counts when the first failed
        ({"theory_score": "50", "theory_score_makeup": "60", "skill_mandatory_score": "80",
          "skill_drawn_score": "80"}, True, None),
        ({"theory_score": "50", "theory_score_makeup": "59.9", "skill_mandatory_score": "80",
          "skill_drawn_score": "80"}, False, "theory_score"),
        # the second skill retake is allowed, a fourth attempt is not a column at all
        ({"theory_score": "80", "skill_mandatory_score": "50", "skill_drawn_score": "50",
          "skill_mandatory_score_makeup": "55", "skill_drawn_score_makeup": "55",
          "skill_mandatory_score_makeup2": "62", "skill_drawn_score_makeup2": "60"}, True, None),
        ({}, False, "theory_score"),  # absent from both: the sitting is void
    ],
)  # fmt: skip
def test_k1_thresholds(row: dict[str, str], passed: bool, field: str | None) -> None:
    result = assess(load_kind("rescuer"), row, DAY)
    assert result.passed is passed, result.reasons
    if field is not None:
        assert result.reasons[0].field == field
    else:
        assert result.values["theory_score"] >= 60


@pytest.mark.parametrize("kind", ["special-ops", "safety-manager"])
@pytest.mark.parametrize(
    ("theory", "practical", "passed"),
    [("79.9", "80", False), ("80", "79.9", False), ("80", "80", True), ("100", "99.5", True)],
)
def test_k4_thresholds(kind: str, theory: str, practical: str, passed: bool) -> None:
    result = assess(load_kind(kind), {"theory_score": theory, "practical_score": practical}, DAY)
    assert result.passed is passed, result.reasons
    if not passed:
        assert "低于合格线 80" in result.reasons[0].zh


def test_k4_order_and_twelve_months() -> None:
    kind = load_kind("special-ops")
    base = {"theory_score": "85", "practical_score": "90"}
    ok = assess(kind, {**base, "theory_date": "2025-11-20", "practical_date": "2025-11-21"}, DAY)
    assert ok.passed, ok.reasons
    stale = assess(kind, {**base, "theory_date": "2025-11-19", "practical_date": "2025-11-21"}, DAY)
    assert [r.field for r in stale.reasons] == ["theory_date"]
    assert "超过12个月有效期" in stale.reasons[0].zh
    backwards = assess(
        kind, {**base, "theory_date": "2026-10-02", "practical_date": "2026-10-01"}, DAY
    )
    assert [r.field for r in backwards.reasons] == ["practical_date"]
    makeup = assess(
        kind,
        {**base, "practical_score": "70", "practical_score_makeup": "80",
         "theory_date": "2026-05-01", "practical_makeup_date": "2026-06-01"},
        DAY,
    )  # fmt: skip
    assert makeup.passed, makeup.reasons


def _k3(scores: list[str], years: list[int]) -> dict[str, str]:
    names = ["law", "management", "technology", "practice"]
    row = {}
    for name, score, year in zip(names, scores, years, strict=True):
        row[f"{name}_score"], row[f"{name}_year"] = score, str(year)
    return row


@pytest.mark.parametrize(
    ("scores", "years", "passed"),
    [
        (["60", "60", "60", "60"], [2023, 2024, 2025, 2026], True),  # 4 exam years
        (["60", "60", "60", "60"], [2022, 2024, 2025, 2026], False),  # 5 exam years
        (["59.9", "60", "60", "60"], [2026, 2026, 2026, 2026], False),
        (["免考", "60", "60", "60"], [2026, 2024, 2025, 2026], True),  # 1 exempt: 3 years
        (["免考", "60", "60", "60"], [2026, 2023, 2025, 2026], False),  # ... not 4
        (["免考", "免考", "60", "60"], [2026, 2026, 2025, 2026], True),  # 2 exempt: 2 years
        (["免考", "免考", "60", "60"], [2026, 2026, 2024, 2026], False),  # ... not 3
        (["免考", "免考", "免考", "60"], [2026, 2026, 2026, 2026], False),  # at most 2 exempt
    ],
)
def test_k3_rolling_window(scores: list[str], years: list[int], passed: bool) -> None:
    result = assess(load_kind("safety-engineer"), _k3(scores, years), DAY)
    assert result.passed is passed, result.reasons


def test_a_number_whose_certificate_cannot_be_made_is_void_not_skipped(
    rescuer_keys: Path, tmp_path: Path
) -> None:
    """A photo whose header reads but whose data does not decode passes the row check, so its
    number is allocated; the worker cannot make the certificate and the number is recorded
    void, with the reason. A repeat of a rejected row's candidate is not a repeat."""
    rows = sample_rows("rescuer", 5, AT.date(), seed=5)
    rows.append({**rows[1]})  # line 7 repeats line 3 ...
    rows[1]["theory_score"] = 40  # ... which is rejected: line 7 is issued
    results = _write("rescuer", rows, tmp_path / "in")
    jpeg = io.BytesIO()
    Image.new("RGB", (300, 420), (90, 140, 200)).save(jpeg, "JPEG")
    broken = results.parent / "photos" / f"{rows[3]['id_number']}.png"
    broken.unlink()
    (broken.with_suffix(".jpg")).write_bytes(jpeg.getvalue()[:700])
    summary = run_batch(_options(results, rescuer_keys, tmp_path, "void"))
    assert (summary.issued, summary.rejected, summary.void) == (4, 1, 1)
    with summary.reports.rejected_csv.open(encoding="utf-8-sig") as handle:
        refused = {int(r["行号 line"]): r for r in csv.DictReader(handle)}
    assert set(refused) == {3, 5}
    assert refused[3]["作废证书编号 voided number"] == ""
    void = refused[5]["作废证书编号 voided number"]
    assert void == f"{PREFIX}000003" and "作废" in refused[5]["原因 reason"]
    assert "photo" in refused[5]["reason"]
    issued = _serials(_manifest(summary))
    assert sorted([*issued, int(void[len(PREFIX) :])]) == [1, 2, 3, 4, 5]
    assert not (summary.out_dir / f"{void}.ofd").exists()
    with (
        Registry.open(f"sqlite:///{tmp_path / 'void' / 'registry.db'}") as registry,
        registry.reading() as session,
    ):
        voided = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "void-number")))
    assert len(voided) == 1 and void in voided[0].detail


def test_batch_numbers_on_both_registry_backends(
    db_url: str, rescuer_keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers, resume and reports are the same on SQLite and PostgreSQL."""
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    rows = sample_rows("rescuer", 6, AT.date(), seed=6)
    results = _write("rescuer", rows, tmp_path / "in")
    options = BatchOptions(
        **{**_options(results, rescuer_keys, tmp_path, "b").__dict__, "db": db_url}
    )
    first = run_batch(options)
    assert (first.issued, first.rejected) == (6, 0)
    assert _serials(_manifest(first)) == [1, 2, 3, 4, 5, 6]
    _check_manifest(first.out_dir, _manifest(first))
    again = run_batch(options)
    assert again.resumed and again.made_now == 0 and _manifest(again) == _manifest(first)
    with Registry.open(db_url) as registry, registry.reading() as session:
        assert len(list(session.scalars(select(CertificateRow)))) == 6
        assert verify_chain(session).ok


def test_sample_batch_bad_rows_are_the_rejected_ones(rescuer_keys: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        main, ["sample-batch", "--kind", "rescuer", "--rows", "12", "--bad", "4", "--out",
               str(tmp_path / "in"), "--at", AT.isoformat()],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    summary = run_batch(
        BatchOptions(
            results=tmp_path / "in" / "results.csv", kind="rescuer",
            photos=tmp_path / "in" / "photos", out_dir=tmp_path / "out",
            keys_dir=rescuer_keys, at=AT, db=f"sqlite:///{tmp_path / 'r.db'}", workers=1,
        )
    )  # fmt: skip
    assert (summary.issued, summary.rejected) == (8, 4)
    with summary.reports.rejected_csv.open(encoding="utf-8-sig") as handle:
        fields = sorted(r["字段 field"] for r in csv.DictReader(handle))
    assert fields == ["id_number", "id_number", "photo", "theory_score"]


def test_a_gb18030_csv_as_chinese_excel_saves_it(tmp_path: Path) -> None:
    from docgen.batch.results import ResultsFile

    text = "序号,姓名,证件号码,鉴定站点代码,理论知识考试成绩,"
    text += "操作技能必考部分成绩,操作技能抽考部分成绩\n"
    text += "1,王䶮,370202199006184524,S000037000101,80,70,90\n"
    path = tmp_path / "results.csv"
    path.write_bytes(text.encode("gb18030"))
    results = ResultsFile(path, load_kind("rescuer"))
    (line, row), *more = list(results.rows())
    assert not more and line == 2
    assert row["name"] == "王䶮" and row["theory_score"] == "80"
    assert results.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
