"""The registry on SQLite and PostgreSQL: lifecycle rules, status, audit chain, bad input."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from docgen.cli import main
from docgen.clock import parse_at
from docgen.identifiers import parse_licence_identifier
from docgen.kinds import load_kind
from docgen.registry import (
    NotFoundError,
    RefusedError,
    Registry,
    RegistryError,
    SchemaError,
    Status,
    lifecycle,
    status_of,
)
from docgen.registry.audit import verify_chain
from docgen.samples import sample_record
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

from .conftest import Sealed

AT = parse_at("2026-11-20T10:00:00+08:00")


def at(day: str) -> Any:
    return parse_at(f"{day}T12:00:00+08:00")


@pytest.fixture
def registry(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    with Registry.open(db_url) as opened:
        yield opened


def issue(
    registry: Registry, sealed: dict[str, Sealed], kind: str, out: Path, **changes: Any
) -> lifecycle.Written:
    record = {**sample_record(kind), **changes}
    cert = validate_record(load_kind(kind), record, AT)
    sealer = Sealer(sealed[kind].store)
    [written] = lifecycle.issue(registry, [cert], out, sealer, operator="alice", at=AT)
    return written


def status(registry: Registry, query: str, when: Any) -> Any:
    with registry.reading() as session:
        return status_of(session, query, when)


def test_issue_records_rows_and_files_that_agree(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    written = issue(registry, sealed, "skill", tmp_path / "out")
    answer = status(registry, written.number, AT)
    assert answer.status is Status.VALID and answer.version == 1
    assert answer.id_masked.startswith(sample_record("skill")["id_number"][:6])
    assert "*" in answer.id_masked and answer.holder == sample_record("skill")["name"]
    with registry.reading() as session:
        row = session.execute(
            text("SELECT ofd_sha256, pdf_sha256, id_hash, record FROM certificates")
        ).one()
    assert row.ofd_sha256 == hashlib.sha256(written.ofd.read_bytes()).hexdigest()
    assert row.pdf_sha256 == hashlib.sha256(written.pdf.read_bytes()).hexdigest()
    id_number = sample_record("skill")["id_number"]
    assert id_number not in json.dumps([row.id_hash, str(row.record)])  # never in clear
    assert row.id_hash == registry.key.id_hash(id_number)
    assert not list(written.ofd.parent.glob(".*"))  # no staged leftovers


def test_a_number_is_registered_once(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    issue(registry, sealed, "skill", tmp_path / "a")
    with pytest.raises(RefusedError, match="already registered"):
        issue(registry, sealed, "skill", tmp_path / "b")
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").iterdir())


def test_revoke_then_status_says_revoked_with_reason(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    written = issue(registry, sealed, "skill", tmp_path)
    lifecycle.revoke(
        registry, written.number, reason="证书信息造假", operator="bob", at=at("2026-12-01")
    )
    answer = status(registry, written.number, at("2026-12-02"))
    assert answer.status is Status.REVOKED and not answer.valid
    assert answer.reason == "证书信息造假"
    assert "revoked on 2026-12-01: 证书信息造假" in answer.sentence()
    assert status(registry, written.number, at("2026-11-30")).status is Status.VALID
    with pytest.raises(RefusedError, match="revoked"):
        lifecycle.revoke(
            registry, written.number, reason="again", operator="bob", at=at("2026-12-03")
        )
    with pytest.raises(RefusedError, match="reason"):
        lifecycle.revoke(registry, written.number, reason=" ", operator="bob", at=at("2026-12-03"))


def test_correct_makes_a_new_version_pointing_at_the_old(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    old = issue(registry, sealed, "skill", tmp_path)
    record = {**sample_record("skill"), "work_type": "高压电工"}
    new = lifecycle.correct(
        registry,
        old.number,
        record,
        Sealer(sealed["skill"].store),
        operator="carol",
        at=at("2026-12-01"),
        reason="工种更正",
    )
    assert new.version == 2 and new.ofd.name.endswith("-v2.ofd") and old.ofd.exists()
    assert (
        parse_licence_identifier(new.identifier)[3]
        == parse_licence_identifier(old.identifier)[3] + 1
    )
    with registry.reading() as session:
        related = session.execute(
            text("SELECT related_identifier FROM certificates WHERE version = 2")
        ).scalar_one()
    assert related == old.identifier
    before = status(registry, old.identifier, at("2026-12-02"))
    assert before.status is Status.SUPERSEDED and new.identifier in (before.superseded_by or "")
    assert status(registry, old.number, at("2026-12-02")).version == 2
    assert status(registry, new.identifier, at("2026-12-02")).status is Status.VALID


def test_reissue_repeats_the_data_in_a_new_version(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    old = issue(registry, sealed, "rescuer", tmp_path)
    new = lifecycle.reissue(
        registry, old.number, Sealer(sealed["rescuer"].store), operator="d", at=at("2027-01-05")
    )
    assert new.version == 2
    assert status(registry, old.identifier, at("2027-01-06")).status is Status.SUPERSEDED
    answer = status(registry, old.number, at("2027-01-06"))
    assert answer.status is Status.VALID and answer.issue_date == date(2026, 10, 9)


def test_review_window_and_its_effect(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    written = issue(registry, sealed, "special-ops", tmp_path)
    first = date.fromisoformat(sample_record("special-ops")["first_issue_date"])
    due = date(first.year + 3, first.month, first.day)
    sealer = Sealer(sealed["special-ops"].store)

    def review_on(day: date, **options: Any) -> Any:
        return lifecycle.review(
            registry,
            written.number,
            sealer,
            operator="e",
            at=parse_at(f"{day.isoformat()}T09:00:00"),
            **options,
        )

    with pytest.raises(RefusedError, match="review opens"):
        review_on(due - timedelta(days=61))
    with pytest.raises(RefusedError, match="clean-record extension needs 10 years"):
        review_on(due - timedelta(days=60), clean_record=True)
    reviewed = review_on(due - timedelta(days=60))
    between = status(registry, written.number, parse_at(f"{due - timedelta(days=30)}T12:00:00"))
    assert between.status is Status.VALID and between.version == 2  # no gap before the old due
    answer = status(registry, reviewed.identifier, parse_at(f"{due.isoformat()}T12:00:00"))
    assert answer.status is Status.VALID and answer.version == 2
    assert answer.review_date == date(due.year + 3, due.month, due.day)
    assert answer.valid_to == date(due.year + 6, due.month, due.day)
    with registry.reading() as session:
        first_issue = session.execute(
            text("SELECT first_issue_date FROM certificates WHERE version = 2")
        ).scalar_one()
    assert str(first_issue) == first.isoformat()  # 初领日期 never changes


def test_review_overdue_and_expiry_are_answered_from_the_dates(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    written = issue(registry, sealed, "safety-manager", tmp_path)
    valid_to = status(registry, written.number, AT).valid_to
    assert valid_to is not None
    last = parse_at(f"{valid_to.isoformat()}T23:59:59")
    assert status(registry, written.number, last).status is Status.VALID
    after = status(registry, written.number, last + timedelta(seconds=1))
    assert after.status is Status.EXPIRED and "expired" in after.sentence()
    special = issue(registry, sealed, "special-ops", tmp_path)
    due = status(registry, special.number, AT).review_date
    assert due is not None
    overdue = status(registry, special.number, parse_at(f"{due + timedelta(days=1)}T08:00:00"))
    assert overdue.status is Status.REVIEW_OVERDUE


def test_extend_moves_the_end_of_validity(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    sealer = Sealer(sealed["rescuer"].store)
    forever = issue(registry, sealed, "rescuer", tmp_path / "a")
    with pytest.raises(RefusedError, match="长期"):
        lifecycle.extend(registry, forever.number, sealer, operator="f", at=at("2027-01-01"))
    limited = issue(
        registry,
        sealed,
        "rescuer",
        tmp_path / "b",
        number="S000037000101255000313",
        valid_to="2027-06-30",
    )
    extended = lifecycle.extend(registry, limited.number, sealer, operator="f", at=at("2027-06-01"))
    assert status(registry, extended.identifier, at("2027-06-02")).valid_to == date(2030, 6, 30)
    with pytest.raises(RefusedError, match="has no review"):
        lifecycle.review(registry, limited.number, sealer, operator="f", at=at("2027-06-03"))


def test_an_edited_audit_row_is_named(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path, db_url: str
) -> None:
    written = issue(registry, sealed, "skill", tmp_path)
    lifecycle.revoke(registry, written.number, reason="错误签发", operator="g", at=at("2026-12-01"))
    with registry.reading() as session:
        assert verify_chain(session).ok
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET operator = 'mallory' WHERE id = 1"))
    engine.dispose()
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db_url])
    assert result.exit_code == 1
    assert result.output.strip() == "error: audit log broken at row 1: its content was changed"


def test_cutting_the_last_audit_row_is_found(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path, db_url: str
) -> None:
    written = issue(registry, sealed, "skill", tmp_path)
    lifecycle.revoke(registry, written.number, reason="错误签发", operator="g", at=at("2026-12-01"))
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 2"))
    engine.dispose()
    with registry.reading() as session:
        check = verify_chain(session)
    assert not check.ok and "removed from the end" in check.reason


def test_bad_queries_are_one_line_errors(registry: Registry, db_url: str) -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["status", "S000000000000000000000", "--db", db_url])
    assert unknown.exit_code == 1
    assert unknown.output == "error: S000000000000000000000: no such certificate in the registry\n"
    qr = runner.invoke(main, ["status", "EC1:%%%", "--db", db_url])
    assert qr.exit_code == 1 and qr.output.startswith("error: the QR text is not readable")
    assert qr.output.count("\n") == 1
    with pytest.raises(NotFoundError, match="not a certificate number"):
        status(registry, "两个字", AT)


def test_an_unreachable_registry_is_one_line() -> None:
    result = CliRunner().invoke(
        main, ["status", "X1", "--db", "postgresql+psycopg://nobody@127.0.0.1:9/none"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot reach the registry at postgresql+psycopg://")
    assert result.output.count("\n") == 1
    bad = CliRunner().invoke(main, ["status", "X1", "--db", "mysql://x@y/z"])
    assert bad.exit_code == 1 and "not supported" in bad.output


def test_schema_newer_than_the_program_is_refused(db_url: str, tmp_path: Path) -> None:
    key = tmp_path / "k"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(key))
        Registry.open(db_url).close()
        engine = create_engine(db_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        engine.dispose()
        with pytest.raises(SchemaError, match="newer version"):
            Registry.open(db_url)


def test_a_wrong_registry_key_is_refused(db_url: str, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "a.key"))
        Registry.open(db_url).close()
        (tmp_path / "b.key").write_text("00" * 32)
        patch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "b.key"))
        with pytest.raises(RegistryError, match="is not this registry's key"):
            Registry.open(db_url)


def test_concurrent_writers_keep_one_chain_and_distinct_status_indexes(
    db_url: str, sealed: dict[str, Sealed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four writers, each with its own connection pool, issue and revoke at once."""
    import threading

    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    Registry.open(db_url).close()
    base = sample_record("skill")["number"]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            number = base[:-2] + f"{n:02d}"
            with Registry.open(db_url) as own:
                issue(own, sealed, "skill", tmp_path / f"w{n}", number=number)
                lifecycle.revoke(own, number, reason=f"test {n}", operator=f"w{n}", at=AT)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with Registry.open(db_url) as registry, registry.reading() as session:
        check = verify_chain(session)
        indexes = session.execute(text("SELECT status_index FROM certificates")).scalars().all()
    assert check.ok and check.rows == 8
    assert sorted(indexes) == [0, 1, 2, 3]


