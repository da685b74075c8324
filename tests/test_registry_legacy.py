"""Legacy records, register export, schema upgrades: on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docgen.cli import main
from docgen.clock import parse_at
from docgen.identifiers import licence_identifier, parse_licence_identifier
from docgen.registry import Registry, SchemaError, Status, status_of
from docgen.registry import store as registry_store
from docgen.samples import sample_record

from .conftest import Sealed

HEADER = "kind,number,name,id_number,issuer,issuer_code,issue_date,first_issue_date,valid_to\n"
OLD = sample_record("special-ops")
OLD_ROW = (
    f"special-ops,T{OLD['id_number']},{OLD['name']},{OLD['id_number']},{OLD['issuer']},"
    f"{OLD['issuer_code']},2013-03-01,2013-03-01,2019-03-01\n"
)


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    return db_url


def test_bad_legacy_rows_are_named_and_nothing_is_imported(db: str, tmp_path: Path) -> None:
    register = tmp_path / "old.csv"
    register.write_text(
        HEADER
        + OLD_ROW
        + "skill,S1,李四,320102199207152421,某中心,12320000MB1A00015T,2012-13-01,,\n"
        + OLD_ROW,
        "utf-8",
    )
    result = cli("import-legacy", register, "--db", db)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"error: {register} row 3: id_number: '320102199207152421' is not a valid" in lines[0]
    assert any("row 3: issue_date: '2012-13-01' is not a date" in line for line in lines)
    assert any(f"row 4: number: T{OLD['id_number']} repeats row 2" in line for line in lines)
    assert cli("status", f"T{OLD['id_number']}", "--db", db).exit_code == 1  # nothing imported


def test_legacy_records_are_looked_up_by_number_and_replaced_by_an_e_certificate(
    db: str, tmp_path: Path, sealed: dict[str, Sealed]
) -> None:
    register = tmp_path / "old.csv"
    register.write_text(HEADER + OLD_ROW, "utf-8")
    assert cli("import-legacy", register, "--db", db, "--operator", "clerk").exit_code == 0
    number = f"T{OLD['id_number']}"
    then = cli("status", number, "--db", db, "--at", "2015-06-01", "--json")
    assert then.exit_code == 0 and json.loads(then.output)["status"] == "legacy"
    later = cli("status", number, "--db", db, "--at", "2026-11-20", "--json")
    assert later.exit_code == 1 and json.loads(later.output)["status"] == "expired"
    keys = sealed["special-ops"].store.folder
    refused = cli("reissue", number, "--db", db, "--keys", keys, "--at", "2026-11-20T10:00")
    assert refused.exit_code == 1 and "legacy paper record: give --data" in refused.output
    record = tmp_path / "record.json"
    record.write_text(json.dumps(OLD, ensure_ascii=False), "utf-8")
    result = cli(
        "reissue", number, "--data", record, "--db", db, "--keys", keys,
        "--at", "2026-11-20T10:00", "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{number} version 2:")
    with Registry.open(db) as registry, registry.reading() as session:
        now = parse_at("2026-11-21T10:00:00")
        current = status_of(session, number, now)
        type_code, issuer_code, serial, _ = parse_licence_identifier(current.identifier)
        first = licence_identifier(type_code, issuer_code, serial, 1)
        legacy = status_of(session, first, now)
    assert current.status is Status.VALID and current.version == 2 and not current.legacy
    assert legacy.status is Status.SUPERSEDED and legacy.legacy
    assert (tmp_path / "out" / f"{number}-v2.pdf").exists()


def test_export_is_idempotent_and_holds_the_core_items(db: str, tmp_path: Path) -> None:
    register = tmp_path / "old.csv"
    register.write_text(HEADER + OLD_ROW, "utf-8")
    assert cli("import-legacy", register, "--db", db, "--at", "2026-11-01T09:00").exit_code == 0
    first = cli("export", "--since", "2026-11-01", "--out", tmp_path / "a", "--db", db)
    again = cli("export", "--since", "2026-11-01", "--out", tmp_path / "b", "--db", db)
    assert first.exit_code == 0 and again.exit_code == 0
    for name in ("register-since-2026-11-01.json", "register-since-2026-11-01.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = list(
        csv.DictReader((tmp_path / "a/register-since-2026-11-01.csv").open(encoding="utf-8-sig"))
    )
    assert len(rows) == 1
    assert rows[0]["证照编号"] == f"T{OLD['id_number']}"
    assert rows[0]["持证主体代码"] == OLD["id_number"]
    assert rows[0]["有效期截止"] == "2019-03-01" and rows[0]["旧版证书"] == "True"
    assert rows[0]["证照标识"].startswith("1.2.156.3005.2.")
    none = cli("export", "--since", "2026-11-02", "--out", tmp_path / "c", "--db", db)
    assert none.output.startswith("0 certificate versions")


def test_an_older_schema_is_refused_until_upgraded(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Registry.open(db).close()  # the current schema
    newer = tmp_path / "migrations"
    shutil.copytree(registry_store._MIGRATIONS, newer)
    head = max(p.name.split("_")[0] for p in (newer / "versions").glob("0*.py"))
    (newer / "versions" / "9001_test.py").write_text(
        '"""A later schema (test)."""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "9001"\ndown_revision = "{head}"\nbranch_labels = None\n'
        "depends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    op.add_column("registry_meta", sa.Column("note", sa.Text))\n',
        "utf-8",
    )
    monkeypatch.setattr(registry_store, "_MIGRATIONS", newer)
    with pytest.raises(SchemaError, match=f"older schema {head}; this docgen needs 9001"):
        Registry.open(db)
    result = cli("status", "X1", "--db", db)
    assert result.exit_code == 1 and "run `docgen db upgrade`" in result.output
    assert cli("db", "upgrade", "--db", db).exit_code == 0
    Registry.open(db).close()
