"""Doors the hardware cannot read yet: a lock board silent since the start.

Such a door is neither shut nor open. Its compartment goes out of service with the
reason :data:`REASON`: nothing is booked into it, no code opens it, and the status
message lists it out of service. It comes back in service once its board answers and
the door has been read, unless staff changed it meanwhile (another reason, or back in
service by hand): only what the controller itself took out for that reason comes back.
"""

from __future__ import annotations

from locker.domain.state import Txn

REASON = "board not answering"


def set_aside(txn: Txn, cid: str) -> None:
    """``cid``'s door cannot be read: out of service, unless it is already."""
    comp = txn.compartment(cid)
    if comp.in_service:
        txn.put_compartment(comp.with_(in_service=False, service_reason=REASON))


def restore(txn: Txn, cid: str) -> None:
    """``cid``'s door reads again: back in service if it was out only for that."""
    comp = txn.compartment(cid)
    if not comp.in_service and comp.service_reason == REASON:
        txn.put_compartment(comp.with_(in_service=True, service_reason=None))
