"""The web service under load: requests per second and latency, per kind of request.

Starts ``docgen serve`` with production settings (``--workers``, access log on, a registry
of real sealed certificates) on 127.0.0.1, drives it with ``wrk`` (a C load generator in its
own process, so the generator is not the bottleneck) for ``--seconds`` per scenario, stops
it, and prints one JSON object: requests/s and p50/p99 latency (ms) for status look-ups,
QR-text verification, PDF verification and photo verification. The public rate limit is
raised for the run (one client sends everything).

    .venv/bin/python bench/service.py [--seconds 15] [--workers 2] [--connections 16]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image

from docgen.batch import BatchOptions, run_batch, write_sample_batch
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.signing.keystore import IssuerIdentity, KeyStore

AT = parse_at("2026-11-20T10:00:00")
KEYS_AT = parse_at("2024-01-01T00:00:00")
DOCGEN = str(Path(sys.executable).with_name("docgen"))

_POST_JSON = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("{body}", "rb")); wrk.body = f:read("*a"); f:close()
"""
_POST_FILE = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=BENCHBOUNDARY"
local f = assert(io.open("{body}", "rb")); wrk.body = f:read("*a"); f:close()
"""
_STATUS_PATHS = """
local numbers = {{}}
for line in io.lines("{body}") do numbers[#numbers + 1] = line end
local i = 0
request = function()
  i = i % #numbers + 1
  return wrk.format("GET", "/api/v1/certificates/" .. numbers[i] .. "/status")
end
"""
_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %d\\n", summary.requests,
    summary.duration, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _multipart(name: str, data: bytes) -> bytes:
    return (
        b"--BENCHBOUNDARY\r\n"
        + f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
        + b"Content-Type: application/octet-stream\r\n\r\n"
        + data
        + b"\r\n--BENCHBOUNDARY--\r\n"
    )


def _phone_photo(pdf: Path) -> bytes:
    page = subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    image = Image.open(io.BytesIO(page)).convert("RGB").rotate(3, expand=True, fillcolor="white")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _wrk(url: str, script: Path, seconds: int, connections: int, threads: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
         "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", out)
    assert found, out
    requests, micros, errors = int(found[1]), int(found[2]), int(found[3])
    return {
        "requests": requests,
        "errors": errors,
        "requests_per_s": round(requests / (micros / 1e6), 1),
        "p50_ms": round(float(found[4]), 2),
        "p99_ms": round(float(found[5]), 2),
        "max_ms": int(found[6]),
        "connections": connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rows", type=int, default=200, help="certificates in the registry")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="bench-service-"))
    server = None
    try:
        kind = load_kind("rescuer")
        identity = IssuerIdentity(
            kind.sample["issuer"], kind.sample["issuer_code"], kind.seal_title
        )
        keys = folder / "keys"
        KeyStore.init(keys, identity, KEYS_AT)
        write_sample_batch("rescuer", args.rows, folder / "in", AT.date())
        db = f"sqlite:///{folder / 'registry.db'}"
        summary = run_batch(
            BatchOptions(
                results=folder / "in" / "results.csv", kind="rescuer",
                photos=folder / "in" / "photos", out_dir=folder / "out", keys_dir=keys, at=AT,
                db=db,
            ), every=3600,
        )  # fmt: skip
        with summary.reports.manifest_csv.open(encoding="utf-8-sig") as handle:
            numbers = [line.split(",")[1] for line in handle.read().splitlines()[1:]]
        pdf = summary.out_dir / f"{numbers[0]}.pdf"
        report = json.loads(
            subprocess.run(
                [DOCGEN, "verify", str(pdf), "--trust", str(keys / "trust.json"), "--json",
                 "--at", AT.isoformat()],
                capture_output=True, text=True, check=False,
            ).stdout
        )  # fmt: skip
        bodies = {
            "numbers": "\n".join(numbers).encode(),
            "qr": json.dumps({"text": report["qr_text"][0]}).encode(),
            "pdf": _multipart("c.pdf", pdf.read_bytes()),
            "photo": _multipart("c.jpg", _phone_photo(pdf)),
        }
        for name, data in bodies.items():
            (folder / f"{name}.body").write_bytes(data)
        scripts = {
            "status_lookup": (_STATUS_PATHS, "numbers", "/"),
            "qr_text_verify": (_POST_JSON, "qr", "/api/v1/verify/qr"),
            "pdf_verify": (_POST_FILE, "pdf", "/api/v1/verify"),
            "photo_verify": (_POST_FILE, "photo", "/api/v1/verify"),
        }
        port = _free_port()
        env = {**os.environ, "DOCGEN_SESSION_SECRET": "bench"}
        server = subprocess.Popen(
            [DOCGEN, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db,
             "--trust", str(keys / "trust.json"), "--workers", str(args.workers),
             "--rate-per-minute", "10000000", "--verify-workers", str(args.workers)],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/certificates/{numbers[0]}/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the service did not start") from None
                time.sleep(0.2)
        results: dict[str, Any] = {}
        for name, (template, body, path) in scripts.items():
            script = folder / f"{name}.lua"
            script.write_text(template.format(body=folder / f"{body}.body") + _DONE)
            heavy = name in {"pdf_verify", "photo_verify"}
            results[name] = _wrk(
                base + path,
                script,
                args.seconds,
                connections=args.workers * 2 if heavy else args.connections,
                threads=1,
            )
        print(
            json.dumps(
                {
                    "cores": os.cpu_count(),
                    "web_workers": args.workers,
                    "seconds_per_scenario": args.seconds,
                    "load_generator": "wrk (1 thread)",
                    "certificates": len(numbers),
                    **results,
                },
                indent=2,
            )
        )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
