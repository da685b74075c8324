"""How fast the command line starts, and how fast a verification is once started.

Prints one JSON object: the wall time of ``docgen --help`` and of ``docgen verify`` on a sealed
PDF and OFD (best of ``--runs`` processes); the import time of those same runs (``python -X
importtime``: every module the process imported, from start to exit, the best of ``--runs``)
and of ``docgen.cli``, ``verify.api`` and ``verify.pdf`` alone (cumulative µs of the top
module); and the in-process ``verify_path`` time (median and p95 of ``--n`` runs after one
warm-up) for each file.

    .venv/bin/python bench/startup.py [--runs 5] [--n 20]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docgen.clock import parse_at
from docgen.issuing import render
from docgen.kinds import load_kind
from docgen.samples import sample_record
from docgen.signing.keystore import IssuerIdentity, KeyStore
from docgen.signing.sealer import Sealer
from docgen.validation import validate_record

AT = parse_at("2026-11-20T10:00:00")
DOCGEN = str(Path(sys.executable).with_name("docgen"))


def _best(command: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def _import_ms(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in out.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return round(int(parts[1]) / 1000, 1)
    raise SystemExit(f"no import time for {module}")


# "import time: self | cumulative | name": a top-level module's name follows one space
_TOP_LEVEL = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (?! )", re.MULTILINE)


def _run_imports_ms(command: list[str], runs: int) -> float:
    """The import time of a whole run of ``command`` (a console script), best of ``runs``:
    the sum of the top-level entries ``-X importtime`` prints."""
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", *command],
            capture_output=True,
            text=True,
            check=False,
        ).stderr
        best = min(best, sum(int(m) for m in _TOP_LEVEL.findall(out)) / 1000)
    return round(best, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    from verify.api import verify_path
    from verify.trust import TrustList

    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    kind = load_kind("rescuer")
    identity = IssuerIdentity(kind.sample["issuer"], kind.sample["issuer_code"], kind.seal_title)
    store = KeyStore.init(folder / "keys", identity, parse_at("2024-01-01T00:00:00"))
    cert = validate_record(kind, sample_record("rescuer"), AT)
    rendered = render(cert, Sealer(store))
    files = {"pdf": folder / "c.pdf", "ofd": folder / "c.ofd"}
    files["pdf"].write_bytes(rendered.pdf)
    files["ofd"].write_bytes(rendered.ofd)
    trust_file = str(folder / "keys" / "trust.json")
    trust = TrustList.load([Path(trust_file)])
    result: dict[str, object] = {
        "help_ms": _best([DOCGEN, "--help"], args.runs),
        "import_ms": {m: _import_ms(m) for m in ("docgen.cli", "verify.api", "verify.pdf")},
    }
    result["help_imports_ms"] = _run_imports_ms([DOCGEN, "--help"], args.runs)
    for name, path in files.items():
        command = [DOCGEN, "verify", str(path), "--trust", trust_file, "--at", AT.isoformat()]
        result[f"verify_{name}_cli_ms"] = _best(command, args.runs)
        result[f"verify_{name}_cli_imports_ms"] = _run_imports_ms(command, args.runs)
        verify_path(path, trust, AT)  # warm-up: fonts, caches
        times = []
        for _ in range(args.n):
            start = time.perf_counter()
            report = verify_path(path, trust, AT)
            times.append((time.perf_counter() - start) * 1000)
        assert report.verdict.value == "authentic", report.to_text()
        ordered = sorted(times)
        result[f"verify_{name}_in_process_ms"] = {
            "p50": round(statistics.median(times), 1),
            "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
