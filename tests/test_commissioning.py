"""Commissioning through the service (fixed clock, recording doors, real SQLite): a
"cabinet" maps each relay to the physical door it really opens and each door to how
its switch really reads, and plays the person who pulls the door and shuts it."""

from __future__ import annotations

import pytest

from locker.domain import commissioning
from locker.domain.errors import Conflict
from locker.domain.model import Size
from tests.conftest import Harness
from tests.helpers import book


class Cabinet:
    """The physical truth behind the config: ``relay_opens[X]`` is the door X's relay
    really opens (None: not wired); ``switch_of[D]`` the compartment whose reed pin
    door D's switch is really wired to; ``reed[S]`` how switch S reads: ``ok``,
    ``missing`` (always open) or ``reversed`` (open when shut)."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.relay_opens: dict[str, str | None] = {}
        self.switch_of: dict[str, str] = {}
        self.reed: dict[str, str] = {}
        self.seen = 0
        self.popped: str | None = None  # the door that opened at the last pulse

    def reads_open(self, door: str, physically_open: bool) -> bool:
        how = self.reed.get(door, "ok")
        return True if how == "missing" else physically_open != (how == "reversed")

    def settle(self) -> None:
        """Every switch as it reads with every door shut (as at start)."""
        for comp, _, _ in self.h.service.compartments():
            self.h.doors.levels[comp.id] = self.reads_open(comp.id, False)
        self.h.service.reconcile_doors()

    def person(self) -> None:
        """Answer the last pulse, if any: pull the door that popped, shut it again."""
        pulsed = self.h.doors.unlocked[self.seen :]
        self.seen = len(self.h.doors.unlocked)
        assert len(pulsed) <= 1, pulsed
        self.popped = None
        if not pulsed:  # its door reads open: not pulsed until it reads shut
            return
        door = self.popped = self.relay_opens.get(pulsed[0], pulsed[0])
        if door is None:
            return
        switch = self.switch_of.get(door, door)
        for physically_open in (True, False):
            self.h.service.door_changed(switch, self.reads_open(switch, physically_open))


def now(h: Harness) -> commissioning.Run:
    """The run as it stands (the service answers copies)."""
    run = h.service.commission_run()
    assert run is not None
    return run


def run_all(h: Harness, cab: Cabinet, only: list[str] | None) -> commissioning.Run:
    run = h.service.commission_start(sensed=True, only=only)
    while run.active:
        step = run.step
        assert step is not None
        cab.person()
        run = now(h)
        current = run.step
        if current is not None and current.compartment == step.compartment:
            h.clock.advance(20)
            if current.asking:  # another switch moved: the person says which door opened
                run = h.service.commission_tap(cab.popped)
            elif current.waiting or cab.popped is not None:  # "I shut it"
                run = h.service.commission_done()
            else:  # nothing popped: the person says so
                run = h.service.commission_tap(None)
    return run


def outcomes(run: commissioning.Run) -> dict[str, tuple[str, str | None]]:
    return {r.compartment: (r.outcome, r.other) for r in run.results}


def popped(run: commissioning.Run) -> dict[str, str | None]:
    return {r.compartment: r.popped for r in run.results if r.outcome == "other_door"}


def test_every_wiring_fault_is_found_and_reported_exactly(harness: Harness) -> None:
    h, cab = harness, Cabinet(harness)
    cab.relay_opens = {"A2": "C2", "C2": "A2", "A3": None}  # two swapped, one not wired
    cab.switch_of = {"B2": "B3", "B3": "B2"}  # their switches swapped, relays right
    cab.reed = {"B4": "missing", "C4": "reversed"}
    cab.settle()
    run = run_all(h, cab, ["A1", "A2", "C2", "A3", "B4", "C4", "B2", "B3"])
    assert outcomes(run) == {
        "A1": ("ok", None),
        "A2": ("other_door", "C2"),
        "C2": ("other_door", "A2"),
        "A3": ("no_door", None),
        "B4": ("not_shut", None),
        "C4": ("not_shut", None),
        "B2": ("other_door", "B3"),
        "B3": ("other_door", "B2"),
    }
    # the person's word tells swapped relays (the other door popped) from swapped
    # switches (its own door popped, the other's switch moved): two different fixes
    assert popped(run) == {"A2": "C2", "C2": "A2", "B2": "B2", "B3": "B3"}
    events = h.service.events(0, 1000)
    tested = [e for e in events if e.type == "locker.commissioned"]
    assert len(tested) == 1
    results = tested[0].data["results"]
    assert isinstance(results, list) and results[1] == {
        "compartment": "A2",
        "outcome": "other_door",
        "other": "C2",
    }
    opened = [e.compartment for e in events if e.type == "door.opened"]
    assert opened == ["A1", "A2", "B2", "C2", "A3", "B3"]  # B4, C4 never read shut
    assert all(e.data["reason"] == "commission" for e in events if e.type == "door.opened")
    assert not [e for e in events if e.type in ("door.forced_open", "door.jammed")]
    comps = h.service.compartments_by_id()
    assert comps["A2"].commission == "other_door" and comps["A1"].commission == "ok"
    assert comps["C2"].in_service  # out of booking, not out of service


def test_a_door_open_when_its_turn_comes_is_pulsed_once_shut(harness: Harness) -> None:
    h, cab = harness, Cabinet(harness)
    h.doors.levels["A1"] = True  # left open by the electrician
    h.service.reconcile_doors()
    run = h.service.commission_start(sensed=True, only=["A1", "B1"])
    assert run.step is not None and run.step.waiting and h.doors.unlocked == []
    h.service.door_changed("A1", False)  # shut: now it is pulsed
    assert h.doors.unlocked == ["A1"] and not now(h).step.waiting  # type: ignore[union-attr]
    cab.seen = 0
    cab.person()
    assert outcomes(now(h)) == {"A1": ("ok", None)}
    h.service.commission_stop()


def test_an_occupied_door_opening_during_a_step_is_forced_open(harness: Harness) -> None:
    h = harness
    res = book(h.service, h.clock.now(), size=Size.S)
    assert res is not None and res.compartment is not None
    cid = res.compartment
    h.service.commission_start(sensed=True, only=["A1"])
    h.service.door_changed(cid, True)  # not the run's: that door is booked
    comps = h.service.compartments_by_id()
    assert not comps[cid].in_service
    assert [e.compartment for e in h.service.events(0, 100) if e.type == "door.forced_open"] == [
        cid
    ]
    step = now(h).step
    assert step is not None and step.opened == []


def test_failed_compartments_are_not_booked_until_they_pass(harness: Harness) -> None:
    h, cab = harness, Cabinet(harness)
    cab.relay_opens = {"C1": None}
    run_all(h, cab, ["C1"])
    medium = [c.id for c, _, _ in h.service.compartments() if c.spec.size is Size.M]
    for n, _ in enumerate(medium):
        book(h.service, h.clock.now(), rid=f"R-{n}", size=Size.M)
    booked = {r.compartment for r in h.service.reservations() if r.compartment}
    assert "C1" not in booked and len(booked) == len(medium)  # a larger one instead
    cab.relay_opens = {}  # the electrician wires the relay
    assert outcomes(run_all(h, cab, ["C1"])) == {"C1": ("ok", None)}
    book(h.service, h.clock.now(), rid="R-last", size=Size.M)
    assert h.service.reservation("R-last").compartment == "C1"  # type: ignore[union-attr]


def test_a_run_never_opens_an_occupied_compartment(harness: Harness) -> None:
    h, cab = harness, Cabinet(harness)
    res = book(h.service, h.clock.now(), size=Size.S)
    assert res is not None and res.compartment is not None
    run = run_all(h, cab, None)
    tested = {r.compartment for r in run.results}
    assert res.compartment not in tested
    assert len(tested) == len(h.service.compartments()) - 1
    assert res.compartment not in h.doors.unlocked


def test_the_person_taps_the_door_on_lock_boards(harness: Harness) -> None:
    """Kerong: the lock reads open from its unlock until its hook is pushed shut, so the
    switch cannot say which door opened; the person's tap does."""
    h = harness
    run = h.service.commission_start(sensed=False, only=["A1", "B1", "C1", "A2"])
    person = [("A1", "A1", True), ("B1", "C1", True), ("C1", None, False), ("A2", "A2", False)]
    for cid, tapped, latches in person:
        assert run.step is not None and run.step.compartment == cid
        h.service.door_changed(cid, True)  # the board: the lock is unlocked
        run = h.service.commission_tap(tapped)
        if tapped is None:
            continue  # no door opened: the step ends at once
        assert run.step is not None and run.step.compartment == cid  # waits for the hook
        if latches:
            h.service.door_changed(cid, False)  # pushed shut: the hook latches
            run = now(h)
        else:
            run = h.service.commission_done()  # "I shut it", the lock still reads open
    assert not run.active
    assert outcomes(run) == {
        "A1": ("ok", None),
        "B1": ("other_door", "C1"),
        "C1": ("no_door", None),
        "A2": ("not_shut", None),
    }


