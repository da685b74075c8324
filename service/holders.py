"""The holders' API: register (real-name match against the registry), sign in (a session
cookie: HttpOnly, SameSite=Strict; changes need the CSRF token), list one's certificates,
apply for 加注 and download an annotated copy while its window is open.

A holder reaches only certificates with their own ID hash: another holder's certificate is
answered as "not found", never "forbidden", so numbers cannot be probed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from docgen.annotation import (
    LimitReached,
    SignInError,
    annotate,
    certificates_of,
    register,
    sign_in,
)
from docgen.clock import BEIJING
from docgen.registry import NotFoundError, RefusedError
from docgen.registry.models import AnnotationRow, CertificateRow, Holder

from .state import ServiceState, limit, refuse, state_of

__all__ = ["router"]

router = APIRouter(tags=["holders"])
_CSRF_HEADER = "X-CSRF-Token"


class Registration(BaseModel):
    id_number: str = Field(min_length=5, max_length=20)
    name: str = Field(min_length=1, max_length=50)
    secret: str = Field(min_length=1, max_length=200)


class SignIn(BaseModel):
    id_number: str = Field(min_length=5, max_length=20)
    secret: str = Field(min_length=1, max_length=200)


class AnnotationRequest(BaseModel):
    scenario: str = Field(max_length=32, examples=["本人调用"])
    days: int = Field(
        ge=1, le=366, description="Length of the window in days (the kind's rules apply)"
    )


def _holder(request: Request, state: ServiceState) -> Holder:
    holder_id = request.session.get("holder")
    if not isinstance(holder_id, int):
        raise refuse(401, "not_signed_in", "sign in first (POST /api/v1/holder/login)")
    with state.registry.reading() as session:
        holder = session.get(Holder, holder_id)
    if holder is None:
        request.session.clear()
        raise refuse(401, "not_signed_in", "sign in first")
    return holder


def _csrf(request: Request) -> None:
    """A change must carry the session's CSRF token (header ``X-CSRF-Token``)."""
    expected = request.session.get("csrf")
    given = request.headers.get(_CSRF_HEADER, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        raise refuse(403, "csrf", f"missing or wrong {_CSRF_HEADER} header")


@router.post("/register", status_code=201, summary="Create a holder account")
def register_holder(request: Request, body: Registration) -> dict[str, Any]:
    """Only a person whose ID number and name are on a registered certificate may register."""
    state = state_of(request)
    limit(request, state.sign_in)
    try:
        register(state.registry, body.id_number, body.name, body.secret, at=state.clock())
    except RefusedError as exc:
        raise refuse(409, "refused", str(exc)) from None
    return {"registered": True}


@router.post("/login", summary="Sign in; sets the session cookie")
def login(request: Request, body: SignIn) -> dict[str, Any]:
    """Returns the CSRF token every change must send back in ``X-CSRF-Token``."""
    state = state_of(request)
    limit(request, state.sign_in)
    try:
        holder = sign_in(state.registry, body.id_number, body.secret, at=state.clock())
    except SignInError as exc:
        raise refuse(401, "sign_in_failed", str(exc)) from None
    request.session.clear()
    token = secrets.token_urlsafe(32)
    request.session.update({"holder": holder.id, "csrf": token})
    return {"holder": holder.name, "csrf_token": token}


@router.post("/logout", status_code=204, summary="Sign out")
def logout(request: Request) -> Response:
    _csrf(request)
    request.session.clear()
    return Response(status_code=204)


@router.get("/certificates", summary="My certificates and their status")
def my_certificates(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    holder = _holder(request, state)
    return [a.to_dict() for a in certificates_of(state.registry, holder, state.clock())]


@router.post(
    "/certificates/{number}/annotations",
    status_code=201,
    summary="Apply for 加注 and get the annotated copy",
    responses={409: {"description": "the 加注 rules refuse it (with the first possible date)"}},
)
def apply_annotation(request: Request, number: str, body: AnnotationRequest) -> dict[str, Any]:
    state = state_of(request)
    holder = _holder(request, state)
    _csrf(request)
    number = number.strip().upper()
    with state.registry.reading() as session:
        row = session.scalars(
            select(CertificateRow).where(
                CertificateRow.number == number, CertificateRow.id_hash == holder.id_hash
            )
        ).first()
        issuer_code = row.issuer.code if row is not None else None
    if issuer_code is None:
        raise refuse(404, "not_found", f"you hold no certificate {number}")
    sealer = state.sealer_for(issuer_code)
    try:
        made = annotate(
            state.registry,
            holder,
            number,
            scenario=body.scenario,
            days=body.days,
            at=state.clock(),
            sealer=sealer,
            out_dir=state.settings.copies_dir if sealer is not None else None,
        )
    except LimitReached as exc:
        raise refuse(
            409, "limit_reached", str(exc), first_possible=exc.first_possible.isoformat()
        ) from None
    except NotFoundError:
        raise refuse(404, "not_found", f"you hold no certificate {number}") from None
    except RefusedError as exc:
        raise refuse(409, "refused", str(exc)) from None
    return {
        "annotation": made.number,
        "certificate": made.certificate_number,
        "scenario": made.scenario,
        "valid_from": made.valid_from.isoformat(),
        "valid_to": made.valid_to.isoformat(),
        "shortened": made.shortened,
        "downloads": {
            fmt: f"/api/v1/holder/annotations/{made.number}/{fmt}"
            for fmt, path in (("ofd", made.ofd), ("pdf", made.pdf))
            if path is not None
        },
    }


@router.get("/annotations", summary="My 加注 and whether each copy can be downloaded today")
def my_annotations(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    holder = _holder(request, state)
    today = state.clock().astimezone(BEIJING).date()
    with state.registry.reading() as session:
        rows = session.scalars(
            select(AnnotationRow)
            .where(AnnotationRow.holder_id == holder.id)
            .order_by(AnnotationRow.id.desc())
        ).all()
        return [
            {
                "annotation": r.number,
                "certificate": r.certificate.number,
                "scenario": r.scenario,
                "valid_from": r.valid_from.isoformat(),
                "valid_to": r.valid_to.isoformat(),
                "downloadable": _open(r, today) and r.ofd_path is not None,
            }
            for r in rows
        ]


def _open(row: AnnotationRow, today: date) -> bool:
    return row.valid_from <= today <= row.valid_to


@router.get(
    "/annotations/{annotation}/{fmt}",
    summary="Download an annotated copy (only while its window is open)",
    responses={410: {"description": "the window has closed"}},
)
def download(request: Request, annotation: str, fmt: str) -> Response:
    state = state_of(request)
    holder = _holder(request, state)
    if fmt not in {"ofd", "pdf"}:
        raise refuse(404, "not_found", "the formats are ofd and pdf")
    today = state.clock().astimezone(BEIJING).date()
    with state.registry.reading() as session:
        row = session.scalars(
            select(AnnotationRow).where(
                AnnotationRow.number == annotation, AnnotationRow.holder_id == holder.id
            )
        ).first()
        if row is None:
            raise refuse(404, "not_found", f"you have no 加注 {annotation}")
        path, digest = (
            (row.ofd_path, row.ofd_sha256) if fmt == "ofd" else (row.pdf_path, row.pdf_sha256)
        )
        window = (row.valid_from, row.valid_to)
    if not window[0] <= today <= window[1]:
        raise refuse(
            410 if today > window[1] else 403,
            "window_closed" if today > window[1] else "window_not_open",
            f"the 加注 is valid {window[0]} – {window[1]}; apply for a new one",
        )
    if path is None or digest is None:
        raise refuse(404, "not_found", "no annotated copy was written for this 加注")
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise refuse(500, "changed", "the stored copy does not match the registry")
    media = "application/ofd" if fmt == "ofd" else "application/pdf"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{Path(path).name}"'},
    )
