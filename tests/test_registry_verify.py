"""Status in verification: the registry online, a signed status list offline, the same answer."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docgen.cli import main
from docgen.kinds import load_kind
from docgen.registry import Registry, lifecycle
from docgen.samples import sample_record
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

from .conftest import AT, Sealed

DAY_AFTER = "2026-11-22T12:00:00"


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def revoked(
    db_url: str, sealed: dict[str, Sealed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A sealed skill certificate, issued, listed (valid), revoked, listed again."""
    monkeypatch.setenv("DOCGEN_REGISTRY_KEY_FILE", str(tmp_path / "registry.key"))
    store = sealed["skill"].store
    cert = validate_record(load_kind("skill"), sample_record("skill"), AT)
    with Registry.open(db_url) as registry:
        [written] = lifecycle.issue(
            registry, [cert], tmp_path / "out", Sealer(store), operator="alice", at=AT
        )
    keys = str(store.folder)

    def export(name: str, when: str) -> Path:
        out = tmp_path / name
        result = cli(
            "status-list", "export", "--keys", keys, "--out", out, "--db", db_url,
            "--at", when, "--valid-hours", "24",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return out

    before = export("before.cose", "2026-11-21T09:00:00")
    result = cli(
        "revoke", written.number, "--reason", "考试作弊", "--db", db_url,
        "--at", "2026-11-21T15:00:00", "--operator", "bob",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = export("after.cose", "2026-11-22T09:00:00")
    return {
        "pdf": written.pdf,
        "ofd": written.ofd,
        "trust": str(store.folder / "trust.json"),
        "db": db_url,
        "before": before,
        "after": after,
    }


def verify(case: dict[str, Any], *options: str, at: str = DAY_AFTER, path: str = "pdf") -> Any:
    return CliRunner().invoke(
        main,
        ["verify", str(case[path]), "--trust", case["trust"], "--at", at, "--json", *options],
    )


def test_status_says_revoked_with_reason(revoked: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        main, ["status", str(revoked["pdf"].stem), "--db", revoked["db"], "--at", DAY_AFTER]
    )
    assert result.exit_code == 1
    assert "已撤销 revoked on 2026-11-21: 考试作弊" in result.output


@pytest.mark.parametrize("path", ["pdf", "ofd"])
def test_registry_and_status_list_both_say_authentic_but_revoked(
    revoked: dict[str, Any], path: str
) -> None:
    online = verify(revoked, "--db", revoked["db"], path=path)
    offline = verify(revoked, "--status-list", str(revoked["after"]), path=path)
    for result in (online, offline):
        report = json.loads(result.output)
        assert result.exit_code == 1, result.output
        assert report["verdict"] == "authentic" and report["valid"] is False
        assert report["failed_steps"] == ["status"]
        failing = [c for c in report["checks"] if c["ok"] is False]
        assert len(failing) == 1
        assert "已撤销 revoked on 2026-11-21: 考试作弊" in failing[0]["detail"]
    assert json.loads(online.output)["registry_status"]["status"] == "revoked"


def test_without_registry_or_list_the_offline_verdict_stands(revoked: dict[str, Any]) -> None:
    result = verify(revoked)
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["valid"] is True
    assert any(c["name"] == "not_checked" for c in report["checks"])


def test_before_the_revocation_both_say_valid(revoked: dict[str, Any]) -> None:
    at = "2026-11-21T10:00:00"
    assert verify(revoked, "--db", revoked["db"], at=at).exit_code == 0
    assert verify(revoked, "--status-list", str(revoked["before"]), at=at).exit_code == 0


def test_a_stale_list_is_reported_not_trusted(revoked: dict[str, Any]) -> None:
    result = verify(revoked, "--status-list", str(revoked["before"]))  # next update was due
    report = json.loads(result.output)
    assert result.exit_code == 2 and report["valid"] is None
    assert any("stale" in c["detail"] for c in report["checks"] if c["step"] == "status")


def test_a_list_with_a_flipped_byte_is_reported_not_trusted(
    revoked: dict[str, Any], tmp_path: Path
) -> None:
    data = bytearray(revoked["after"].read_bytes())
    outcomes = set()
    for position in range(0, len(data), 7):  # every 7th byte, each flipped on its own
        changed = bytearray(data)
        changed[position] ^= 0x01
        bad = tmp_path / f"flipped-{position}.cose"
        bad.write_bytes(bytes(changed))
        result = verify(revoked, "--status-list", str(bad))
        report = json.loads(result.output)
        status = [c for c in report["checks"] if c["step"] == "status"]
        assert result.exit_code == 2, (position, status)
        assert report["valid"] is None and all(c["ok"] is None for c in status)
        outcomes.add(status[0]["detail"].split(":")[1].strip())
    assert any("signature" in o for o in outcomes)


def test_a_list_signed_by_another_body_is_not_trusted(
    revoked: dict[str, Any], sealed: dict[str, Sealed], tmp_path: Path
) -> None:
    from docgen.registry.statuslist import build_status_list
    from docgen.signing.statuslist import sign_status_list

    skill_code = sample_record("skill")["issuer_code"]
    with Registry.open(revoked["db"]) as registry, registry.reading() as session:
        built = build_status_list(session, skill_code, AT, AT.replace(year=2027))
    other = sealed["rescuer"].store  # a trusted body, but not the skill certificate's
    forged = tmp_path / "forged.cose"
    forged.write_bytes(sign_status_list(built, other.signer("ecdsa")))
    result = cli(
        "verify", revoked["pdf"], "--trust", revoked["trust"],
        "--trust", other.folder / "trust.json", "--at", DAY_AFTER, "--json",
        "--status-list", forged,
    )  # fmt: skip
    report = json.loads(result.output)
    assert result.exit_code == 2 and report["valid"] is None
    [check] = [c for c in report["checks"] if c["step"] == "status"]
    assert "signed by another body" in check["detail"]


def test_verify_with_an_unreachable_registry_is_one_line(revoked: dict[str, Any]) -> None:
    result = verify(revoked, "--db", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert result.exit_code == 2
    assert result.output.startswith("error: --db: cannot reach the registry")
    assert result.output.count("\n") == 1


def test_review_overdue_is_read_from_the_signed_qr_offline(sealed: dict[str, Sealed]) -> None:
    special = sealed["special-ops"]
    trust = str(special.store.folder / "trust.json")
    due = special.rendered.certificate.values["review_date"]
    on_time = cli("verify", special.pdf_path, "--trust", trust, "--at", f"{due}T12:00", "--json")
    late = cli(
        "verify", special.pdf_path, "--trust", trust, "--json",
        "--at", (due + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert on_time.exit_code == 0, on_time.output
    report = json.loads(late.output)
    assert late.exit_code == 1 and report["verdict"] == "authentic" and report["valid"] is False
    assert report["certificate"]["review_date"] == due.isoformat()
    assert any("逾期未复审" in c["detail"] for c in report["checks"] if c["ok"] is False)
