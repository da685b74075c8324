"""The docgen command line: sample → issue, refusals that write nothing, determinism."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from docgen.cli import main
from docgen.kinds import KIND_NAMES

from .conftest import run

AT = "2026-11-20T10:00:00"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sample(kind: str) -> dict[str, Any]:
    result = invoke("sample", "--kind", kind)
    assert result.exit_code == 0
    record: dict[str, Any] = json.loads(result.output)
    return record


def write(path: Path, record: Any) -> Path:
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_sample_then_issue_writes_ofd_and_pdf_named_by_number(kind: str, tmp_path: Path) -> None:
    record = sample(kind)
    data = write(tmp_path / "record.json", record)
    result = invoke(
        "issue", "--unsigned", "--kind", kind, "--data", data, "--out", tmp_path / "out", "--at", AT
    )
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.output.splitlines()]
    assert [p.suffix for p in paths] == [".ofd", ".pdf"]
    assert all(p.is_file() and p.parent == tmp_path / "out" for p in paths)
    assert paths[0].read_bytes()[:2] == b"PK" and paths[1].read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


BAD_RECORDS = {
    "bad ID check digit": ({"id_number": "320102199207152421"}, "id_number"),
    "level digit disagrees": ({"level": "二级/技师"}, "number"),
    "missing photo": ({"photo": None}, "photo"),
    "date in the future": ({"issue_date": "2030-01-01"}, "issue_date"),
    "unknown kind in the record": ({"kind": "pilot"}, "kind"),
}


@pytest.mark.parametrize("case", BAD_RECORDS)
def test_invalid_records_exit_non_zero_naming_the_field_and_write_nothing(
    case: str, tmp_path: Path
) -> None:
    changes, field = BAD_RECORDS[case]
    record = sample("skill")
    for key, value in changes.items():
        if value is None:
            record.pop(key)
        else:
            record[key] = value
    data = write(tmp_path / "bad.json", record)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("already here")
    before = snapshot(out)
    result = CliRunner().invoke(
        main, ["issue", "--unsigned", "--data", str(data), "--out", str(out), "--at", AT]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines and all(line.startswith(f"error: {data}: ") for line in lines)
    assert any(line.startswith(f"error: {data}: {field}: ") for line in lines), lines
    assert snapshot(out) == before


def test_an_unknown_kind_option_is_a_usage_error(tmp_path: Path) -> None:
    data = write(tmp_path / "r.json", sample("skill"))
    result = CliRunner().invoke(
        main, ["issue", "--kind", "pilot", "--data", str(data), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "--kind" in result.output and "pilot" in result.output
    assert not (tmp_path / "out").exists()


def test_a_bad_issue_time_is_a_usage_error(tmp_path: Path) -> None:
    data = write(tmp_path / "r.json", sample("skill"))
    result = CliRunner().invoke(
        main,
        ["issue", "--unsigned", "--data", str(data), "--out", str(tmp_path), "--at", "yesterday"],
    )
    assert result.exit_code == 2 and "--at" in result.output


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "r.json"
    data.write_text('{"name": "x",\n "id_number": }', "utf-8")
    result = CliRunner().invoke(
        main, ["issue", "--unsigned", "--data", str(data), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "line 2" in result.output


def test_a_batch_with_one_bad_record_writes_nothing(tmp_path: Path) -> None:
    good, bad = sample("skill"), sample("special-ops")
    bad["item"] = "司钻作业"
    data = write(tmp_path / "batch.json", [good, bad])
    result = CliRunner().invoke(
        main,
        ["issue", "--unsigned", "--data", str(data), "--out", str(tmp_path / "out"), "--at", AT],
    )
    assert result.exit_code == 1
    assert f"error: {data}[1]: item: " in result.output
    assert not (tmp_path / "out").exists()


def test_a_batch_of_every_kind_is_issued(tmp_path: Path) -> None:
    data = write(tmp_path / "batch.json", [sample(k) for k in KIND_NAMES])
    result = invoke("issue", "--unsigned", "--data", data, "--out", tmp_path / "out", "--at", AT)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").iterdir())) == 2 * len(KIND_NAMES)


def test_existing_files_are_kept_unless_overwrite(tmp_path: Path) -> None:
    data = write(tmp_path / "r.json", sample("skill"))
    out = tmp_path / "out"
    assert invoke("issue", "--unsigned", "--data", data, "--out", out, "--at", AT).exit_code == 0
    before = snapshot(out)
    again = CliRunner().invoke(
        main,
        [
            "issue",
            "--unsigned",
            "--data",
            str(data),
            "--out",
            str(out),
            "--at",
            "2026-11-21T09:00:00",
        ],
    )
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert snapshot(out) == before
    forced = invoke(
        "issue",
        "--unsigned",
        "--data",
        data,
        "--out",
        out,
        "--at",
        "2026-11-21T09:00:00",
        "--overwrite",
    )
    assert forced.exit_code == 0 and snapshot(out) != before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_same_record_and_time_give_byte_identical_files(tmp_path: Path) -> None:
    for kind in ("skill", "special-ops"):
        data = write(tmp_path / f"{kind}.json", sample(kind))
        first = invoke("issue", "--unsigned", "--data", data, "--out", tmp_path / "a", "--at", AT)
        second = invoke("issue", "--unsigned", "--data", data, "--out", tmp_path / "b", "--at", AT)
        assert first.exit_code == second.exit_code == 0
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert a == b and len(a) == 4
    later = invoke(
        "issue",
        "--unsigned",
        "--data",
        tmp_path / "skill.json",
        "--out",
        tmp_path / "c",
        "--at",
        "2026-11-20T10:00:01",
    )
    assert later.exit_code == 0
    c = snapshot(tmp_path / "c")
    assert all(c[name] != a[name] for name in c)  # the issue time is in both files


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("docgen")
    result = run(script, "sample", "--kind", "special-ops")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "special-ops"


def test_each_command_is_in_the_module_the_table_names_and_loaded_only_when_asked() -> None:
    """`docgen` imports a command's module when the command is asked for
    (COMMAND_MODULES): the table names every command, and `docgen verify` loads none of
    the issuing, batch or registry commands."""
    script = """
import sys, click
from docgen.cli import main
from docgen.cli.common import COMMAND_MODULES
ctx = click.Context(main)
main.get_command(ctx, "verify")
print(sorted(m for m in sys.modules if m.startswith("docgen.cli.")))
names = main.list_commands(ctx)
print(sorted(names) == sorted(COMMAND_MODULES))
print(all(
    main.commands[n].callback.__module__ == "docgen.cli." + COMMAND_MODULES[n] for n in names
))
"""
    done = run(sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    loaded, same_names, same_modules = done.stdout.splitlines()
    assert loaded == "['docgen.cli.common', 'docgen.cli.verifying']"
    assert same_names == "True" and same_modules == "True"
