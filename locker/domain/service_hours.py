"""The service's side of the host site's hours: open or closed now, the schedule with
the server's closures (kept in the meta data, so across restarts), and the refusal of
residents' codes while a site that cannot be reached is closed (decision 36)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from locker.domain.commands import CLOSURES
from locker.domain.core import ServiceCore
from locker.domain.errors import Closed
from locker.domain.hours import Closure, Hours, closures_from


class HoursService(ServiceCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hours_lock = threading.Lock()
        self._hours_key: str | None = None
        self._hours = self.rules.hours
        # (open, closed_until, good until): a cache, computed again at each change
        self._site: tuple[bool, datetime | None, datetime | None] | None = None

    def schedule(self) -> Hours:
        """The config's hours with the server's closures."""
        key = self._state.meta.get(CLOSURES, "")
        with self._hours_lock:
            if key != self._hours_key:
                base = self.rules.hours
                extra: tuple[Closure, ...] = closures_from(key)
                self._hours = base.with_closures(base.closures + extra)
                self._hours_key = key
                self._site = None
            return self._hours

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
