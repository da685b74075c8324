"""Issuing speed: validate, lay out, write OFD and PDF, per certificate, per kind.

Prints JSON: the cold first certificate (fonts loaded then) and, over ``--n`` more records
per kind, median and p95 milliseconds of each stage, plus certificates per second; with
``--sealed``, the sealing stages too (signed QR, OFD seal SM2, PAdES ECDSA), using a
throw-away development key store per kind.

    .venv/bin/python bench/issue.py --n 40 [--sealed]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from docgen.clock import parse_at
from docgen.kinds import KIND_NAMES, load_kind
from docgen.layout import build_layout
from docgen.ofd.writer import write_ofd
from docgen.pdf import render_pdf
from docgen.samples import sample_record
from docgen.signing.keystore import IssuerIdentity, KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

T = TypeVar("T")
AT = parse_at("2026-11-20T10:00:00")
KEYS_AT = parse_at("2024-01-01T00:00:00")
NAMES = ["李晓堃", "王䶮", "欧阳明远", "张𠈌", "赵敏", "买买提·艾力", "司马相如", "陈"]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def one(kind: str, name: str, sealer: Sealer | None) -> dict[str, float]:
    spec = load_kind(kind)
    record = sample_record(kind)
    record["name"] = name
    cert, t_validate = timed(lambda: validate_record(spec, record, AT))
    stages = {"validate": t_validate}
    if sealer is None:
        layout, stages["layout"] = timed(lambda: build_layout(cert))
        _, stages["ofd"] = timed(lambda: write_ofd(layout))
        _, stages["pdf"] = timed(lambda: render_pdf(layout))
    else:
        qr, stages["qr_sign"] = timed(lambda: sealer.qr_text(cert))
        layout, stages["layout"] = timed(lambda: build_layout(cert, qr_text=qr))
        _, stages["ofd_sealed"] = timed(lambda: sealer.seal_ofd(layout))
        _, stages["pdf_sealed"] = timed(lambda: sealer.sealed_pdf(layout))
    stages["total"] = sum(stages.values())
    return stages


def sealer_for(kind: str, folder: Path) -> Sealer:
    spec = load_kind(kind)
    cert = validate_record(spec, sample_record(kind), AT)
    identity = IssuerIdentity(
        str(cert.values[spec.issuer_field]), str(cert.values["issuer_code"]), spec.seal_title
    )
    return Sealer(KeyStore.init(folder / kind, identity, KEYS_AT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40, help="certificates per kind")
    parser.add_argument("--sealed", action="store_true", help="measure sealed issuing")
    args = parser.parse_args()
    keys = Path(tempfile.mkdtemp(prefix="bench-keys-"))
    try:
        sealers = {k: sealer_for(k, keys) for k in KIND_NAMES} if args.sealed else {}
        cold = one("skill", NAMES[0], sealers.get("skill"))
        report: dict[str, Any] = {
            "sealed": args.sealed,
            "cold_first_certificate_ms": round(cold["total"], 1),
            "kinds": {},
        }
        all_totals: list[float] = []
        for kind in KIND_NAMES:
            runs = [one(kind, NAMES[i % len(NAMES)], sealers.get(kind)) for i in range(args.n)]
            report["kinds"][kind] = {
                stage: {
                    "median_ms": round(statistics.median(r[stage] for r in runs), 2),
                    "p95_ms": round(p95([r[stage] for r in runs]), 2),
                }
                for stage in runs[0]
            }
            all_totals += [r["total"] for r in runs]
    finally:
        shutil.rmtree(keys)
    report["certificates"] = len(all_totals)
    report["certificates_per_second"] = round(1000 * len(all_totals) / sum(all_totals), 1)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
