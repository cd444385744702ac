"""Model-based test of the domain (hypothesis state machine) on a real SQLite file.

Invariants after every step: one reservation per compartment; a relay pulses only
for a recorded opening (a credential, a staff or server command); every opening
has its one ``door.opened`` event; no code is ever issued twice; a pickup code
opens one door once (unless the door never opened: a jam gives it back).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from locker.domain.errors import DomainError
from locker.domain.model import Kind, Size
from tests.conftest import Harness
from tests.helpers import book
from tests.reliability.scale import sized

IDS = [f"R-{i}" for i in range(10)]
DOORS = ["A1", "B1", "C1", "A2", "B2", "C2", "A3", "B3", "C3", "A4", "B4", "C4"]


class Locker(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(Path(tempfile.mkdtemp(prefix="model-")))
        self.version: Counter[str] = Counter()
        self.last_seq = 0
        self.code_owner: dict[str, str | None] = {}
        self.opened: Counter[str | None] = Counter()
        self.pickups: Counter[str | None] = Counter()
        self.jams: Counter[str | None] = Counter()

    def teardown(self) -> None:
        self.h.engine.dispose()

    def _try(self, action: Callable[[], object]) -> None:
        with contextlib.suppress(DomainError):  # refusals are part of the model
            action()

    @rule(
        rid=st.sampled_from(IDS),
        size=st.sampled_from(list(Size)),
        kind=st.sampled_from(list(Kind)),
        hours=st.integers(1, 48),
    )
    def upsert(self, rid: str, size: Size, kind: Kind, hours: int) -> None:
        self.version[rid] += 1
        now = self.h.clock.now()
        self._try(
            lambda: book(
                self.h.service,
                now,
                rid,
                self.version[rid],
                size=size,
                kind=kind,
                expires_at=now + timedelta(hours=hours),
            )
        )

    @rule(rid=st.sampled_from(IDS))
    def cancel(self, rid: str) -> None:
        self.version[rid] += 1
        self._try(lambda: self.h.service.cancel(rid, self.version[rid]))

    @rule(rid=st.sampled_from(IDS))
    def courier_deposit(self, rid: str) -> None:
        self._try(lambda: self.h.service.deposit_by_courier(rid))

    @rule(rid=st.sampled_from(IDS), use_deposit_code=st.booleans())
    def resident_code(self, rid: str, use_deposit_code: bool) -> None:
        res = self.h.service.reservation(rid)
        codes = self.h.service.codes_of(res) if res else {}
        code = codes.get("deposit_code" if use_deposit_code else "pickup_code")
        if code:
            self._try(lambda: self.h.service.use_code("kiosk-0@1", code))

    @rule(code=st.integers(0, 10**8 - 1))
    def wrong_code(self, code: int) -> None:
        self._try(lambda: self.h.service.pickup(f"kiosk-{code % 7}@2", f"{code:08d}"))

    @rule(cid=st.sampled_from(DOORS), is_open=st.booleans())
    def hand(self, cid: str, is_open: bool) -> None:
        self.h.service.door_changed(cid, is_open)

    @rule(rid=st.sampled_from(IDS))
    def take_back(self, rid: str) -> None:
        self._try(lambda: self.h.service.return_item(rid))

    @rule(cid=st.sampled_from(DOORS))
    def staff_open(self, cid: str) -> None:
        self._try(lambda: self.h.service.admin_open(cid))

    @rule(cid=st.sampled_from(DOORS), in_service=st.booleans())
    def service_state(self, cid: str, in_service: bool) -> None:
        self.h.service.set_service(cid, in_service)

    @rule(seconds=st.sampled_from([1, 5, 11, 130, 3600, 86_400]))
    def time_passes(self, seconds: int) -> None:
        self.h.clock.advance(seconds)
        self.h.service.tick()

    # -- invariants --------------------------------------------------------
    @invariant()
    def one_reservation_per_compartment(self) -> None:
        held = [r.compartment for r in self.h.service.reservations()]
        assert len(held) == len(set(held))
        assert None not in held

    @invariant()
    def the_event_log_holds(self) -> None:
        """Read the new events only (the log is checked as it grows)."""
        events = self.h.store.events(self.last_seq, 1_000_000, reveal=True)
        for e in events:
            assert e.seq == self.last_seq + 1  # gap-free
            self.last_seq = e.seq
            for key in ("pickup_code", "deposit_code"):
                if key in e.secrets:  # a code belongs to one reservation, ever
                    owner = self.code_owner.setdefault(e.secrets[key], e.reservation_id)
                    assert owner == e.reservation_id, "a code was issued twice"
            if e.type == "door.opened":
                self.opened[e.compartment] += 1
                if e.data.get("reason") == "pickup":
                    self.pickups[e.reservation_id] += 1
            if e.type == "door.jammed" and e.data.get("reason") == "pickup":
                self.jams[e.reservation_id] += 1
        for rid, n in self.pickups.items():
            assert n <= 1 + self.jams[rid], f"{rid}: one code opened a door twice"
        pulses = Counter(self.h.doors.unlocked)
        for cid, n in pulses.items():
            # never a pulse without an opening; at most max_pulses for each opening
            assert self.opened[cid] >= 1 and n <= self.opened[cid] * self.h.rules.max_pulses
        for _, _, opening in self.h.service.compartments():
            if opening is not None:
                assert self.opened[opening.compartment] >= 1


# NOTE: pytest-timeout's default (300 s) is enough here even at soak size.
Locker.TestCase.settings = settings(
    max_examples=sized(60),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TestLockerModel = Locker.TestCase
