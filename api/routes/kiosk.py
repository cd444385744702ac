"""What the kiosk screen uses: one code entry, courier sign-in, the live stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.auth import (
    CourierSession,
    CourierUser,
    Kiosk,
    KioskUser,
    Principal,
    Sessions,
    StaffSession,
    bearer,
)
from api.deps import ServiceDep
from api.live import LiveHub
from api.routes.access import group_pickup, opened
from api.schemas import Opened, PickupIn, _In
from locker.domain.model import Kind, Purpose, State
from locker.pins import verify_pin

router = APIRouter(tags=["kiosk"])


class CodeOpened(Opened):
    purpose: str = Field(description="pickup or deposit")
    reopen: bool | None = Field(
        default=None,
        description="true: a spent pickup code opened its door again, within its re-open window",
    )


class PinIn(_In):
    pin: str = Field(pattern=r"^[0-9]{4,12}$")


class CourierToken(BaseModel):
    """A short-lived session token for a PIN (courier or staff)."""

    token: str
    idle_timeout_s: float


class Parcel(BaseModel):
    reservation_id: str
    reference: str | None
    size: str
    compartment: str | None


@router.post(
    "/kiosk/codes",
    response_model=CodeOpened,
    response_model_exclude_none=True,
    summary="Open with any code",
)
async def use_code(body: PickupIn, who: Kiosk, service: ServiceDep, request: Request) -> CodeOpened:
    """A code typed or scanned at the kiosk: a pickup code, or a dropoff's deposit code.
    Async on purpose, as the door routes (api/routes/access.py)."""
    purpose, cid = service.use_code(who.terminal, body.code, body.qr_payload)
    if purpose is Purpose.REOPEN:  # the same door again, within its re-open window
        return CodeOpened(compartment=cid, purpose=Purpose.PICKUP.value, reopen=True)
    group = group_pickup(request)
    pickup = purpose is Purpose.PICKUP
    answer = opened(service, cid, who.terminal, group) if pickup else Opened(compartment=cid)
    return CodeOpened(**answer.model_dump(), purpose=purpose.value)


def _session_for_pin(
    pin: str,
    hashes: list[str],
    sign_in: Callable[[str, Callable[[], bool]], None],
    who: Principal,
    sessions: Sessions,
    home: str | None = None,
) -> CourierToken:
    """A PIN at the kiosk: checked against ``hashes`` (slow, outside the service lock),
    counted by ``sign_in`` when wrong (which raises), a session when right."""
    ok = bool(hashes) and verify_pin(pin, hashes)
    sign_in(who.terminal, lambda: ok)
    if not ok:  # pragma: no cover - sign_in raised already
        raise AssertionError
    return CourierToken(token=sessions.open(home=home), idle_timeout_s=sessions.idle_s)


@router.post(
    "/courier/session",
    response_model=CourierToken,
    status_code=201,
    responses={401: {"description": "wrong PIN"}, 429: {"description": "locked out"}},
)
def courier_sign_in(body: PinIn, who: Kiosk, request: Request, service: ServiceDep) -> CourierToken:
    """A courier's PIN at the kiosk gives a token that may only list parcels awaiting
    deposit and deposit them; it ends after ``kiosk.courier_idle_s`` without use."""
    hashes = request.app.state.runtime.settings.kiosk.courier_pin_hashes
    sessions = request.app.state.courier_sessions
    return _session_for_pin(body.pin, hashes, service.courier_sign_in, who, sessions)


class StaffPinIn(_In):
    pin: str = Field(pattern=r"^[0-9]{8,12}$")


@router.post(
    "/staff/session",
    response_model=CourierToken,
    status_code=201,
    responses={401: {"description": "wrong PIN"}, 429: {"description": "locked out"}},
)
def staff_sign_in(
    body: StaffPinIn, who: Kiosk, request: Request, service: ServiceDep
) -> CourierToken:
    """A staff PIN at the kiosk gives a token for staff actions at this box (decision 28);
    it ends after ``kiosk.staff_idle_s`` without use. Wrong staff PINs have their own
    lockout, apart from the residents' wrong codes at this kiosk."""
    hashes = request.app.state.runtime.settings.kiosk.staff_pin_hashes
    sessions = request.app.state.staff_sessions
    return _session_for_pin(body.pin, hashes, service.staff_sign_in, who, sessions, who.terminal)


@router.delete("/staff/session", status_code=204, summary="Staff sign out")
def staff_sign_out(_who: StaffSession, request: Request) -> Response:
    sessions: Sessions = request.app.state.staff_sessions
    sessions.close(bearer(request))
    return Response(status_code=204)


@router.delete("/courier/session", status_code=204, summary="Courier signs out")
def courier_sign_out(_who: CourierSession, request: Request) -> Response:
    sessions: Sessions = request.app.state.courier_sessions
    sessions.close(bearer(request))
    return Response(status_code=204)


@router.get("/courier/parcels", response_model=list[Parcel], summary="Parcels awaiting deposit")
def parcels(_who: CourierUser, service: ServiceDep) -> list[Parcel]:
    return [
        Parcel(
            reservation_id=r.id, reference=r.reference, size=r.size.value, compartment=r.compartment
        )
        for r in service.reservations()
        if r.kind is Kind.DELIVERY and r.state is State.ACCEPTED
    ]


async def get_hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live
    return hub


@router.get("/kiosk/stream", summary="Live door changes (server-sent events)")
def stream(_who: KioskUser, hub: Annotated[LiveHub, Depends(get_hub)]) -> StreamingResponse:
    return StreamingResponse(
        hub.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class ProblemIn(_In):
    compartment: str = Field(max_length=16)
    problem: Literal["empty", "damaged", "wrong_item", "door", "other"]
    keep: bool = Field(default=False, description="damaged only: the person keeps the item")


class ProblemOut(BaseModel):
    outcome: str = Field(description="held (staff will look), kept or recorded")
    message_fr: str
    message_en: str
    phone: str


_NEXT = {
    "held": (
        "Merci. L'article reste dans la consigne : la conciergerie vérifie et vous recontacte.",
        "Thank you. The item stays in the locker: the conciergerie checks and will contact you.",
    ),
    "kept": (
        "Merci. Le problème est noté : la conciergerie vous recontacte.",
        "Thank you. The problem is noted: the conciergerie will contact you.",
    ),
    "recorded": (
        "Merci. Le problème est transmis à la conciergerie.",
        "Thank you. The problem has been passed on to the conciergerie.",
    ),
}


@router.post("/kiosk/problems", response_model=ProblemOut, summary="Report a problem")
def report_problem(
    body: ProblemIn, who: Kiosk, service: ServiceDep, request: Request
) -> ProblemOut:
    """A person reports a problem with the compartment that opened for them at this kiosk
    in the last 10 minutes: ``parcel.problem``, and the item follows decision 32."""
    scans = request.app.state.runtime.scans  # the box's scanner: its screen is this kiosk
    also = (scans.terminal,) if scans is not None and who.role == "kiosk" else ()
    outcome = service.report_problem(
        who.terminal, body.compartment, body.problem, body.keep, also=also
    )
    fr, en = _NEXT[outcome]
    phone = request.app.state.runtime.settings.phone
    return ProblemOut(outcome=outcome, message_fr=fr, message_en=en, phone=phone)
