"""Registry status look-ups: how many per second, and p50/p99 latency, by registry size.

Fills a fresh registry per backend with N synthetic certificate versions (a bulk insert:
the rows of ``docgen issue`` without rendering; every 50th revoked, every 20th with a
second version), then answers ``status_of`` for random numbers, each in its own read
transaction as the CLI and a web request do. SQLite is a file in a temporary folder;
PostgreSQL is a throw-away cluster (tests/pgcluster.py) unless ``--pg URL`` is given.
Prints JSON.

    .venv/bin/python bench/registry.py [--sizes 10000 100000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docgen.identifiers import licence_identifier  # noqa: E402
from docgen.registry import Registry, status_of  # noqa: E402
from docgen.registry.models import CertificateRow, IssuingBody, StatusChange  # noqa: E402

TYPE_CODE = "11100000000018002A001"
ISSUER = "12320000MB1A00015T"
AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
_CHUNK = 5000


def fill(registry: Registry, size: int) -> list[str]:
    """Insert ``size`` certificate versions; returns their numbers."""
    numbers: list[str] = []
    with registry.writing() as session:
        body = IssuingBody(
            code=ISSUER, name="江苏省职业技能鉴定中心", next_status_index=0, created_at=AT
        )
        session.add(body)
        session.flush()
        body_id = body.id
    key = registry.key
    next_id = 1
    for start in range(0, size, _CHUNK):
        rows: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for i in range(start, min(size, start + _CHUNK)):
            number = f"S{i:021d}"
            numbers.append(number)
            revoked = i % 50 == 0
            rows.append(
                {
                    "id": next_id,
                    "identifier": licence_identifier(TYPE_CODE, ISSUER, number, 1),
                    "kind": "skill",
                    "number": number,
                    "version": 1,
                    "holder_name": "李晓堃",
                    "id_hash": key.id_hash(f"32010219920715{i % 10000:04d}"),
                    "id_masked": "320102********2428",
                    "issuer_id": body_id,
                    "issue_date": date(2025, 4, 18),
                    "state": "revoked" if revoked else "active",
                    "legacy": False,
                    "status_index": i,
                    "ofd_sha256": "0" * 64,
                    "pdf_sha256": "0" * 64,
                    "created_at": AT,
                    "changed_at": AT,
                }
            )
            changes.append(
                {
                    "certificate_id": next_id,
                    "at": AT,
                    "action": "issue",
                    "state": "active",
                    "operator": "bench",
                }
            )
            if revoked:
                changes.append(
                    {
                        "certificate_id": next_id,
                        "at": AT + timedelta(days=1),
                        "action": "revoke",
                        "state": "revoked",
                        "reason": "bench",
                        "operator": "bench",
                    }
                )
            next_id += 1
        with registry.writing() as session:
            session.execute(insert(CertificateRow), rows)
            session.execute(insert(StatusChange), changes)
    return numbers


def measure(registry: Registry, numbers: list[str], lookups: int) -> dict[str, Any]:
    chooser = random.Random(7)
    at = AT + timedelta(days=30)
    for number in chooser.sample(numbers, min(200, len(numbers))):  # warm-up
        with registry.reading() as session:
            status_of(session, number, at)
    latencies = []
    started = time.perf_counter()
    for _ in range(lookups):
        number = chooser.choice(numbers)
        t0 = time.perf_counter()
        with registry.reading() as session:
            answer = status_of(session, number, at)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert answer.number == number
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "lookups": lookups,
        "per_second": round(lookups / wall, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL to use (default: start one)")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DOCGEN_REGISTRY_KEY_FILE"] = str(Path(folder) / "registry.key")
        cluster = None
        if args.pg is None:
            from tests.pgcluster import PgCluster

            cluster = PgCluster()
        try:
            for size in args.sizes:
                urls = {"sqlite": f"sqlite:///{folder}/bench-{size}.db"}
                urls["postgresql"] = cluster.database() if cluster else args.pg
                for backend, url in urls.items():
                    with Registry.open(url) as registry:
                        t0 = time.perf_counter()
                        numbers = fill(registry, size)
                        filled = time.perf_counter() - t0
                        result = measure(registry, numbers, args.lookups)
                    results.append(
                        {
                            "backend": backend,
                            "certificates": size,
                            "fill_s": round(filled, 1),
                            **result,
                        }
                    )
                    print(json.dumps(results[-1]), file=sys.stderr)
        finally:
            if cluster is not None:
                cluster.stop()
    print(json.dumps({"status_lookups": results}, indent=2))


if __name__ == "__main__":
    main()
