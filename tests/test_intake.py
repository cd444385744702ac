"""The MQTT intake: messages waiting together share one commit, each keeps its outcome,
and each is acknowledged, in order, only once committed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from locker.domain.model import State
from locker.domain.ports import Changes
from locker.sync.inbound import Inbound
from locker.sync.intake import Incoming, Intake
from tests.conftest import Harness
from tests.helpers import wait_for


def upsert(rid: str, harness: Harness, **kw: object) -> bytes:
    body = {
        "type": "reservation.upsert",
        "reservation_id": rid,
        "version": 1,
        "kind": "delivery",
        "size": "M",
        "expires_at": (harness.clock.now() + timedelta(days=2)).isoformat(),
        **kw,
    }
    return json.dumps(body).encode()


def test_a_burst_is_committed_together_in_order_and_acknowledged_after(harness: Harness) -> None:
    service = harness.service
    commits: list[Changes] = []
    acked: list[int] = []
    service.subscribe(commits.append)
    intake = Intake(Inbound(service, 65536), service)
    burst = [
        upsert("R-0", harness),
        upsert("R-1", harness),
        b"{not json",  # rejected alone, the rest goes on
        upsert("R-2", harness, size="XXL"),
        json.dumps({"type": "reservation.cancel", "reservation_id": "R-1", "version": 2}).encode(),
        json.dumps({"type": "resync", "request_id": "q-1"}).encode(),  # a command
        upsert("R-3", harness),
    ]
    for n, raw in enumerate(burst):  # all queued before the intake starts
        intake.put(Incoming(n != 5, raw, lambda n=n: acked.append(n)))  # type: ignore[misc]
    intake.start()
    try:
        wait_for(lambda: len(acked) == 7, timeout=30, what="every message acknowledged")
    finally:
        intake.stop()
    assert acked == list(range(7))
    events = [e for changes in commits for e in changes.events]
    types = [(e.type, e.reservation_id) for e in events]
    assert types[:6] == [
        ("reservation.accepted", "R-0"),
        ("reservation.accepted", "R-1"),
        ("reservation.rejected", None),
        ("reservation.rejected", "R-2"),
        ("reservation.cancelled", "R-1"),
        ("locker.snapshot", None),
    ]
    assert types[6:] == [("command.done", None), ("reservation.accepted", "R-3")]
    # R-0 to R-1's cancel shared one commit; the command waited for it and went alone
    assert len(commits) == 3
    snapshot = events[5].data["reservations"]
    assert isinstance(snapshot, list)
    assert [r["reservation_id"] for r in snapshot] == ["R-0"]
    r1 = service.reservation("R-1")
    assert r1 is not None and r1.state is State.CANCELLED
    assert service.reservation("R-2") is None


class FragileInbound(Inbound):
    """The store fails for a batch of four (a disk hiccup), not for one message."""

    calls: list[int]

    def reservations(self, raws: Sequence[bytes]) -> None:
        self.calls.append(len(raws))
        if len(raws) == 4:
            raise OSError("disk hiccup")
        super().reservations(raws)


def test_a_batch_that_fails_is_handled_again_message_by_message(harness: Harness) -> None:
    service = harness.service
    inbound = FragileInbound(service, 65536)
    inbound.calls = []
    intake = Intake(inbound, service)
    acked: list[int] = []
    for n in range(4):  # all queued before the intake starts: one batch
        intake.put(Incoming(True, upsert(f"R-{n}", harness), lambda n=n: acked.append(n)))  # type: ignore[misc]
    intake.start()
    try:
        wait_for(lambda: len(acked) == 4, timeout=30, what="every message acknowledged")
    finally:
        intake.stop()
    assert acked == [0, 1, 2, 3]
    assert inbound.calls == [4, 1, 1, 1, 1]
    assert all(service.reservation(f"R-{n}") is not None for n in range(4))
