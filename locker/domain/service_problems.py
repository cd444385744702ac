"""The service's problem reports: a person at the kiosk says what was wrong with the
compartment that just opened for them (:mod:`locker.domain.problems`)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from locker.domain import problems
from locker.domain.errors import Conflict, Invalid
from locker.domain.service_cold import ColdChainService
from locker.domain.state import Txn


class ProblemService(ColdChainService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # NOTE: in memory: which compartment opened for whom at each terminal, for ten
        # minutes (a report about another compartment, or later, is refused).
        self._opened_here: dict[tuple[str, str], tuple[str, datetime, bool]] = {}
        self._opened_lock = threading.Lock()

    def _note_opened(self, terminal: str, cid: str, reservation_id: str, pickup: bool) -> None:
        """Which compartment opened for whom at ``terminal`` (for ten minutes)."""
        now = self.clock_now()
        with self._opened_lock:
            for key, (_, at, _) in list(self._opened_here.items()):
                if (now - at).total_seconds() > problems.WINDOW_S:
                    del self._opened_here[key]
            self._opened_here[(terminal, cid)] = (reservation_id, now, pickup)

    def _clear_opened(self, terminal: str) -> None:
        """Forget what opened at ``terminal``: another person uses it now; but not a door
        whose cycle is still running (a second code while the first door is open is the
        same person: the kiosk keeps both doors on its screen)."""
        live: set[str] = self._view(lambda state: set(state.openings))
        with self._opened_lock:
            for key in [k for k in self._opened_here if k[0] == terminal and k[1] not in live]:
                del self._opened_here[key]

    def report_problem(
        self,
        terminal: str,
        cid: str,
        problem: str,
        keep: bool = False,
        also: tuple[str, ...] = (),
    ) -> str:
        """A problem with ``cid``, opened at ``terminal`` (or at one of the terminals
        ``also``: the box's serial scanner, whose outcomes its screen shows) in the last
        ten minutes; answers what follows (``held``, ``kept`` or ``recorded``)."""
        if problem not in problems.PROBLEMS:
            raise Invalid(f"problem must be one of {', '.join(problems.PROBLEMS)}")
        with self._opened_lock:  # one report per opening
            seen = None
            for where in (terminal, *also):
                seen = seen or self._opened_here.pop((where, cid), None)
        recent = seen is not None and (
            (self.clock_now() - seen[1]).total_seconds() <= problems.WINDOW_S
        )
        if seen is None or not recent:
            raise Conflict(f"compartment {cid} was not opened at this terminal lately")
        rid, _, pickup = seen

        def work(txn: Txn) -> str:
            res = txn.reservation(rid)
            if res is None:  # pragma: no cover - a reservation is never deleted
                raise Conflict(f"no reservation for compartment {cid}")
            return problems.report(txn, res, cid, problem, keep, pickup)

        return self._run(work)
