"""A person's rights over what the locker holds of them (issue 19): access (export) and
erasure of one reservation's personal data. Admin only (the conciergerie answers
the person's request)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from api.auth import Admin
from api.deps import RuntimeDep
from locker.domain.errors import NotFound

router = APIRouter(prefix="/reservations", tags=["privacy"])
CODES = ("deposit_code", "pickup_code", "delegate_code")  # secrets, not personal data


class Export(BaseModel):
    reservation: dict[str, Any] = Field(description="every field kept, the codes left out")
    codes: dict[str, str] = Field(
        description="for each code kept: 'sealed' (still usable) or 'used'; never the code"
    )
    events: list[dict[str, Any]] = Field(description="every event about it, codes masked")
    note: str


class Erased(BaseModel):
    reservation_id: str
    erased: list[str] = Field(description="the fields blanked")


@router.get("/{reservation_id}/export", response_model=Export, summary="Everything held of it")
def export(reservation_id: str, _who: Admin, runtime: RuntimeDep) -> Export:
    """Answers a person's access request for one reservation: its fields, and the
    event log's entries about it (``recipient`` and ``reference`` are in no event)."""
    res = runtime.service.reservation(reservation_id)  # also: every change is on disk
    if res is None:
        raise NotFound(f"no reservation {reservation_id!r}")
    fields = {k: v for k, v in dataclasses.asdict(res).items() if k not in CODES}
    codes = {
        name: "used" if code.used else "sealed"
        for name in CODES
        if (code := getattr(res, name)) is not None
    }
    events = [
        {"seq": e.seq, "type": e.type, "at": e.at, "compartment": e.compartment, **e.data}
        for e in runtime.store.events_of(reservation_id)
    ]
    return Export(
        reservation=jsonable_encoder(fields),
        codes=codes,
        events=jsonable_encoder(events),
        note="The locker holds no name, phone number or e-mail address; recipient and "
        "reference are the conciergerie's opaque ids (docs/privacy.md).",
    )


@router.delete(
    "/{reservation_id}/personal-data", response_model=Erased, summary="Erase its personal data"
)
def erase(reservation_id: str, _who: Admin, runtime: RuntimeDep) -> Erased:
    """Blank ``recipient`` and ``reference`` at once: ``reservation.erased``. Refused (409)
    while an item is in the compartment (GDPR art. 17(3)) or the booking is live."""
    before = runtime.service.reservation(reservation_id)
    runtime.service.erase_personal_data(reservation_id)
    blanked = (
        [] if before is None else [f for f in ("recipient", "reference") if getattr(before, f)]
    )
    return Erased(reservation_id=reservation_id, erased=blanked)
