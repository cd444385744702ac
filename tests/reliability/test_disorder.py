"""Duplicates, stale versions and shuffled order change nothing: the final state is the
state of the in-order stream (hypothesis, through the real message parser and store; the
disordered stream in random batches, as the MQTT intake commits them)."""

from __future__ import annotations

import json
import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locker.sync.inbound import Inbound
from locker.sync.intake import MAX_BATCH
from tests.conftest import Harness
from tests.reliability.scale import sized

MESSAGES = sized(10_000)
EXAMPLES = 10
PER_EXAMPLE = MESSAGES // EXAMPLES

# One reservation's history: its versions in order, each an upsert (size, recipient)
# or a cancel. At most 8 reservations of size S or M: they always fit the 12 doors,
# so no order can make one of them refused for lack of room.
history = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), st.sampled_from(["S", "M"]), st.sampled_from(["a", "b"])),
        st.tuples(st.just("cancel"), st.none(), st.none()),
    ),
    min_size=1,
    max_size=12,
)


def to_messages(h: Harness, histories: list[list[Any]]) -> list[list[bytes]]:
    expires = (h.clock.now() + timedelta(days=3)).isoformat()
    out = []
    for i, steps in enumerate(histories):
        rid, msgs = f"R-{i}", []
        for version, (op, size, recipient) in enumerate(steps, start=1):
            if op == "cancel":
                body: dict[str, Any] = {
                    "type": "reservation.cancel",
                    "reservation_id": rid,
                    "version": version,
                }
            else:
                body = {
                    "type": "reservation.upsert",
                    "reservation_id": rid,
                    "version": version,
                    "kind": "delivery",
                    "size": size,
                    "recipient": recipient,
                    "reference": f"REF-{i}",
                    "expires_at": expires,
                }
            msgs.append(json.dumps(body).encode())
        out.append(msgs)
    return out


def final_state(h: Harness, count: int) -> dict[str, tuple[object, ...]]:
    state: dict[str, tuple[object, ...]] = {}
    for i in range(count):
        res = h.service.reservation(f"R-{i}")
        assert res is not None
        holds = res.holds_compartment
        state[res.id] = (
            res.state.value,
            res.version,
            res.size.value if holds else None,
            res.recipient if holds else None,
            holds,
        )
    return state


def apply(stream: list[bytes], rng: random.Random | None = None) -> tuple[Harness, Inbound]:
    """One message at a time; with ``rng``, in batches of 1 to MAX_BATCH committed
    together, as the MQTT intake hands over the messages waiting (decision 21)."""
    h = Harness(Path(tempfile.mkdtemp(prefix="disorder-")))
    inbound = Inbound(h.service, 65_536)
    at = 0
    while at < len(stream):
        size = rng.randint(1, MAX_BATCH) if rng is not None else 1
        inbound.reservations(stream[at : at + size])
        at += size
    return h, inbound


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(histories=st.lists(history, min_size=1, max_size=8), seed=st.integers(0, 2**32 - 1))
def test_shuffled_duplicated_stream_ends_as_the_in_order_one(
    histories: list[list[Any]], seed: int
) -> None:
    rng = random.Random(seed)
    base = Harness(Path(tempfile.mkdtemp(prefix="order-")))
    per_id = to_messages(base, histories)
    base.engine.dispose()
    # in order: each reservation's versions in order, reservations interleaved
    queues = [list(m) for m in per_id]
    ordered: list[bytes] = []
    while any(queues):
        ordered.append(rng.choice([q for q in queues if q]).pop(0))
    # disorder: everything shuffled, then padded with duplicates and stale copies
    noisy = list(ordered)
    while len(noisy) < PER_EXAMPLE:
        noisy.append(rng.choice(ordered))
    rng.shuffle(noisy)

    clean, _ = apply(ordered)
    messy, _ = apply(noisy, rng)
    try:
        expected = final_state(clean, len(histories))
        assert final_state(messy, len(histories)) == expected
        for i, steps in enumerate(histories):  # and the in-order answer is the intended one
            last = steps[-1][0]
            assert expected[f"R-{i}"][0] == ("cancelled" if last == "cancel" else "accepted")
            assert expected[f"R-{i}"][1] == len(steps)
        holders = [r.compartment for r in messy.service.reservations()]
        assert len(holders) == len(set(holders))  # never one compartment for two
        rejected = [e for e in messy.store.events(0, 100_000) if e.type == "reservation.rejected"]
        assert rejected == []  # duplicates and stale versions are not errors
    finally:
        clean.engine.dispose()
        messy.engine.dispose()