def test_a_step_nobody_answers_stops_the_run(harness: Harness) -> None:
    """The kiosk page went away: the run does not go on popping doors and marking each
    one failed; the step's compartment keeps its former outcome."""
    h = harness
    h.service.commission_start(sensed=True, only=["A1", "B1", "C1"])
    h.service.commission_tap(None)  # A1: no door opened
    h.clock.advance(commissioning.STEP_S - 1)
    h.service.tick()
    assert now(h).active
    h.clock.advance(2)
    h.service.tick()
    run = now(h)
    assert not run.active and run.stopped == "timeout"
    assert outcomes(run) == {"A1": ("no_door", None)}
    assert h.doors.unlocked == ["A1", "B1"]  # C1 never popped
    comps = h.service.compartments_by_id()
    assert comps["B1"].commission is None and comps["C1"].commission is None
    assert not [c for c, _, o in h.service.compartments() if o is not None]  # no cycle left
    with pytest.raises(Conflict):
        h.service.commission_done()
    results = [
        e.data["results"] for e in h.service.events(0, 100) if e.type == "locker.commissioned"
    ]
    assert results == [[{"compartment": "A1", "outcome": "no_door", "other": None}]]


def test_a_tap_before_the_board_reads_the_lock_open_waits_for_the_latch(
    harness: Harness,
) -> None:
    """Kerong boards are polled: a tap may come before the unlocked lock is read open.
    The step is judged only once that lock is seen to latch again."""
    h = harness
    h.service.commission_start(sensed=False, only=["A1", "B1"])
    run = h.service.commission_tap("A1")  # the board has not been read yet
    assert run.step is not None and run.step.compartment == "A1" and not run.results
    h.service.door_changed("A1", True)  # the poll reads the lock open ...
    assert now(h).step is not None and not now(h).results
    h.service.door_changed("A1", False)  # ... and latched once pushed shut
    assert outcomes(now(h)) == {"A1": ("ok", None)}
    h.service.commission_tap("B1")  # B1's lock never reads open (its status line) ...
    run = h.service.commission_done()  # ... whatever the person saw: not ok
    assert outcomes(run)["B1"] == ("no_door", None)
    assert run.stopped is None and not run.active


