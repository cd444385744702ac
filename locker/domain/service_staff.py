"""The service's side of staff at the box: the audit, one compartment after the other,
and the alarms staff look at (:mod:`locker.domain.audit`)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from locker.domain import audit
from locker.domain.audit import Alarm
from locker.domain.errors import Conflict
from locker.domain.service_problems import ProblemService
from locker.domain.state import LockerState, Txn

AUDIT_ANSWER_S = 600.0  # an answer is taken this long after the compartment opened for it


class StaffService(ProblemService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # NOTE: in memory: compartments opened for the audit, and when (an answer is
        # taken only for a compartment opened for it, within ten minutes)
        self._audit_opened: dict[str, datetime] = {}
        self._audit_lock = threading.Lock()

    def audit_open(self, cid: str) -> None:
        """Open ``cid`` for the audit (``door.opened`` with reason ``audit``)."""
        self._run(lambda txn: audit.open_for_audit(txn, cid))
        with self._audit_lock:
            self._audit_opened[cid] = self.clock_now()

    def audit_answer(self, cid: str, found: str) -> tuple[str, bool]:
        """Staff found ``cid`` ``empty`` or ``occupied``: ``compartment.audited``; answers
        what the locker expected and whether it is a mismatch (an alarm)."""
        with self._audit_lock:
            opened = self._audit_opened.get(cid)
        if opened is None or (self.clock_now() - opened).total_seconds() > AUDIT_ANSWER_S:
            raise Conflict(f"open compartment {cid} for the audit first")

        def work(txn: Txn) -> tuple[str, bool]:
            return audit.record(txn, cid, found)

        answer = self._run(work)
        with self._audit_lock:
            self._audit_opened.pop(cid, None)  # one answer per opening
        return answer

    def alarms(self) -> list[Alarm]:
        """The open alarms and problems, newest first."""
        zone_of = {cid: z.id for z in self.rules.zones for cid in z.compartments}

        def read(state: LockerState) -> list[Alarm]:
            return audit.alarms(state, zone_of)

        return self._view(read)
