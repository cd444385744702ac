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

import json
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

    @property
    def mid(self) -> int: ...

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
        self._refused: dict[int, str] = {}  # mid -> reason, from PUBACKs that said no
        self._refused_lock = threading.Lock()
        self._backoff = 0.0
        self.refusal: str | None = None  # the broker's last refusal, for /healthz
        self.sent_total = 0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def refused(self, mid: int, reason: str) -> None:
        """The broker answered a PUBACK with a failure code (an ACL, a quota...)."""
        with self._refused_lock:
            self._refused[mid] = reason
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
            if self._backoff:
                self._stop.wait(self._backoff)

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
                self._backoff = 0.0
                self.refusal = None
                self._mark(acked)
            handed = 0
            room = self._window - len(inflight)
            if room > 0:
                for event in self._store.unsent(cursor, room):
                    delivery = self._publish(self._payload(event))
                    if delivery.rc != 0:
                        return  # the connection went away under us
                    inflight.append((event.seq, delivery, time.monotonic()))
                    cursor = event.seq
                    handed += 1
            if not acked and not handed:
                self._wake.wait(timeout=0.25)

    def _mark(self, seqs: list[int]) -> None:
        if seqs:
            self._store.mark_sent(seqs, datetime.now(UTC).isoformat())
            self.sent_total += len(seqs)

    def _payload(self, event: Event) -> bytes:
        body = event.to_contract(self._locker_id, reveal=True)
        try:
            return event_json(body)
        except (ValueError, UnicodeEncodeError):
            # NOTE: never let one row block the outbox: send it as it stands.
            log.error("event %d does not fit the contract; sent unvalidated", event.seq)
            return json.dumps(body, ensure_ascii=True, default=str).encode()

    def _collect(self, inflight: deque[tuple[int, Delivery, float]]) -> list[int] | None:
        acked: list[int] = []
        while inflight:
            seq, delivery, since = inflight[0]
            try:
                done = delivery.is_published()
            except (RuntimeError, ValueError):
                return None
            with self._refused_lock:
                refusal = self._refused.pop(delivery.mid, None) if done else None
            if refusal is not None:
                # NOTE: paho calls a refused PUBACK "published": the event is not delivered.
                self.refusal = f"broker refused event {seq}: {refusal}"
                self._backoff = min(60.0, max(2.0, self._backoff * 2))
                log.error("%s; retrying in %.0f s", self.refusal, self._backoff)
                with self._refused_lock:
                    self._refused.clear()
                self._mark(acked)  # those before it did arrive
                return None
            if not done:
                if time.monotonic() - since > STALL_S:
                    log.warning("event %d not acknowledged in %.0f s: resending", seq, STALL_S)
                    return None
                break
            acked.append(seq)
            inflight.popleft()
        return acked
