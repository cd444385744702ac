"""Commissioning: every free compartment's door tested in turn, before residents rely on it.

A run pulses one compartment's relay at a time (``door.opened``, reason
``commission``); the person at the cabinet pulls the door that popped and shuts it
again. What happened is read from every door's switch (GPIO reed switches) or, where
the doors have none of their own (Kerong lock boards, whose lock reads open until
its hook is pushed shut), from the door the person taps on the drawing:

- ``ok``: the expected door opened and read shut again;
- ``no_door``: no door opened (relay or lock not wired);
- ``other_door``: another door opened (two doors swapped), named in ``other``;
- ``not_shut``: the door did not read shut again, or never read open while it opened
  (reed switch missing, reversed, or not on its pin).

With switches, a swapped pair reads the same whether the relay wires or the switch
wires are swapped: when another door's switch moves, the person is asked which door
really opened, so that the fix proposed is the right one. A door that reads open
when its turn comes is not pulsed until it reads shut (or the person says it is shut:
``not_shut``). Each outcome is kept on its compartment: one that failed is not booked
until a later run passes it; one never commissioned works as before. The run ends
with a ``locker.commissioned`` event holding the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from locker.domain import doors
from locker.domain.errors import Conflict, Invalid
from locker.domain.model import Purpose
from locker.domain.state import Txn

OUTCOMES = ("ok", "no_door", "other_door", "not_shut")
STEP_S = 120.0  # a step no one answers stops the run this long after its pulse


@dataclass(frozen=True, slots=True)
class Result:
    compartment: str
    outcome: str
    other: str | None = None  # other_door: the door whose switch (or lock) read open
    popped: str | None = None  # other_door with switches: the door the person says opened


@dataclass(slots=True)
class Step:
    """The compartment under test, and what was seen since its pulse."""

    compartment: str
    pulsed_at: datetime  # or since when it waits to read shut
    serial: int = 0  # which step, and phase of it, an answer is meant for
    touched_at: datetime | None = None  # the last sign of someone at it (for the timeout)
    opened: list[str] = field(default_factory=list)  # doors read open since, in order
    shut: set[str] = field(default_factory=set)  # of those, read shut again
    tapped: str | None = None  # the door the person says opened ("" for none)
    waiting: bool = False  # it read open when its turn came: not pulsed until shut
    asking: bool = False  # another door's switch moved: which door really opened?


@dataclass(slots=True)
class Run:
    """One commissioning run. ``sensed``: each door has its own switch (GPIO)."""

    sensed: bool
    queue: list[str]
    started_at: datetime
    step: Step | None = None
    results: list[Result] = field(default_factory=list)
    ended_at: datetime | None = None
    stopped: str | None = None  # why it ended before the last compartment: staff, timeout
    serial: int = 0  # the last step's serial

    @property
    def active(self) -> bool:
        return self.ended_at is None


def testable(txn: Txn, cid: str) -> bool:
    """Free of any item or booking, and no door cycle of its own running."""
    return txn.holder(cid) is None and txn.opening(cid) is None


def start(txn: Txn, sensed: bool, only: list[str] | None = None) -> Run:
    """A run over the free compartments (or those of ``only``), its first door pulsed."""
    known = {c.id for c in txn.compartments()}
    unknown = sorted(set(only or ()) - known)
    if unknown:
        raise Invalid(f"no compartment {', '.join(unknown)}")
    wanted = [c.id for c in txn.compartments() if only is None or c.id in only]
    queue = [cid for cid in wanted if testable(txn, cid)]
    if not queue:
        raise Conflict("no free compartment to commission")
    run = Run(sensed=sensed, queue=queue, started_at=txn.now)
    _next(txn, run)
    return run


def _next(txn: Txn, run: Run) -> None:
    """Pulse the next compartment still free (one booked meanwhile is left alone); one
    whose door reads open waits to read shut first."""
    run.step = None
    while run.queue:
        cid = run.queue.pop(0)
        if not testable(txn, cid):
            continue
        run.serial += 1
        if txn.compartment(cid).door_open:
            run.step = Step(cid, txn.now, run.serial, txn.now, waiting=True)
        else:
            doors.start_opening(txn, cid, Purpose.COMMISSION, by="staff")
            run.step = Step(cid, txn.now, run.serial, txn.now)
        return
    run.ended_at = txn.now
    _report(txn, run)


def _report(txn: Txn, run: Run) -> None:
    if run.results:
        txn.emit(
            "locker.commissioned",
            results=[
                {"compartment": r.compartment, "outcome": r.outcome, "other": r.other}
                for r in run.results
            ],
        )


def watches(run: Run | None, txn: Txn, cid: str) -> bool:
    """Whether a change of ``cid``'s door belongs to the run: the door under test, or a
    free door with no cycle of its own while a step runs (the pulse may have opened it).
    An occupied door is never the run's: opened, it is forced open, as at any time."""
    if run is None or run.step is None:
        return False
    return cid == run.step.compartment or testable(txn, cid)


