"""Deposits and pickups: a credential opens a door."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from api.auth import AnyRole, Depositor
from api.deps import ServiceDep
from api.errors import cold_warning_fr
from api.schemas import DepositIn, Opened, OthersIn, OthersOut, PickupIn, Skipped
from locker.domain.errors import Invalid
from locker.domain.service import LockerService

router = APIRouter(tags=["doors"])

# NOTE: the door routes are async on purpose. An operation is a few hundred
# microseconds of work under the service lock plus one disk sync: run on the event
# loop, it costs no hand-over to a worker thread (about half the pickup's latency:
# README, Benchmarks). Nothing in them waits
# on anything but the disk; a disk that hangs stalls the loop, which stops the
# systemd watchdog: the restart such a controller needs.


@router.post(
    "/deposits",
    response_model=Opened,
    response_model_exclude_none=True,
    summary="Open a compartment to deposit",
)
async def deposit(body: DepositIn, who: Depositor, service: ServiceDep) -> Opened:
    """A courier deposits a delivery by ``reservation_id`` or ``reference``; the kiosk
    deposits a dropoff with its ``deposit_code`` (or the QR payload of it)."""
    by_code = body.deposit_code is not None or body.qr_payload is not None
    by_reservation = body.reservation_id is not None or body.reference is not None
    if by_reservation and who.role == "kiosk":  # decision 5, whatever else was sent
        raise HTTPException(403, "the kiosk deposits with a deposit code only")
    if by_code == by_reservation:
        raise Invalid("give reservation_id or reference (courier), or deposit_code (kiosk)")
    if by_reservation:
        if who.role not in ("courier", "admin", "courier_session"):
            raise HTTPException(403, "the kiosk deposits with a deposit code only")
        cid = service.deposit_by_courier(body.reservation_id, body.reference)
    else:
        if who.role not in ("kiosk", "admin"):
            raise HTTPException(403, "deposit codes are typed at the kiosk")
        cid = service.deposit_with_code(who.terminal, body.deposit_code, body.qr_payload)
    return Opened(compartment=cid)


@router.post(
    "/pickups",
    response_model=Opened,
    response_model_exclude_none=True,
    summary="Open a compartment with a pickup code",
    responses={404: {"description": "unknown code"}, 429: {"description": "locked out"}},
)
async def pickup(body: PickupIn, who: AnyRole, service: ServiceDep, request: Request) -> Opened:
    if who.role not in ("kiosk", "admin"):
        raise HTTPException(403, "pickup codes are typed at the kiosk")
    cid = service.pickup(who.terminal, body.code, body.qr_payload)
    return opened(service, cid, who.terminal, group_pickup(request))


def group_pickup(request: Request) -> bool:
    return bool(request.app.state.runtime.settings.kiosk.group_pickup)


def opened(service: LockerService, cid: str, terminal: str, group: bool) -> Opened:
    """The answer to a pickup: in warn mode, says that the item's cold chain broke; with
    group pickup, how many other items wait for the same person."""
    answer = Opened(
        compartment=cid, others=service.others_waiting(terminal) or None if group else None
    )
    if service.cold_warning(cid):
        answer.warning, answer.message_fr = "cold_chain", cold_warning_fr()
    return answer


@router.post(
    "/pickups/others",
    response_model=OthersOut,
    summary="Open the other items of the person who just collected here",
    responses={409: {"description": "no pickup with this code here in the last 2 minutes"}},
)
async def pickup_others(
    body: OthersIn, who: AnyRole, service: ServiceDep, request: Request
) -> OthersOut:
    """The pickup code just used at this terminal (within 2 minutes; never a carer's code):
    the other items waiting for the same recipient open one after the other. Held items,
    and those that cannot open now, are skipped and named. With ``scanner`` (the box's
    own screen, after a pickup through its serial scanner), no code: once, within the
    same 2 minutes."""
    if who.role not in ("kiosk", "admin"):
        raise HTTPException(403, "pickup codes are typed at the kiosk")
    if not group_pickup(request):
        raise HTTPException(404, "group pickup is off (kiosk.group_pickup)")
    scans = request.app.state.runtime.scans
    if body.scanner:
        if who.role != "kiosk" or scans is None:
            raise HTTPException(409, "no serial scanner pickup at this box")
        done, skipped = service.pickup_others_scanned(scans.terminal)
        return OthersOut(opened=done, skipped=[Skipped(**s) for s in skipped])
    done, skipped = service.pickup_others(who.terminal, body.code, body.qr_payload)
    return OthersOut(opened=done, skipped=[Skipped(**s) for s in skipped])
