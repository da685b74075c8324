"""Issuing speed: validate, lay out, write OFD and PDF, per certificate, per kind.

Prints JSON: the cold first certificate (fonts loaded then) and, over ``--n`` more records
per kind, median and p95 milliseconds of each stage, plus certificates per second.

    .venv/bin/python bench/issue.py --n 40
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

from docgen.clock import parse_at
from docgen.kinds import KIND_NAMES, load_kind
from docgen.layout import build_layout
from docgen.ofd import write_ofd
from docgen.pdf import render_pdf
from docgen.samples import sample_record
from docgen.validation import validate_record

T = TypeVar("T")
AT = parse_at("2026-11-20T10:00:00")
NAMES = ["李晓堃", "王䶮", "欧阳明远", "张𠈌", "赵敏", "买买提·艾力", "司马相如", "陈"]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def one(kind: str, name: str) -> dict[str, float]:
    spec = load_kind(kind)
    record = sample_record(kind)
    record["name"] = name
    cert, t_validate = timed(lambda: validate_record(spec, record, AT))
    layout, t_layout = timed(lambda: build_layout(cert))
    _, t_ofd = timed(lambda: write_ofd(layout))
    _, t_pdf = timed(lambda: render_pdf(layout))
    return {
        "validate": t_validate,
        "layout": t_layout,
        "ofd": t_ofd,
        "pdf": t_pdf,
        "total": t_validate + t_layout + t_ofd + t_pdf,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40, help="certificates per kind")
    args = parser.parse_args()
    cold = one("skill", NAMES[0])
    report: dict[str, Any] = {"cold_first_certificate_ms": round(cold["total"], 1), "kinds": {}}
    all_totals: list[float] = []
    for kind in KIND_NAMES:
        runs = [one(kind, NAMES[i % len(NAMES)]) for i in range(args.n)]
        stages = {
            stage: {
                "median_ms": round(statistics.median(r[stage] for r in runs), 2),
                "p95_ms": round(p95([r[stage] for r in runs]), 2),
            }
            for stage in ("validate", "layout", "ofd", "pdf", "total")
        }
        report["kinds"][kind] = stages
        all_totals += [r["total"] for r in runs]
    report["certificates"] = len(all_totals)
    report["certificates_per_second"] = round(1000 * len(all_totals) / sum(all_totals), 1)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
