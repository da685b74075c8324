"""Batch issuing throughput and memory, beside a naive pipeline on the same rows.

Prints one JSON object:

- ``batch_pairs_per_s``: signed OFD+PDF pairs per second of ``docgen batch`` on ``--rows``
  rows (all cores; wall time of the issuing phase as the command reports it, and of the
  whole command);
- ``peak_rss_mb``: the peak resident memory of the whole process tree (coordinator and
  workers, sampled every 0.1 s) and of the coordinator alone, at 1 000 rows and at ``--rows``;
- ``naive_pairs_per_s``: the same rows, each rendered by plain reportlab code (built-in CID
  font, no embedding) and signed with pyHanko (PAdES, ECDSA P-256), one after another in
  each of as many plain worker processes as ``docgen batch`` uses. PDF only, so it flatters
  the naive side; the ratio measures work per certificate, not the number of cores.

    .venv/bin/python bench/batch.py [--rows 10000] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from docgen.batch import write_sample_batch
from docgen.clock import parse_at
from docgen.kinds import load_kind
from docgen.signing.keystore import IssuerIdentity, KeyStore

AT = parse_at("2026-11-20T10:00:00")
KEYS_AT = parse_at("2024-01-01T00:00:00")
KIND = "rescuer"
DOCGEN = str(Path(sys.executable).with_name("docgen"))


def _watch(pid: int, peaks: dict[str, float], stop: threading.Event) -> None:
    """Sample the RSS of ``pid`` and of its whole tree until ``stop``."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            own = root.memory_info().rss
            tree = own
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    tree += child.memory_info().rss
        except psutil.NoSuchProcess:
            return
        peaks["coordinator"] = max(peaks.get("coordinator", 0), own / 2**20)
        peaks["tree"] = max(peaks.get("tree", 0), tree / 2**20)
        stop.wait(0.1)


def run_batch(rows: int, folder: Path, keys: Path, workers: int) -> dict[str, Any]:
    data = folder / f"in-{rows}"
    write_sample_batch(KIND, rows, data, AT.date(), seed=rows)
    out = folder / f"out-{rows}"
    command = [
        DOCGEN, "batch", str(data / "results.csv"), "--kind", KIND, "--photos",
        str(data / "photos"), "--out", str(out), "--db", f"sqlite:///{folder / f'reg-{rows}.db'}",
        "--keys", str(keys), "--at", AT.isoformat(), "--workers", str(workers),
    ]  # fmt: skip
    peaks: dict[str, float] = {}
    stop = threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    watcher = threading.Thread(target=_watch, args=(process.pid, peaks, stop), daemon=True)
    watcher.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - start
    stop.set()
    watcher.join()
    if process.returncode != 0:
        raise SystemExit(f"docgen batch failed:\n{output}")
    made = re.search(r"made (\d+) OFD\+PDF pairs in ([\d.]+) s", output)
    issued = re.search(r"issued:\s+(\d+)", output)
    assert made and issued, output
    pairs = int(made.group(1))
    return {
        "rows": rows,
        "issued": int(issued.group(1)),
        "seconds_total": round(wall, 1),
        "pairs_per_s_total": round(pairs / wall, 2),
        "peak_rss_mb_tree": round(peaks.get("tree", 0), 1),
        "peak_rss_mb_coordinator": round(peaks.get("coordinator", 0), 1),
        "results": str(data / "results.csv"),
    }


# -- the naive pipeline ---------------------------------------------------------------------

_NAIVE: dict[str, Any] = {}


def _naive_init(key_pem: bytes, cert_pem: bytes, photo: bytes) -> None:
    from pyhanko.sign import signers
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    folder = Path(tempfile.mkdtemp())
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    _NAIVE["signer"] = signers.SimpleSigner.load(str(folder / "key.pem"), str(folder / "cert.pem"))
    _NAIVE["photo"] = photo


def _naive_one(row: dict[str, str]) -> int:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setFont("STSong-Light", 28)
    page.drawCentredString(A4[0] / 2, 760, "应急救援员 职业资格证书")
    page.setFont("STSong-Light", 12)
    y = 690
    for label, key in (("姓名", "name"), ("证件号码", "id_number"), ("单位", "unit"),
                       ("理论知识考试成绩", "theory_score"), ("等级", "level")):  # fmt: skip
        page.drawString(200, y, f"{label}：{row.get(key, '')}")
        y -= 24
    page.drawImage(ImageReader(io.BytesIO(_NAIVE["photo"])), 80, 560, 85, 119)
    qr = QrCodeWidget(f"{row['id_number']}|{row['name']}")
    left, bottom, right, top = qr.getBounds()
    drawing = Drawing(96, 96, transform=[96 / (right - left), 0, 0, 96 / (top - bottom), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, page, 80, 400)
    page.showPage()
    page.save()
    writer = IncrementalPdfFileWriter(io.BytesIO(buffer.getvalue()))
    fields.append_signature_field(
        writer, fields.SigFieldSpec("Signature", on_page=0, box=(380, 380, 520, 480))
    )
    signed = signers.sign_pdf(
        writer, signers.PdfSignatureMetadata(field_name="Signature"), signer=_NAIVE["signer"]
    )
    return len(signed.getvalue())


def _naive_key() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "naive signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def run_naive(results: Path, workers: int) -> dict[str, Any]:
    from docgen.batch.results import ResultsFile

    rows = [cells for _, cells in ResultsFile(results, load_kind(KIND)).rows()]
    photo = next((results.parent / "photos").iterdir()).read_bytes()
    key_pem, cert_pem = _naive_key()
    context = multiprocessing.get_context("forkserver")
    start = time.perf_counter()
    with context.Pool(workers, _naive_init, (key_pem, cert_pem, photo)) as pool:
        sizes = pool.map(_naive_one, rows, chunksize=8)
    wall = time.perf_counter() - start
    return {
        "rows": len(sizes),
        "seconds": round(wall, 1),
        "pdfs_per_s": round(len(sizes) / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000, help="the smaller run for memory")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-naive", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        kind = load_kind(KIND)
        identity = IssuerIdentity(
            kind.sample["issuer"], kind.sample["issuer_code"], kind.seal_title
        )
        keys = folder / "keys"
        KeyStore.init(keys, identity, KEYS_AT)
        small = run_batch(args.small, folder, keys, args.workers)
        large = (
            run_batch(args.rows, folder, keys, args.workers) if args.rows != args.small else small
        )
        naive = None if args.no_naive else run_naive(Path(large["results"]), args.workers)
        for run in (small, large):
            run.pop("results", None)
        result = {
            "cores": os.cpu_count(),
            "workers": args.workers,
            "rows": args.rows,
            "batch_pairs_per_s": large["pairs_per_s_total"],
            "naive_pairs_per_s": naive["pdfs_per_s"] if naive else None,
            "ratio_ours_to_naive": (
                round(large["pairs_per_s_total"] / naive["pdfs_per_s"], 2) if naive else None
            ),
            "peak_rss_mb": {
                str(args.small): small["peak_rss_mb_tree"],
                str(args.rows): large["peak_rss_mb_tree"],
            },
            "peak_rss_mb_coordinator": {
                str(args.small): small["peak_rss_mb_coordinator"],
                str(args.rows): large["peak_rss_mb_coordinator"],
            },
            "runs": [small, large] if large is not small else [small],
            "naive": naive,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