def test_lifecycle_commands_print_the_new_version_or_one_line_why_not(
    registry: Registry, sealed: dict[str, Sealed], tmp_path: Path, db_url: str
) -> None:
    old = issue(registry, sealed, "skill", tmp_path)
    keys = str(sealed["skill"].store.folder)
    corrected = tmp_path / "corrected.json"
    corrected.write_text(
        json.dumps({**sample_record("skill"), "work_type": "高压电工"}, ensure_ascii=False)
    )
    common = ["--db", db_url, "--keys", keys, "--operator", "clerk"]
    runner = CliRunner()
    result = runner.invoke(
        main, ["correct", old.number, "--data", str(corrected), *common, "--at", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{old.number} version 2: 1.2.156.3005.2.")
    assert lines[1].endswith(f"{old.number}-v2.ofd") and Path(lines[2]).is_file()
    for command, reason in (
        ("review", "has no review"),
        ("extend", "has no extension (延期)"),
    ):
        refused = runner.invoke(main, [command, old.number, *common, "--at", "2026-12-02"])
        assert refused.exit_code == 1 and refused.output.count("\n") == 1, refused.output
        assert reason in refused.output
    missing = runner.invoke(main, ["reissue", "S999", *common])
    assert missing.output == "error: S999: no such certificate in the registry\n"