def door_seen(txn: Txn, run: Run, cid: str, is_open: bool) -> None:
    """A door's switch changed while a step runs (:func:`watches` said so)."""
    step = run.step
    assert step is not None
    comp = txn.compartment(cid)
    if comp.door_open == is_open:
        return
    since = txn.now if is_open else None
    txn.put_compartment(
        comp.with_(door_open=is_open, door_open_since=since, left_open_reported=False)
    )
    step.touched_at = txn.now
    if step.waiting:
        if cid == step.compartment and not is_open:  # shut at last: its test begins
            doors.start_opening(txn, cid, Purpose.COMMISSION, by="staff")
            run.serial += 1  # an answer meant for the waiting is not one for the test
            step.waiting, step.pulsed_at, step.serial = False, txn.now, run.serial
        return
    if is_open:
        if cid not in step.opened:
            step.opened.append(cid)
        step.shut.discard(cid)
        if run.sensed and cid != step.compartment:  # which door really opened?
            step.asking = True
        return
    if cid in step.opened:
        step.shut.add(cid)
    if not run.sensed:  # the pulsed lock latched after the person said which door opened
        if cid == step.compartment and step.tapped is not None:
            _finish(txn, run, *_judge(txn, run))
    elif step.compartment in step.shut and not step.asking:  # it opened and shut again
        _finish(txn, run, *_judge(txn, run))


def tap(txn: Txn, run: Run, opened: str | None, serial: int | None = None) -> None:
    """The person says which door opened (None: none did). On lock boards the step ends
    once the pulsed lock reads shut again; with switches, at once."""
    step = _step(run, serial)
    if opened is not None:
        txn.compartment(opened)  # NotFound for a door not in the layout
    if step.waiting:
        raise Conflict(f"door {step.compartment} reads open: shut it first (or say it is)")
    if step.asking and opened is None:
        raise Conflict(
            f"another door's switch moved: say which door opened, {step.compartment} or another"
        )
    step.tapped = opened or ""
    step.touched_at = txn.now
    cid = step.compartment
    # NOTE: a lock board is read every few hundred ms: a lock not yet seen open may be
    # about to be, and must then be seen to latch before the step is judged.
    latched = cid in step.opened and not txn.compartment(cid).door_open
    if opened is None or run.sensed or latched:
        _finish(txn, run, *_judge(txn, run))


def done(txn: Txn, run: Run, serial: int | None = None) -> None:
    """The person says they shut the door: judge it now."""
    step = _step(run, serial)
    if step.asking:
        raise Conflict("another door's switch moved: say which door opened first")
    _finish(txn, run, *_judge(txn, run))


def repeat(txn: Txn, run: Run, serial: int | None = None) -> None:
    """Pulse the door under test once more (the person missed it)."""
    step = _step(run, serial)
    if step.waiting:
        raise Conflict(f"door {step.compartment} reads open: shut it first")
    txn.emit("door.opened", compartment=step.compartment, reason="commission", by="staff")
    txn.unlocks.append(step.compartment)
    step.pulsed_at = step.touched_at = txn.now


def stop(txn: Txn, run: Run, why: str = "staff") -> None:
    """End the run now: the compartment under test keeps its former outcome."""
    if run.step is not None:
        txn.end_opening(run.step.compartment)
    run.queue.clear()
    run.step = None
    run.ended_at = txn.now
    run.stopped = why
    _report(txn, run)


def tick(txn: Txn, run: Run) -> None:
    """A step nobody answered: nobody is at the cabinet any more (the kiosk page went
    away). The run stops there rather than pop one door after the other and mark each
    failed; the compartment under test keeps its former outcome."""
    step = run.step
    if (
        step is not None
        and (txn.now - (step.touched_at or step.pulsed_at)).total_seconds() >= STEP_S
    ):
        stop(txn, run, "timeout")


def _step(run: Run, serial: int | None = None) -> Step:
    """The step running; ``serial``: the one the answer was meant for, if it still is
    (the person answers a step that has just moved on by itself: not the next one's)."""
    if run.step is None:
        raise Conflict("no commissioning step is running")
    if serial is not None and serial != run.step.serial:
        raise Conflict(f"that step is over: {run.step.compartment} is being tested now")
    return run.step


def _judge(txn: Txn, run: Run) -> tuple[str, str | None]:
    step = _step(run)
    cid = step.compartment
    still_open = txn.compartment(cid).door_open
    if step.waiting:  # it never read shut: a switch missing, or reversed
        return "not_shut", None
    if not run.sensed:  # the person's word for which door; the lock's for shut
        if not step.tapped or cid not in step.opened:  # or the lock never read open
            return "no_door", None
        if still_open:
            return "not_shut", None
        return ("ok", None) if step.tapped == cid else ("other_door", step.tapped)
    others = [d for d in step.opened if d != cid]
    if cid in step.shut and step.tapped in (None, cid):
        return "ok", None
    if others:
        return "other_door", others[0]
    if still_open:  # it read open and never shut, or reads open whatever the door does
        return "not_shut", None
    if step.tapped == "":  # nothing opened, the person says so: relay or lock
        return "no_door", None
    return "not_shut", None  # a door opened, the person says, and no switch read it


def _finish(txn: Txn, run: Run, outcome: str, other: str | None) -> None:
    step = _step(run)
    cid = step.compartment
    txn.end_opening(cid)
    comp = txn.compartment(cid)
    txn.put_compartment(comp.with_(commission=outcome, commissioned_at=txn.now))
    popped = step.tapped or None if run.sensed and outcome == "other_door" else None
    run.results.append(Result(cid, outcome, other, popped))
    _next(txn, run)
