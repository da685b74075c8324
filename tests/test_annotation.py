"""加注 part one: holder accounts and the annotation rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from docgen.annotation import (
    AnnotationRules,
    SignInError,
    annotate,
    certificates_of,
    register,
    sign_in,
)
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import NotFoundError, RefusedError, Registry, lifecycle
from docgen.samples import sample_record
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

from .conftest import AT, Sealed

SECRET = "correct horse battery"
KIND = "safety-engineer"


@pytest.fixture
def registry(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sealed: dict[str, Sealed]
) -> Any:
    """A registry holding the K3 sample (holder A) and a second K3 certificate (holder B)."""
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    other = {**sample_record(KIND), "name": "赵敏", "id_number": "320102199207152428"}
    other["number"] = "2025035100000000999"
    other["gender"] = "女"
    other["birth_date"] = "1992-07-15"
    certs = [
        validate_record(load_kind(KIND), record, AT) for record in (sample_record(KIND), other)
    ]
    with Registry.open(db_url) as opened:
        lifecycle.issue(opened, certs, tmp_path, Sealer(sealed[KIND].store), operator="o", at=AT)
        yield opened


def holder_a(registry: Registry) -> Any:
    record = sample_record(KIND)
    register(registry, record["id_number"], record["name"], SECRET, at=AT)
    return sign_in(registry, record["id_number"], SECRET, at=AT)


def day(d: date) -> Any:
    return parse_at(f"{d.isoformat()}T10:00:00")


def test_three_in_ninety_days(registry: Registry) -> None:
    holder = holder_a(registry)
    number = sample_record(KIND)["number"]
    d = date(2026, 12, 1)
    for offset in (0, 9, 31):
        made = annotate(
            registry, holder, number, scenario="本人调用", days=30, at=day(d + timedelta(offset))
        )
        assert made.valid_from == d + timedelta(offset)
        assert made.valid_to == d + timedelta(offset + 29)
    with pytest.raises(RefusedError, match=f"possible from {(d + timedelta(90)).isoformat()}"):
        annotate(registry, holder, number, scenario="本人调用", days=30, at=day(d + timedelta(89)))
    fourth = annotate(
        registry, holder, number, scenario="本人调用", days=90, at=day(d + timedelta(90))
    )
    assert fourth.valid_to == d + timedelta(90 + 89)
    for days in (0, 91):
        with pytest.raises(RefusedError, match="not within 1-90 days"):
            annotate(
                registry, holder, number, scenario="本人调用", days=days, at=day(d + timedelta(200))
            )
    with pytest.raises(RefusedError, match="scenario '单位调用' is not allowed"):
        annotate(registry, holder, number, scenario="单位调用", days=5, at=day(d + timedelta(200)))


def test_a_holder_sees_and_annotates_only_their_own(registry: Registry) -> None:
    holder = holder_a(registry)
    mine = certificates_of(registry, holder, AT)
    assert [c.number for c in mine] == [sample_record(KIND)["number"]]
    with pytest.raises(NotFoundError, match="you hold no certificate"):
        annotate(registry, holder, "2025035100000000999", scenario="本人调用", days=5, at=AT)
    with pytest.raises(RefusedError, match="no certificate in the registry has this ID number"):
        register(registry, "320102199207152428", sample_record(KIND)["name"], SECRET, at=AT)
    with pytest.raises(RefusedError, match="has an account already"):
        register(
            registry, sample_record(KIND)["id_number"], sample_record(KIND)["name"], SECRET, at=AT
        )


def test_wrong_secrets_are_counted_and_lock_the_account(registry: Registry, db_url: str) -> None:
    holder_a(registry)
    id_number = sample_record(KIND)["id_number"]
    for attempt in range(4):
        with pytest.raises(SignInError, match=r"wrong ID number or secret$"):
            sign_in(registry, id_number, f"guess {attempt}", at=AT)
    with pytest.raises(SignInError, match="now locked for 30 minutes"):
        sign_in(registry, id_number, "guess 5", at=AT)
    with pytest.raises(SignInError, match=r"locked .* until"):
        sign_in(registry, id_number, SECRET, at=AT + timedelta(minutes=29))
    assert sign_in(registry, id_number, SECRET, at=AT + timedelta(minutes=31))
    with pytest.raises(SignInError, match="wrong ID number or secret"):
        sign_in(registry, "110101199003074477", SECRET, at=AT)
    with registry.reading() as session:  # the secret is nowhere in the database
        dump = " ".join(
            str(v)
            for table in ("holders", "audit_log", "registry_meta")
            for row in session.execute(text(f"SELECT * FROM {table}"))
            for v in row
        )
    assert SECRET not in dump and "$argon2id$" in dump


def test_a_revoked_certificate_cannot_be_annotated(registry: Registry) -> None:
    holder = holder_a(registry)
    number = sample_record(KIND)["number"]
    lifecycle.revoke(registry, number, reason="伪造", operator="o", at=AT)
    with pytest.raises(RefusedError, match=r"revoked .* cannot be annotated"):
        annotate(registry, holder, number, scenario="本人调用", days=5, at=AT + timedelta(days=1))


def test_kinds_without_annotation_and_exempt_certificates() -> None:
    assert AnnotationRules.of(load_kind("skill")) is None
    rules = AnnotationRules.of(load_kind(KIND))
    assert rules is not None
    association, agency = "51100000500000138K", "11100000000019001E"
    assert rules.exemption(date(2021, 12, 16), association) is not None
    assert rules.exemption(date(2021, 12, 17), association) is None
    assert rules.exemption(date(2020, 1, 1), agency) is None


def test_holder_commands_never_show_the_secret(
    registry: Registry, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from docgen.cli import main

    record = sample_record(KIND)
    monkeypatch.setenv("MY_SECRET", SECRET)
    runner = CliRunner()
    who = ("--id-number", record["id_number"], "--secret-env", "MY_SECRET", "--db", db_url)
    made = runner.invoke(main, ["holder", "register", "--name", record["name"], *who])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(main, ["holder", "certificates", *who, "--at", "2026-11-21T10:00"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{record['number']} version 1 (safety-engineer): 有效")
    assert "2025035100000000999" not in listed.output  # holder B's certificate
    monkeypatch.setenv("MY_SECRET", "not the secret")
    wrong = runner.invoke(main, ["holder", "certificates", *who])
    assert wrong.exit_code == 1 and wrong.output == "error: wrong ID number or secret\n"
    assert SECRET not in made.output + listed.output + wrong.output


@pytest.mark.parametrize("kind", ["safety-engineer", "skill"])
def test_verify_says_when_a_kind_is_shown_only_annotated(
    kind: str, sealed: dict[str, Sealed]
) -> None:
    import json

    from click.testing import CliRunner

    from docgen.cli import main

    trust = str(sealed[kind].store.folder / "trust.json")
    result = CliRunner().invoke(
        main, ["verify", str(sealed[kind].pdf_path), "--trust", trust, "--json"]
    )
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["verdict"] == "authentic"
    notes = [c["detail"] for c in report["checks"] if c["name"] == "annotation"]
    if kind == "safety-engineer":
        assert len(notes) == 1 and "加注: 本人调用, at most 90 days" in notes[0]
    else:
        assert notes == []
