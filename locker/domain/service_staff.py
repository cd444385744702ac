"""The service's side of staff at the box: the audit, one compartment after the other,
and the alarms staff look at (:mod:`locker.domain.audit`)."""

from __future__ import annotations

from locker.domain import audit
from locker.domain.audit import Alarm
from locker.domain.service_problems import ProblemService
from locker.domain.state import LockerState, Txn


class StaffService(ProblemService):
    def audit_open(self, cid: str) -> None:
        """Open ``cid`` for the audit (``door.opened`` with reason ``audit``)."""
        self._run(lambda txn: audit.open_for_audit(txn, cid))

    def audit_answer(self, cid: str, found: str) -> tuple[str, bool]:
        """Staff found ``cid`` ``empty`` or ``occupied``: ``compartment.audited``; answers
        what the locker expected and whether it is a mismatch (an alarm)."""

        def work(txn: Txn) -> tuple[str, bool]:
            return audit.record(txn, cid, found)

        return self._run(work)

    def alarms(self) -> list[Alarm]:
        """The open alarms and problems, newest first."""
        zone_of = {cid: z.id for z in self.rules.zones for cid in z.compartments}

        def read(state: LockerState) -> list[Alarm]:
            return audit.alarms(state, zone_of)

        return self._view(read)
