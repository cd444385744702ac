"""Commissioning at the box (issue 18): staff, or an installer with the admin token
(``locker commission``), test every free compartment's door in turn."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import Operator
from api.deps import RuntimeDep
from api.schemas import _In
from locker.config import Settings
from locker.domain.commissioning import STEP_S, Result, Run
from locker.runtime import Runtime

router = APIRouter(prefix="/staff/commissioning", tags=["staff"])


class StartIn(_In):
    compartments: list[str] | None = Field(
        default=None, description="only these (default: every free compartment)"
    )


class StepIn(_In):
    serial: int | None = Field(
        default=None,
        description="the step's serial, as read: an answer to a step that has moved on "
        "by itself is refused (409) rather than given to the next one",
    )


class TapIn(StepIn):
    compartment: str | None = Field(description="the door that opened; null: none did")


class Fix(BaseModel):
    """The wiring of ``compartment`` as the test found it: put these in its config."""

    compartment: str
    relay_pin: int | None = None
    reed_pin: int | None = None
    board: int | None = None
    lock: int | None = None


class ResultOut(BaseModel):
    compartment: str
    outcome: str = Field(description="ok, no_door, other_door or not_shut")
    other: str | None = Field(description="other_door: the door whose switch (or lock) read open")
    popped: str | None = Field(
        default=None, description="other_door with switches: the door the person says opened"
    )
    fix: Fix | None = Field(description="other_door: the corrected wiring of that door")


class StepOut(BaseModel):
    compartment: str = Field(description="the compartment whose relay was pulsed")
    pulsed_at: datetime
    serial: int = Field(description="send it back with tap, done and repeat")
    opened: list[str] = Field(description="doors read open since the pulse")
    tapped: str | None = Field(description="the door the person said opened")
    waiting: bool = Field(description="its door reads open: it is pulsed once it reads shut")
    asking: bool = Field(
        description="another door's switch moved: which door really opened? (tap it)"
    )


class RunOut(BaseModel):
    active: bool
    hardware: str = Field(description="gpio: each door's switch tells; kerong: tap the door")
    step_s: float = Field(description="a step nobody answers stops the run this long after")
    started_at: datetime | None = Field(
        default=None, description="null: no run since the service started"
    )
    ended_at: datetime | None = None
    stopped: str | None = Field(
        default=None,
        description="why it ended before the last compartment: staff (stopped), timeout "
        f"(a step nobody answered in {STEP_S:.0f} s)",
    )
    step: StepOut | None = None
    remaining: list[str] = []
    results: list[ResultOut] = []


def _fix(settings: Settings, result: Result) -> Fix | None:
    """X's relay (or lock) opened door P, and switch S read it (S = P when only relay
    wires are swapped, S = Y with P = X when only switch wires are): P is driven by X's
    relay and read on S's pin. The pair to give P in the config."""
    if result.outcome != "other_door" or result.other is None:
        return None
    if settings.doors.hardware == "kerong":
        board, lock = settings.kerong_locks()[result.compartment]
        return Fix(compartment=result.other, board=board, lock=lock)
    if result.popped is None:  # relay or switch wires? Not said: no fix to guess
        return None
    comps = {c.id: c for c in settings.compartments}
    return Fix(
        compartment=result.popped,
        relay_pin=comps[result.compartment].relay_pin,
        reed_pin=comps[result.other].reed_pin,
    )


def _out(runtime: Runtime, run: Run | None) -> RunOut:
    settings = runtime.settings
    hardware = settings.doors.hardware
    if run is None:
        return RunOut(active=False, hardware=hardware, step_s=STEP_S)
    step = run.step
    return RunOut(
        active=run.active,
        hardware=hardware,
        step_s=STEP_S,
        started_at=run.started_at,
        ended_at=run.ended_at,
        stopped=run.stopped,
        step=None
        if step is None
        else StepOut(
            compartment=step.compartment,
            pulsed_at=step.pulsed_at,
            serial=step.serial,
            opened=list(step.opened),
            tapped=step.tapped or None,
            waiting=step.waiting,
            asking=step.asking,
        ),
        remaining=list(run.queue),
        results=[
            ResultOut(
                compartment=r.compartment,
                outcome=r.outcome,
                other=r.other,
                popped=r.popped,
                fix=_fix(settings, r),
            )
            for r in run.results
        ],
    )


@router.get("", response_model=RunOut, summary="The commissioning run")
def current(_who: Operator, runtime: RuntimeDep) -> RunOut:
    """The run going on, or the last one since the service started."""
    return _out(runtime, runtime.service.commission_run())


@router.post("", response_model=RunOut, status_code=201, summary="Start commissioning")
def start(body: StartIn, _who: Operator, runtime: RuntimeDep) -> RunOut:
    """Pulse the first free compartment (``door.opened``, reason ``commission``); the
    others follow one by one. An occupied compartment is never opened."""
    sensed = runtime.settings.doors.hardware == "gpio"
    run = runtime.service.commission_start(sensed, body.compartments)
    return _out(runtime, run)


@router.post("/tap", response_model=RunOut, summary="The door that opened")
def tap(body: TapIn, _who: Operator, runtime: RuntimeDep) -> RunOut:
    """Say which door opened (null: none). On lock boards the step then ends once the
    pulsed lock reads shut; with door switches, at once."""
    return _out(runtime, runtime.service.commission_tap(body.compartment, body.serial))


@router.post("/done", response_model=RunOut, summary="The door is shut again")
def done(_who: Operator, runtime: RuntimeDep, body: StepIn | None = None) -> RunOut:
    """Judge the step now, from what the switches read."""
    serial = None if body is None else body.serial
    return _out(runtime, runtime.service.commission_done(serial))


@router.post("/repeat", response_model=RunOut, summary="Pulse the door again")
def repeat(_who: Operator, runtime: RuntimeDep, body: StepIn | None = None) -> RunOut:
    serial = None if body is None else body.serial
    return _out(runtime, runtime.service.commission_repeat(serial))


@router.delete("", response_model=RunOut, summary="Stop commissioning")
def stop(_who: Operator, runtime: RuntimeDep) -> RunOut:
    """End the run; what was judged is kept and reported (``locker.commissioned``)."""
    return _out(runtime, runtime.service.commission_stop())
