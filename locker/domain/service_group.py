"""The service's group pickup: the other items of the person who just collected one
(:mod:`locker.domain.group`)."""

from __future__ import annotations

import hmac
import threading
from typing import Any

from locker.domain import group
from locker.domain.codes import parse_credential
from locker.domain.errors import Conflict
from locker.domain.group import RecentPickup
from locker.domain.model import Reservation
from locker.domain.service_commission import CommissionService
from locker.domain.state import LockerState, Txn

NO_RECENT = "no pickup with this code at this terminal in the last 2 minutes"


class GroupPickupService(CommissionService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # NOTE: in memory only: a window of two minutes does not survive a restart.
        self._recent: dict[str, RecentPickup] = {}
        self._recent_lock = threading.Lock()

    def _note_pickup(self, terminal: str, digits: str, res: Reservation) -> None:
        """A pickup code (never a carer's) just opened ``res`` at ``terminal``."""
        recent = RecentPickup(self._sealer.digest(digits), res.id, res.recipient, self.clock_now())
        with self._recent_lock:
            self._recent[terminal] = recent

    def _forget_pickup(self, terminal: str) -> None:
        with self._recent_lock:
            self._recent.pop(terminal, None)

    def _recent_for(self, terminal: str, code: str | None, qr: str | None) -> RecentPickup:
        locker_id, digits = parse_credential(code, qr)
        with self._recent_lock:
            recent = self._recent.get(terminal)
        fresh = recent is not None and (
            (self.clock_now() - recent.at).total_seconds() <= group.WINDOW_S
        )
        right = locker_id in (None, self.rules.locker_id)
        if recent is None or not fresh or not right:
            raise Conflict(NO_RECENT)
        if not hmac.compare_digest(recent.digest, self._sealer.digest(digits)):
            self._forget_pickup(terminal)  # one try: a guess never gets a second one
            raise Conflict(NO_RECENT)
        return recent

    def others_waiting(self, terminal: str) -> int:
        """How many other items wait for the person who just collected at ``terminal``."""
        with self._recent_lock:
            recent = self._recent.get(terminal)
        if recent is None or not recent.recipient:
            return 0

        now = self.clock_now()

        def count(state: LockerState) -> int:
            if not state.recipients.get(recent.recipient or "", set()) - {recent.reservation_id}:
                return 0  # the common case, without building a view
            return len(group.waiting(Txn(state, self._store, now), recent))

        return self._view(count)

    def pickup_others(
        self, terminal: str, code: str | None, qr: str | None = None
    ) -> tuple[list[str], list[dict[str, str]]]:
        """Open the other items of the person whose pickup code just opened a door here:
        the compartments opened, and those skipped with why."""
        return self._open_others(terminal, self._recent_for(terminal, code, qr))

    def pickup_others_scanned(self, scanner: str) -> tuple[list[str], list[dict[str, str]]]:
        """The same after a pickup through the box's serial scanner (terminal ``scanner``),
        asked by the box's own screen: the person who scanned is the one at the screen
        and typed no code there. Once: the window ends with it."""
        with self._recent_lock:
            recent = self._recent.pop(scanner, None)
        fresh = recent is not None and (
            (self.clock_now() - recent.at).total_seconds() <= group.WINDOW_S
        )
        if recent is None or not fresh:
            raise Conflict(NO_RECENT)
        return self._open_others(scanner, recent)

    def _open_others(
        self, terminal: str, recent: RecentPickup
    ) -> tuple[list[str], list[dict[str, str]]]:
        trusted = self.clock_trusted()
        rules = self.rules

        def work(txn: Txn) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
            return group.open_others(txn, rules, recent, trusted)

        opened, skipped = self._run(work)
        for cid, rid in opened:
            self._note_opened(terminal, cid, rid, pickup=True)
        return [cid for cid, _ in opened], skipped