def test_outcomes_survive_a_restart_and_a_run_does_not(harness: Harness) -> None:
    h, cab = harness, Cabinet(harness)
    cab.relay_opens = {"A1": None}
    run_all(h, cab, ["A1"])
    h.service.commission_start(sensed=True, only=["B1"])
    service = h.reopen()
    service.reconcile_doors()
    comps = service.compartments_by_id()
    assert comps["A1"].commission == "no_door" and comps["B1"].commission is None
    assert service.commission_run() is None
    assert not [c for c, _, o in service.compartments() if o is not None]  # no cycle left
    assert not [e for e in service.events(0, 1000) if e.type == "door.jammed"]


def test_an_answer_to_a_step_that_moved_on_is_refused(harness: Harness) -> None:
    """The door shut and the step ended by itself; the person then presses "shut" as told:
    that answer is not given to the next compartment."""
    h = harness
    run = h.service.commission_start(sensed=True, only=["A1", "B1"])
    assert run.step is not None
    first = run.step.serial
    h.cycle_door("A1")
    with pytest.raises(Conflict, match="that step is over"):
        h.service.commission_done(first)
    run = now(h)
    assert outcomes(run) == {"A1": ("ok", None)} and run.step is not None
    assert run.step.compartment == "B1" and run.step.serial != first


def test_while_asking_only_a_door_is_an_answer(harness: Harness) -> None:
    h = harness
    h.service.commission_start(sensed=True, only=["A1"])
    h.service.door_changed("B1", True)  # another door's switch: relay or switch wires?
    step = now(h).step
    assert step is not None and step.asking
    with pytest.raises(Conflict, match="say which door opened"):
        h.service.commission_done()
    with pytest.raises(Conflict, match="say which door opened"):
        h.service.commission_tap(None)
    h.service.door_changed("B1", False)
    run = h.service.commission_tap("B1")
    assert outcomes(run) == {"A1": ("other_door", "B1")} and popped(run) == {"A1": "B1"}


def test_a_waiting_door_takes_no_tap_and_an_unread_door_is_a_switch_fault(
    harness: Harness,
) -> None:
    h = harness
    h.doors.levels["A1"] = True
    h.service.reconcile_doors()
    h.service.commission_start(sensed=False, only=["A1", "B1", "C1"])
    with pytest.raises(Conflict, match="shut it first"):
        h.service.commission_tap("A1")
    h.service.commission_done()  # "it is shut", and it still reads open
    h.service.commission_done()  # B1: "I shut it", nothing read, nothing tapped
    h.clock.advance(commissioning.STEP_S - 10)
    h.service.door_changed("C1", True)  # C1's lock reads open, after a long while
    h.clock.advance(15)
    h.service.tick()  # someone is there: no timeout
    run = h.service.commission_tap("C1")
    assert run.active and run.step is not None and run.step.compartment == "C1"
    h.service.door_changed("C1", False)  # latched
    assert outcomes(now(h)) == {
        "A1": ("not_shut", None),  # never read shut
        "B1": ("no_door", None),  # Kerong: the lock never read open
        "C1": ("ok", None),
    }
    assert now(h).stopped is None


def test_with_switches_done_with_nothing_read_is_the_switch(harness: Harness) -> None:
    h = harness
    h.service.commission_start(sensed=True, only=["A1", "B1"])
    h.service.commission_done()  # a door opened and shut, says the person: unread
    run = h.service.commission_tap(None)  # B1: nothing opened
    assert outcomes(run) == {"A1": ("not_shut", None), "B1": ("no_door", None)}
