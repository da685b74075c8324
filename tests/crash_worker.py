"""Run by test_registry_crash.py in a child process: issue then correct one certificate,
killing itself with SIGKILL at the Nth crash point (an fsync, a rename, a commit), or
never with N = 0 (then it prints how many points there were)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.registry import Registry, lifecycle
from docgen.signing.keystore import KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

_count = 0


def _point(kill_at: int) -> None:
    global _count
    _count += 1
    if _count == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    db_url, keys, out, record_file, kill_at = sys.argv[1:6]
    kill = int(kill_at)
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        _point(kill)
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        _point(kill)
        real_replace(src, dst)
        _point(kill)

    os.fsync = fsync
    os.replace = replace  # type: ignore[assignment]
    event.listen(Session, "before_commit", lambda session: _point(kill))
    event.listen(Session, "after_commit", lambda session: _point(kill))

    record = json.loads(Path(record_file).read_text("utf-8"))
    sealer = Sealer(KeyStore.open(Path(keys)))
    issued_at = parse_at("2026-11-20T10:00:00")
    cert = validate_record(load_kind(record["kind"]), record, issued_at)
    with Registry.open(db_url) as registry:
        lifecycle.issue(registry, [cert], Path(out), sealer, operator="crash", at=issued_at)
        corrected = {**record, "work_type": "高压电工"}
        lifecycle.correct(
            registry,
            cert.number,
            corrected,
            sealer,
            operator="crash",
            at=parse_at("2026-11-21T10:00:00"),
        )
    print(_count)


if __name__ == "__main__":
    main()
