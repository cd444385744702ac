"""Staff at the box (decision 28): the alarms to look at, the audit, their session."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import STAFF, Operator, StaffSession
from api.deps import ServiceDep
from api.schemas import Opened, _In

router = APIRouter(prefix="/staff", tags=["staff"])


class AlarmOut(BaseModel):
    at: datetime | None = Field(description="since when (null: not known)")
    kind: str = Field(
        description="out_of_service, left_open, held, audit, commission, temperature or sensor"
    )
    compartment: str | None
    zone: str | None = None
    detail: str


class AuditIn(_In):
    found: Literal["empty", "occupied"]


class AuditOut(BaseModel):
    compartment: str
    found: str
    expected: str
    mismatch: bool


class StaffSessionOut(BaseModel):
    kiosk: str | None = Field(description="the kiosk terminal the session was opened at")
    kiosk_locked_s: int | None = Field(
        description="seconds left of this kiosk's lockout by wrong codes (null: none)"
    )


@router.get("/alarms", response_model=list[AlarmOut], summary="Open alarms, newest first")
def alarms(_who: Operator, service: ServiceDep) -> list[AlarmOut]:
    return [
        AlarmOut(at=a.at, kind=a.kind, compartment=a.compartment, zone=a.zone, detail=a.detail)
        for a in service.alarms()
    ]


@router.post(
    "/audit/{compartment_id}/open",
    response_model=Opened,
    response_model_exclude_none=True,
    summary="Open for the audit",
)
def audit_open(compartment_id: str, _who: Operator, service: ServiceDep) -> Opened:
    """``door.opened`` with reason ``audit``; an out-of-service compartment opens too."""
    service.audit_open(compartment_id)
    return Opened(compartment=compartment_id)


@router.post("/audit/{compartment_id}", response_model=AuditOut, summary="What staff found")
def audit_answer(
    compartment_id: str, body: AuditIn, _who: Operator, service: ServiceDep
) -> AuditOut:
    """``compartment.audited`` with what the locker expected; a mismatch is an alarm
    until a later audit of that compartment agrees."""
    expected, mismatch = service.audit_answer(compartment_id, body.found)
    return AuditOut(
        compartment=compartment_id, found=body.found, expected=expected, mismatch=mismatch
    )


@router.get("/session", response_model=StaffSessionOut, summary="This staff session")
def session(who: StaffSession, service: ServiceDep) -> StaffSessionOut:
    assert who.role == STAFF
    locked = service.lockouts().get(who.home or "")
    return StaffSessionOut(kiosk=who.home, kiosk_locked_s=locked)
