"""The service's side of the host site's hours: open or closed now, the schedule with
the server's closures (kept in the meta data, so across restarts), the refusal of
residents' codes while a site that cannot be reached is closed (decision 36), and the
time given back to the items inside (:mod:`locker.domain.deadlines`)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from locker.domain import deadlines
from locker.domain.core import CLOCK_HIGH_WATER, ServiceCore
from locker.domain.errors import Closed
from locker.domain.hours import CLOSURES, Hours
from locker.domain.state import Txn


class HoursService(ServiceCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hours_lock = threading.Lock()
        self._hours = self.rules.hours
        # NOTE: the clock's last mark before this start: the locker was down since then.
        # Kept in the meta data by the first operation, so that a start on an untrusted
        # clock (no NTP yet) still counts it once the clock is trusted.
        pending = self._state.meta.get(deadlines.DOWN_SINCE)  # an earlier start's: it stays
        self._boot_mark = None if pending else self._state.meta.get(CLOCK_HIGH_WATER)
        # (open, closed_until, good until): a cache, computed again at each change
        self._site: tuple[bool, datetime | None, datetime | None] | None = None

    def schedule(self) -> Hours:
        """The config's hours with the server's closures."""
        hours = deadlines.schedule(self.rules, self._state.meta.get(CLOSURES))
        with self._hours_lock:
            if hours is not self._hours:
                self._hours, self._site = hours, None
        return hours

    def site(self) -> tuple[bool, datetime | None]:
        """Whether the host site is open now, and if not until when (None: not known
        to reopen). An untrusted clock counts as open (decision 36)."""
        if not self.clock_trusted():
            return True, None
        hours = self.schedule()
        now = self.clock_now()
        with self._hours_lock:
            site = self._site
        if site is not None and (site[2] is None or now < site[2]):
            return site[0], site[1]
        if hours.is_open(now):
            is_open, until, good = True, None, hours.closes_at(now)
        else:
            until = hours.next_opening(now)
            is_open, good = False, until
            until = None if until is None else until.astimezone(hours.tz)  # the site's time
        with self._hours_lock:
            if self._hours is hours:
                self._site = (is_open, until, good)
        return is_open, until

    def _check_reachable(self) -> None:
        """Residents' codes wait for the opening where the cabinet cannot be reached."""
        if not self.rules.time.closed_blocks_pickups:
            return
        is_open, until = self.site()
        if not is_open:
            when = None if until is None else until.isoformat()
            raise Closed(f"the site is closed until {when or 'further notice'}", when)

    def _note_clock(self, txn: Txn) -> None:
        key = deadlines.DOWN_SINCE
        if self._boot_mark is not None:
            if self._state.meta.get(key) == self._boot_mark:
                self._boot_mark = None  # in the mirror: on disk, or read back if not
            elif key not in txn.changes.meta:
                txn.changes.meta[key] = self._boot_mark
        super()._note_clock(txn)

    def _after_work(self, txn: Txn) -> None:
        # NOTE: only when a compartment left or came back into service: a door's open
        # and shut (every pickup) reads neither the clock's trust nor the meta data
        taken_out = any(
            not c.in_service and c.out_since == txn.now for c in txn.changes.compartments.values()
        )
        if txn.back_in_service or taken_out:  # time out of service
            mark = self._state.meta.get(deadlines.DOWN_SINCE) or self._boot_mark
            pending = None if not mark else datetime.fromisoformat(mark)
            deadlines.give_back_service(txn, self.rules, self.clock_trusted(), pending)

    def _fair_time(self, txn: Txn) -> None:
        """The ticker's share (trusted clock): downtime given back, reminders sent."""
        mark = self._state.meta.get(deadlines.DOWN_SINCE) or self._boot_mark
        if mark:
            deadlines.give_back_downtime(txn, self.rules, mark)
            self._boot_mark = None
        for comp in self._state.compartments.values():
            if not comp.in_service and comp.out_since is None:  # taken out on a wrong clock
                txn.put_compartment(txn.compartment(comp.id))  # timed from now on
        if self._next_reminder is None or txn.now >= self._next_reminder:
            nxt = deadlines.send_reminders(txn, self.rules, txn.live_reservations())
            self._next_reminder = nxt or datetime.max.replace(tzinfo=UTC)
