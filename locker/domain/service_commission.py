"""The service's side of commissioning (:mod:`locker.domain.commissioning`): one run
at a time, in memory (a restart ends it; the outcomes already recorded stay)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from locker.domain import commissioning, doors
from locker.domain.commissioning import Run
from locker.domain.errors import Conflict
from locker.domain.service_staff import StaffService
from locker.domain.state import Txn


class CommissionService(StaffService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commission: Run | None = None  # the current run, or the last one

    def commission_start(self, sensed: bool, only: list[str] | None = None) -> Run:
        """Start a run over the free compartments (``only``: some of them). ``sensed``:
        each door has its own switch; else the person says which door opened."""

        def work(txn: Txn) -> Run:
            if self._commission is not None and self._commission.active:
                raise Conflict("a commissioning run is already going on")
            self._commission = commissioning.start(txn, sensed, only)
            return copy.deepcopy(self._commission)

        return self._run(work)

    def commission_tap(self, opened: str | None, serial: int | None = None) -> Run:
        """The door that opened (None: none did). ``serial``: the step it answers (an
        answer to a step that has moved on by itself is refused, not given the next)."""
        return self._on_run(lambda txn, run: commissioning.tap(txn, run, opened, serial))

    def commission_done(self, serial: int | None = None) -> Run:
        """The person shut the door again: judge the step now."""
        return self._on_run(lambda txn, run: commissioning.done(txn, run, serial))

    def commission_repeat(self, serial: int | None = None) -> Run:
        """Pulse the door under test once more."""
        return self._on_run(lambda txn, run: commissioning.repeat(txn, run, serial))

    def commission_stop(self) -> Run:
        """End the run; the results so far are kept and reported."""
        return self._on_run(lambda txn, run: commissioning.stop(txn, run))

    def commission_run(self) -> Run | None:
        """The current run, or the last one since the start (None: none yet): a copy,
        as every run this class answers (door changes go on changing the run)."""
        return self._view(lambda state: copy.deepcopy(self._commission))

    def _on_run(self, act: Callable[[Txn, Run], None]) -> Run:
        def work(txn: Txn) -> Run:
            run = self._commission
            if run is None or not run.active:
                raise Conflict("no commissioning run is going on")
            act(txn, run)
            return copy.deepcopy(run)

        return self._run(work)

    def _door_work(self, txn: Txn, cid: str, is_open: bool) -> None:
        """A door's switch changed: the run's, while a step runs, else the door cycle's."""
        run = self._commission
        if run is not None and run.active and commissioning.watches(run, txn, cid):
            commissioning.door_seen(txn, run, cid, is_open)
        else:
            doors.door_changed(txn, self.rules, self._sealer, cid, is_open)

    def _commission_tick(self, txn: Txn) -> None:
        run = self._commission
        if run is not None and run.active:
            commissioning.tick(txn, run)
