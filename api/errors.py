"""Domain refusals as HTTP answers, with words a resident at the kiosk understands."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.metrics import route_template
from locker.domain.errors import (
    Closed,
    ColdPending,
    Conflict,
    DomainError,
    Held,
    Invalid,
    LockedOut,
    NotFound,
    Unavailable,
    WrongCode,
)

_FR = {
    "unknown": "Ce code n'est pas reconnu. Vérifiez-le et réessayez.",
    "used": "Ce code a déjà servi.",
    "expired": "Ce code a expiré. Contactez la conciergerie.",
    "cancelled": "Cette réservation a été annulée.",
    "pin": "Code livreur incorrect.",
    "locked_out": "Trop de codes erronés. Réessayez dans {s} secondes.",
    "unavailable": "Ce casier est momentanément indisponible. Contactez la conciergerie.",
    "held": "Ce panier n'a pas pu être conservé au froid : la conciergerie vous recontacte.",
    "held_other": "Cet article est retenu : la conciergerie vous recontacte.",
    "cold_pending": "La consigne vient de redémarrer et vérifie le froid. "
    "Réessayez dans quelques minutes.",
    "closed": "Le site est fermé : la consigne rouvre à son ouverture.",
    "cold_warning": "Attention : ce panier est resté trop longtemps au-dessus de sa "
    "température. La conciergerie est prévenue.",
}


def answer(exc: DomainError) -> JSONResponse:
    body: dict[str, object] = {"detail": exc.message, "error": exc.code}
    headers: dict[str, str] = {}
    if isinstance(exc, WrongCode):
        status = {"unknown": 404, "pin": 401}.get(exc.reason, 410)
        body["reason"] = exc.reason
        body["message_fr"] = _FR[exc.reason]
    elif isinstance(exc, LockedOut):
        status = 429
        headers["Retry-After"] = str(exc.retry_after_s)
        body["retry_after_s"] = exc.retry_after_s
        body["message_fr"] = _FR["locked_out"].format(s=exc.retry_after_s)
    elif isinstance(exc, Held):
        status = 409
        body["reason"] = exc.reason
        body["message_fr"] = _FR["held" if exc.reason == "cold_chain" else "held_other"]
    elif isinstance(exc, ColdPending):
        status = 503
        headers["Retry-After"] = "60"
        body["message_fr"] = _FR["cold_pending"]
    elif isinstance(exc, Closed):
        status = 423
        body["closed_until"] = exc.until
        body["message_fr"] = _FR["closed"]
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Invalid):
        status = 422
    elif isinstance(exc, Unavailable):
        status = 409
        body["message_fr"] = _FR["unavailable"]
    elif isinstance(exc, Conflict):
        status = 409
    else:  # pragma: no cover - every domain error has a class above
        status = 400
    return JSONResponse(body, status_code=status, headers=headers)


def cold_warning_fr() -> str:
    return _FR["cold_warning"]


# The routes where a code or a PIN is typed to open a door (or to sign in to open them):
# a body FastAPI refuses there (422, before our code runs: a code of 65 characters, a
# number for a string) is a refused attempt like a malformed code the domain refuses.
CREDENTIAL_ROUTES = frozenset(
    {
        ("POST", "/api/v1/pickups"),
        ("POST", "/api/v1/pickups/others"),
        ("POST", "/api/v1/kiosk/codes"),
        ("POST", "/api/v1/deposits"),
        ("POST", "/api/v1/courier/session"),
        ("POST", "/api/v1/staff/session"),
    }
)


def install(app: FastAPI) -> None:
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return answer(exc)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        """FastAPI's own 422 answer, unchanged (``{"detail": [...]}``), counted in
        ``locker_refusals_total{reason="invalid"}`` on the credential routes."""
        assert isinstance(exc, RequestValidationError)
        if (request.method, route_template(request.scope)) in CREDENTIAL_ROUTES:
            request.app.state.metrics.refusals.labels("invalid").inc()
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(DomainError, handler)
    app.add_exception_handler(RequestValidationError, invalid_request)
