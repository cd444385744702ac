"""The outbox publisher: events leave in ``seq`` order and are marked sent on PUBACK.

The event table is the outbox. One thread hands unsent rows to paho at QoS 1,
at most ``window`` at a time, and marks a row sent only once paho reports the
broker's PUBACK for that very message (its ``MQTTMessageInfo``), never by
message id, which restarts with each connection. After a reconnect it starts
again from the first unsent row, so a backlog built while offline drains in
order; a message the broker got twice is removed by the server by
``event_id``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from locker.domain.model import Event
from locker.sync.messages import event_json

log = logging.getLogger(__name__)

STALL_S = 30.0  # an in-flight message unacknowledged this long: start again from the table


class Delivery(Protocol):
    """What the publisher needs of paho's ``MQTTMessageInfo``."""

    @property
    def rc(self) -> int: ...

    def is_published(self) -> bool: ...


class OutboxStore(Protocol):
    def unsent(self, after_seq: int, limit: int) -> list[Event]: ...

    def mark_sent(self, seqs: list[int], at: str) -> None: ...


class OutboxPublisher:
    def __init__(
        self,
        store: OutboxStore,
        publish: Callable[[bytes], Delivery],
        connected: threading.Event,
        locker_id: str,
        window: int = 100,
        on_loop: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._publish = publish
        self._connected = connected
        self._locker_id = locker_id
        self._window = max(1, window)
        self._on_loop = on_loop
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
        self.sent_total = 0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def reconnected(self) -> None:
        """A new connection: forget what was in flight, start again from the table."""
        self._generation += 1
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._connected.wait(timeout=0.5):
                continue
            try:
                self._session(self._generation)
            except Exception:  # the database or paho failed: pause, then start over
                log.exception("outbox publisher failed; retrying")
                self._stop.wait(1.0)

    def _session(self, generation: int) -> None:
        inflight: deque[tuple[int, Delivery, float]] = deque()
        cursor = 0
        while (
            not self._stop.is_set() and self._connected.is_set() and generation == self._generation
        ):
            self._wake.clear()
            if self._on_loop is not None:
                self._on_loop()
            acked = self._collect(inflight)
            if acked is None:
                return  # a delivery failed or stalled: start again from the table
            if acked:
                self._store.mark_sent(acked, datetime.now(UTC).isoformat())
                self.sent_total += len(acked)
            handed = 0
            room = self._window - len(inflight)
            if room > 0:
                for event in self._store.unsent(cursor, room):
                    body = event_json(event.to_contract(self._locker_id, reveal=True))
                    delivery = self._publish(body)
                    if delivery.rc != 0:
                        return  # the connection went away under us
                    inflight.append((event.seq, delivery, time.monotonic()))
                    cursor = event.seq
                    handed += 1
            if not acked and not handed:
                self._wake.wait(timeout=0.25)

    @staticmethod
    def _collect(inflight: deque[tuple[int, Delivery, float]]) -> list[int] | None:
        acked: list[int] = []
        while inflight:
            seq, delivery, since = inflight[0]
            try:
                done = delivery.is_published()
            except (RuntimeError, ValueError):
                return None
            if not done:
                if time.monotonic() - since > STALL_S:
                    log.warning("event %d not acknowledged in %.0f s: resending", seq, STALL_S)
                    return None
                break
            acked.append(seq)
            inflight.popleft()
        return acked
