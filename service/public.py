"""The public API: verify a file or QR text, ask a certificate's status, fetch the trust
lists and status lists. Rate-limited per client; nothing here needs an account."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, Field

from docgen.ofd.package import package_problem
from docgen.qrpayload import payload_kid
from docgen.registry import NotFoundError, RegistryError, status_of
from docgen.registry.lookup import registered_photo
from verify.api import sniff, verify_qr_text

from .edge import VerifyTimeout
from .state import ServiceState, limit, refuse, state_of

__all__ = ["checked_upload", "router", "verify_upload", "with_photo"]

router = APIRouter(tags=["public"])


class QRText(BaseModel):
    text: str = Field(max_length=4096, description="The QR code's text, as a scanner reads it")


def checked_upload(data: bytes, state: ServiceState) -> str:
    """The upload's type by its content, after the cheap checks (image size in pixels, an
    OFD's declared unpacked size).

    Raises:
        HTTPException: 415 not an OFD, PDF, PNG or JPEG; 422 too many pixels or a ZIP bomb.
    """
    kind = sniff(data)
    if kind is None:
        raise refuse(
            415, "unsupported_type", "not an OFD, PDF, PNG or JPEG file (judged by content)"
        )
    if kind == "image":
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError) as exc:
            raise refuse(422, "unreadable", "the image cannot be read") from exc
        if width * height > state.settings.max_image_pixels:
            raise refuse(
                422,
                "too_many_pixels",
                f"the image is {width}×{height} px; at most "
                f"{state.settings.max_image_pixels // 1_000_000} megapixels",
            )
    if kind == "ofd":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                infos = package.infolist()
        except (zipfile.BadZipFile, ValueError, OSError):
            raise refuse(
                415, "unsupported_type", "not an OFD package (not a readable ZIP)"
            ) from None
        if "OFD.xml" not in {i.filename.lstrip("/") for i in infos}:
            raise refuse(415, "unsupported_type", "a ZIP without OFD.xml is not an OFD package")
        problem = package_problem([i for i in infos if not i.is_dir()])
        if problem is not None:
            raise refuse(422, "unsafe_package", problem)
    return kind


def with_photo(report: dict[str, Any], state: ServiceState) -> dict[str, Any]:
    """Add the registered photo of an authentic certificate, to compare with the paper."""
    certificate = report.get("certificate") or {}
    if report.get("verdict") == "authentic" and "number" in certificate:
        try:
            photo = registered_photo(
                state.registry, str(certificate["number"]), int(certificate.get("version", 1))
            )
        except RegistryError:
            photo = None
        if photo is not None:
            report["registered_photo"] = photo
    return report


async def verify_upload(data: bytes, state: ServiceState, photo: bool) -> dict[str, Any]:
    """The report of an uploaded file, as ``docgen verify --json`` gives it (with the
    registered photo when authentic and ``photo`` is asked for).

    Raises:
        HTTPException: 415/422 (see :func:`checked_upload`), 422 when it cannot be checked
            in time.
    """
    checked_upload(data, state)
    try:
        report = await state.pool.verify(data, state.clock())
    except VerifyTimeout:
        raise refuse(
            422,
            "not_checked_in_time",
            f"the file could not be checked within {state.settings.verify_seconds:.0f} s "
            "and the memory allowed",
        ) from None
    report["source"] = "upload"
    return with_photo(report, state) if photo else report


def _report_response(report: dict[str, Any]) -> JSONResponse:
    status = 422 if report.get("unreadable") else 200
    return JSONResponse(report, status_code=status)


@router.post(
    "/verify",
    summary="Verify an OFD, PDF, scan or photo",
    responses={413: {"description": "too large"}, 415: {"description": "not a supported type"}},
)
async def verify_file(
    request: Request,
    file: Annotated[UploadFile, File(description="OFD, PDF, PNG or JPEG")],
    photo: bool = False,
) -> JSONResponse:
    """The same JSON report as ``docgen verify --json``; 422 when the file cannot be checked.
    With ``photo=true``, an authentic certificate's registered photo is added
    (``registered_photo``, a data URI) to compare with the paper."""
    state = state_of(request)
    limit(request, state.public)
    data = await file.read()
    return _report_response(await verify_upload(data, state, photo))


@router.post("/verify/qr", summary="Verify the text of a QR code")
async def verify_qr(request: Request, body: QRText, photo: bool = False) -> JSONResponse:
    """The report for QR text (pasted, or decoded by a scanner or the page's camera); with
    ``photo=true`` as for ``/verify``. A few milliseconds of work: run on the event loop."""
    state = state_of(request)
    limit(request, state.public)
    report = verify_qr_text(body.text, state.trust, state.clock(), state.status).to_dict()
    return _report_response(with_photo(report, state) if photo else report)


@router.get("/certificates/{number}/status", summary="A certificate's status in the registry")
async def certificate_status(request: Request, number: str) -> dict[str, Any]:
    """Status of the current version of certificate ``number`` (ID numbers masked). An
    indexed look-up of about a millisecond: run on the event loop, not a thread."""
    state = state_of(request)
    limit(request, state.public)
    if not 1 <= len(number) <= 64 or not number.isalnum():
        raise refuse(422, "bad_number", "a certificate number is 1-64 letters and digits")
    try:
        with state.registry.reading() as session:
            answer = status_of(session, number.upper(), state.clock())
    except NotFoundError:
        raise refuse(404, "not_found", f"no certificate {number.upper()} in the registry") from None
    result: dict[str, Any] = answer.to_dict()
    return result


@router.get("/trust-list", summary="The trust lists (JSON)")
def trust_list(request: Request) -> JSONResponse:
    state = state_of(request)
    lists = [json.loads(p.read_text("utf-8")) for p in state.settings.trust_files]
    return JSONResponse({"trust_lists": lists})


@router.get("/trust-list.pem", summary="The trusted roots and signers as a PEM bundle")
def trust_list_pem(request: Request) -> Response:
    state = state_of(request)
    pems: list[str] = []
    for path in state.settings.trust_files:
        data = json.loads(path.read_text("utf-8"))
        pems.extend(data.get("roots", {}).values())
        pems.extend(s["certificate"] for s in data.get("signers", []))
    return Response("".join(p if p.endswith("\n") else p + "\n" for p in pems),
                    media_type="application/x-pem-file")  # fmt: skip


@router.get("/trust-list/jwks.json", summary="The QR signers' keys as a JWKS")
def trust_list_jwks(request: Request) -> JSONResponse:
    from .jwks import jwks_from_trust_files

    state = state_of(request)
    return JSONResponse(
        jwks_from_trust_files(list(state.settings.trust_files)),
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/status-list", summary="An issuing body's signed status list (COSE)")
def status_list(request: Request, issuer: str | None = None) -> Response:
    """The signed status list of ``issuer`` (its credit code); without it, the only one."""
    state = state_of(request)
    found = []
    for path in state.settings.status_lists:
        data = path.read_bytes()
        try:
            signer = state.trust.signer_by_kid(payload_kid(data))
        except ValueError:
            signer = None
        code = signer.issuer_code if signer is not None else None
        if issuer is None or issuer == code:
            found.append(data)
    if not found:
        raise refuse(404, "not_found", "no status list for that issuing body")
    if len(found) > 1:
        raise refuse(409, "ambiguous", "several issuing bodies: give ?issuer=CREDIT-CODE")
    return Response(found[0], media_type="application/cose")
