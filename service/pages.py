"""The verification page: server-rendered (Jinja2), Chinese first with an English switch,
usable on a phone. Upload, number or QR text go to the same functions as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from docgen.registry import NotFoundError, status_of
from verify.api import verify_qr_text

from .i18n import LANGUAGES, STEPS, words
from .public import verify_upload, with_photo
from .state import limit, state_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))

#: The page loads only its own scripts, styles and images; the camera stays on the page.
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
    "script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get("lang") or "zh"
    return asked if asked in LANGUAGES else "zh"


def _page(request: Request, name: str, code: int = 200, **context: Any) -> Response:
    lang = _lang(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"t": words(lang), "lang": lang, "steps": STEPS, **context},
        status_code=code,
    )
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


def _verdict(report: dict[str, Any]) -> str:
    """真实有效 / 无效 / 无法核验, as a key of the page's words."""
    verdict = report.get("verdict")
    if verdict == "authentic" and report.get("valid") is not False:
        return "authentic_valid"
    if verdict == "cannot_verify":
        return "cannot"
    return "invalid"


def _grouped(report: dict[str, Any]) -> list[tuple[str, bool | None, list[dict[str, Any]]]]:
    """The checks by step, each step with its overall result (False if any check failed)."""
    steps: dict[str, list[dict[str, Any]]] = {}
    for check in report.get("checks", []):
        steps.setdefault(check["step"], []).append(check)
    out = []
    for step, checks in steps.items():
        oks = [c["ok"] for c in checks if c["ok"] is not None]
        out.append((step, (all(oks) if oks else None), checks))
    return out


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return _page(request, "index.html")


@router.post("/check", response_class=HTMLResponse)
async def check(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    number: Annotated[str, Form()] = "",
    qr_text: Annotated[str, Form()] = "",
) -> Response:
    """Verify what the form carries: a file, QR text or a number (in that order)."""
    state = state_of(request)
    limit(request, state.public)
    try:
        data = await file.read() if file is not None else b""
        if data:
            report = await verify_upload(data, state, photo=True)
        elif qr_text.strip():
            report = verify_qr_text(qr_text, state.trust, state.clock(), state.status).to_dict()
            report = with_photo(report, state)
        elif number.strip():
            return _status_page(request, number.strip().upper())
        else:
            return RedirectResponse("/", status_code=303)
    except HTTPException as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
        return _page(request, "error.html", exc.status_code, message=detail.get("message"))
    return _page(
        request,
        "result.html",
        report=report,
        verdict=_verdict(report),
        groups=_grouped(report),
    )


def _status_page(request: Request, number: str) -> Response:
    state = state_of(request)
    if not number.isalnum() or len(number) > 64:
        return _page(
            request, "error.html", 422, message="证书编号只含字母和数字 / letters and digits"
        )
    try:
        with state.registry.reading() as session:
            answer = status_of(session, number, state.clock())
    except NotFoundError:
        return _page(request, "status.html", 404, number=number, answer=None)
    return _page(request, "status.html", number=number, answer=answer.to_dict())
