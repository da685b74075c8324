"""The issuing bodies' API, behind API keys (``Authorization: Bearer dgk_…``; made with
``docgen apikey create --issuer CODE``, stored hashed): submit a batch and follow it, revoke
and correct certificates, export the register. A body reaches only its own certificates."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from docgen.batch import BatchOptions, batch_id_of, run_batch
from docgen.errors import DocgenError, RecordError
from docgen.kinds import KIND_NAMES
from docgen.registry import NotFoundError, RefusedError, lifecycle
from docgen.registry.apikeys import ApiKeyHolder, check_key
from docgen.registry.export import export_since
from docgen.registry.lookup import current_version
from docgen.registry.models import BatchItem, BatchRow

from .state import BatchJob, ServiceState, refuse, state_of

__all__ = ["router"]

router = APIRouter(tags=["issuing bodies"])


class Revocation(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class Correction(BaseModel):
    record: dict[str, Any] = Field(description="The corrected record (as `docgen correct`)")
    reason: str | None = Field(None, max_length=500)


def _issuer(request: Request, state: ServiceState) -> ApiKeyHolder:
    header = request.headers.get("Authorization", "")
    key = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    key = key or request.headers.get("X-API-Key", "")
    if not key:
        raise refuse(401, "no_api_key", "give the API key: Authorization: Bearer dgk_…")
    try:
        return check_key(state.registry, key)
    except RefusedError:
        raise refuse(401, "bad_api_key", "the API key is not valid") from None


def _own(state: ServiceState, who: ApiKeyHolder, number: str) -> None:
    with state.registry.reading() as session:
        row = current_version(session, number)
        owner = row.issuer.code if row is not None else None
    if owner != who.issuer_code:
        raise refuse(404, "not_found", f"no certificate {number} of yours")


def _sealer(state: ServiceState, who: ApiKeyHolder) -> Any:
    sealer = state.sealer_for(who.issuer_code)
    if sealer is None:
        raise refuse(503, "no_keys", "this service holds no key store for your issuing body")
    return sealer


@router.post("/batches", status_code=202, summary="Submit a results file and its photos")
async def submit_batch(
    request: Request,
    kind: Annotated[str, Form(description=f"one of {', '.join(KIND_NAMES)}")],
    results: Annotated[UploadFile, File(description="results.csv or results.xlsx")],
    photos: Annotated[UploadFile, File(description="photos.zip")],
    at: Annotated[str | None, Form(description="issue time (ISO 8601); default now")] = None,
) -> dict[str, Any]:
    """The batch runs in the background; follow it at the returned URL. Submitting the same
    file again continues (or reports) the same batch."""
    state = state_of(request)
    who = _issuer(request, state)
    keys = state.keys_dir_for(who.issuer_code)
    if keys is None:
        raise refuse(503, "no_keys", "this service holds no key store for your issuing body")
    if kind not in KIND_NAMES:
        raise refuse(422, "bad_kind", f"kind must be one of {', '.join(KIND_NAMES)}")
    suffix = Path(results.filename or "").suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise refuse(415, "unsupported_type", "results must be a .csv or .xlsx file")
    data = await results.read()
    batch_id = batch_id_of(hashlib.sha256(data).hexdigest(), kind, who.issuer_code)
    folder = state.settings.batches_dir / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"results{suffix}").write_bytes(data)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
        shutil.copyfileobj(photos.file, handle)
    Path(handle.name).replace(folder / "photos.zip")
    from docgen.clock import parse_at

    try:
        when = parse_at(at) if at else None
    except ValueError:
        raise refuse(422, "bad_time", f"{at!r} is not an ISO 8601 time") from None
    options = BatchOptions(
        results=folder / f"results{suffix}",
        kind=kind,
        photos=folder / "photos.zip",
        out_dir=folder / "out",
        keys_dir=keys,
        at=when,
        db=state.registry.url,
        workers=state.settings.batch_workers,
        operator=f"api:{who.key_id}",
    )
    running = state.batches.get(batch_id)
    if running is None or not running.alive:
        job = BatchJob()

        def work() -> None:
            try:
                run_batch(options, every=3600)
            except (DocgenError, OSError) as exc:
                job.error = str(exc)

        job.thread = threading.Thread(target=work, name=f"batch-{batch_id}", daemon=True)
        state.batches[batch_id] = job
        job.thread.start()
    return {"batch": batch_id, "progress": f"/api/v1/issuer/batches/{batch_id}"}


@router.get("/batches/{batch_id}", summary="A batch's progress")
def batch_progress(request: Request, batch_id: str) -> dict[str, Any]:
    state = state_of(request)
    who = _issuer(request, state)
    with state.registry.reading() as session:
        batch = session.get(BatchRow, batch_id)
        job = state.batches.get(batch_id)
        if batch is None or batch.issuer_code != who.issuer_code:
            if job is not None and job.error:
                return {"batch": batch_id, "state": "failed", "error": job.error}
            if job is not None and job.alive:
                return {"batch": batch_id, "state": "starting"}
            raise refuse(404, "not_found", f"no batch {batch_id} of yours")
        counts = dict(
            session.execute(
                select(BatchItem.state, func.count())
                .where(BatchItem.batch_id == batch_id)
                .group_by(BatchItem.state)
            ).all()
        )
        error = job.error if job is not None else None
        return {
            "batch": batch_id,
            "kind": batch.kind,
            "state": "failed" if error else batch.state,
            "error": error,
            "rows_read": max(0, batch.rows_read - 1),
            "planned": counts.get("planned", 0),
            "issued": counts.get("issued", 0),
            "rejected": counts.get("rejected", 0),
            "void": counts.get("void", 0),
            "running": bool(job is not None and job.alive),
        }


@router.post("/certificates/{number}/revoke", summary="Revoke a certificate")
def revoke(request: Request, number: str, body: Revocation) -> dict[str, Any]:
    state = state_of(request)
    who = _issuer(request, state)
    number = number.strip().upper()
    _own(state, who, number)
    try:
        row = lifecycle.revoke(
            state.registry, number, reason=body.reason, operator=f"api:{who.key_id}",
            at=state.clock(),
        )  # fmt: skip
    except RefusedError as exc:
        raise refuse(409, "refused", str(exc)) from None
    return {"number": row.number, "version": row.version, "state": row.state}


@router.post("/certificates/{number}/correct", summary="Issue a corrected version")
def correct(request: Request, number: str, body: Correction) -> dict[str, Any]:
    state = state_of(request)
    who = _issuer(request, state)
    number = number.strip().upper()
    _own(state, who, number)
    try:
        written = lifecycle.correct(
            state.registry, number, body.record, _sealer(state, who),
            operator=f"api:{who.key_id}", at=state.clock(), reason=body.reason,
        )  # fmt: skip
    except RecordError as exc:
        raise refuse(422, "invalid_record", "; ".join(exc.lines())) from None
    except NotFoundError:
        raise refuse(404, "not_found", f"no certificate {number} of yours") from None
    except (RefusedError, DocgenError) as exc:
        raise refuse(409, "refused", str(exc)) from None
    return {"number": written.number, "version": written.version, "identifier": written.identifier}


@router.get("/register", summary="Export my register (GB/T 36903 items, CSV)")
def export(request: Request, since: date = date(1970, 1, 1)) -> Response:
    state = state_of(request)
    who = _issuer(request, state)
    with tempfile.TemporaryDirectory() as folder:
        _, csv_path, _ = export_since(state.registry, since, Path(folder), who.issuer_code)
        data = csv_path.read_bytes()
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="register-since-{since}.csv"'},
    )
