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
from tests.test_journal import GatedStore


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
    intake = Intake(Inbound(service, 65536))
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
    intake = Intake(inbound)
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


def run_intake(intake: Intake, messages: list[Incoming], acked: list[int]) -> None:
    for message in messages:  # all queued before the intake starts: one batch
        intake.put(message)
    intake.start()
    try:
        last = len(messages) - 1
        wait_for(lambda: last in acked, timeout=30, what="the last message acknowledged")
    finally:
        intake.stop()


class DiskDownOnce(Inbound):
    """The disk fails while R-1 is handled alone, and still fails for the next commit."""

    store: GatedStore

    def reservations(self, raws: Sequence[bytes]) -> None:
        if len(raws) > 1:
            raise OSError("disk hiccup")
        if b'"R-1"' in raws[0] and not getattr(self, "failed", False):
            self.failed = True
            self.store.fail = True  # the answer to R-1's failure cannot be committed either
            raise OSError("disk hiccup")
        super().reservations(raws)


def test_acknowledgements_keep_their_order_when_a_message_cannot_be_answered(
    harness: Harness,
) -> None:
    store = GatedStore(harness)
    service = harness.reopen(store)
    inbound = DiskDownOnce(service, 65536)
    inbound.store = store
    acked: list[int] = []
    messages = [
        Incoming(True, upsert(f"R-{n}", harness), lambda n=n: acked.append(n))  # type: ignore[misc]
        for n in range(3)
    ]
    run_intake(Intake(inbound), messages, acked)
    assert acked == [0, 1, 2]  # R-2 is not acknowledged before R-1
    assert all(service.reservation(f"R-{n}") is not None for n in range(3))


def test_a_message_that_meets_a_failed_write_is_handled_not_rejected(harness: Harness) -> None:
    store = GatedStore(harness)
    service = harness.reopen(store)
    store.fail = True  # the disk refuses the first write: a passing fault
    acked: list[int] = []
    message = Incoming(True, upsert("R-1", harness), lambda: acked.append(0))
    run_intake(Intake(Inbound(service, 65536)), [message], acked)
    res = service.reservation("R-1")
    assert res is not None and res.state is State.ACCEPTED  # not lost to a disk hiccup


class Poison(Inbound):
    """Every command and the reservation R-1 make the handler raise (a bug)."""

    def reservations(self, raws: Sequence[bytes]) -> None:
        if any(b'"R-1"' in raw for raw in raws):
            raise ValueError("a bug")
        super().reservations(raws)

    def command(self, raw: bytes) -> None:
        raise ValueError("a bug")


def test_a_poison_message_is_answered_with_its_id_and_the_queue_goes_on(
    harness: Harness,
) -> None:
    service = harness.service
    commits: list[Changes] = []
    service.subscribe(commits.append)
    acked: list[int] = []
    raws = [
        upsert("R-1", harness),
        json.dumps({"type": "resync", "request_id": "q-9"}).encode(),
        upsert("R-2", harness),
    ]
    messages = [
        Incoming(n != 1, raw, lambda n=n: acked.append(n))  # type: ignore[misc]
        for n, raw in enumerate(raws)
    ]
    run_intake(Intake(Poison(service, 65536)), messages, acked)
    assert acked == [0, 1, 2]
    answers = [
        (e.type, e.reservation_id, e.data.get("request_id")) for c in commits for e in c.events
    ]
    assert answers == [
        ("reservation.rejected", "R-1", None),  # the server can tell which one failed
        ("command.failed", None, "q-9"),  # the contract: the same request_id
        ("reservation.accepted", "R-2", None),
    ]


class StoreDown(Inbound):
    """Nothing can be committed: neither the message nor the answer to its failure."""

    tries = 0

    def reservations(self, raws: Sequence[bytes]) -> None:
        self.tries += 1
        raise OSError("disk I/O error")

    def refuse(self, raw: bytes, is_reservation: bool) -> None:
        raise OSError("disk I/O error")


def test_stop_ends_the_wait_for_a_store_that_is_down(harness: Harness) -> None:
    inbound = StoreDown(harness.service, 65536)
    intake = Intake(inbound)
    acked: list[int] = []
    for n in range(2):
        intake.put(Incoming(True, upsert(f"R-{n}", harness), lambda n=n: acked.append(n)))  # type: ignore[misc]
    intake.start()
    wait_for(lambda: inbound.tries >= 4, timeout=30, what="R-0 tried again and again")
    intake.stop(timeout=10)
    assert not intake._thread.is_alive()
    assert acked == []  # left to the broker to deliver again, in order
