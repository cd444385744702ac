"""Messages from the server, handled in order on one thread and acknowledged after commit.

Reservation messages waiting together are committed in one transaction, so a
burst of 10,000 upserts costs hundreds of disk syncs, not 10,000 (decision 21).
Each message is acknowledged to the broker only once its batch is committed: a
crash before that and the broker delivers it again.

A batch that fails is handled again message by message. A message that fails
alone is tried again a few times (a disk hiccup must not lose a reservation),
then answered as failed, naming its id, so that one odd message never blocks
the ones behind it. Acknowledgements keep the order the messages came in: while
a message can be neither handled nor answered (the store is failing), the ones
behind it wait.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from locker.sync.inbound import Inbound

log = logging.getLogger(__name__)

MAX_BATCH = 64
ATTEMPTS = 3  # tries of a message that fails alone before it is answered as failed
BACKOFF_S = (0.1, 5.0)  # first and longest pause between tries


@dataclass(frozen=True)
class Incoming:
    is_reservation: bool  # else a command
    payload: bytes
    ack: Callable[[], None]


class Intake:
    def __init__(self, inbound: Inbound) -> None:
        self._inbound = inbound
        self._queue: queue.Queue[Incoming | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqtt-intake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, message: Incoming) -> None:
        self._queue.put(message)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the batch under way and stop. Messages still queued are dropped
        unacknowledged: the broker delivers them again at the next connection."""
        self._stopping.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        pending: Incoming | None = None
        while True:
            first = pending if pending is not None else self._queue.get()
            pending = None
            if first is None:
                return
            batch = [first]
            stopping = False
            while first.is_reservation and len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                if not more.is_reservation:  # a command waits for the batch before it
                    pending = more
                    break
                batch.append(more)
            if not self._handle(batch) or stopping:
                return  # stopping: what is left stays unacknowledged, in order

    def _handle(self, batch: list[Incoming]) -> bool:
        """Handle and acknowledge ``batch``, in order; False if stopped before the end."""
        if len(batch) == 1:
            return self._handle_one(batch[0])
        if self._attempt(batch):
            for message in batch:
                message.ack()
            return True
        return all(self._handle_one(message) for message in batch)  # find the odd one

    def _handle_one(self, message: Incoming) -> bool:
        pause, tries = BACKOFF_S[0], 0
        while True:
            tries += 1
            if self._attempt([message]) or (tries >= ATTEMPTS and self._answer_failure(message)):
                message.ack()
                return True
            # NOTE: a passing fault (the disk, a write that failed beside ours) is
            # tried again; while nothing can be committed the messages behind wait.
            if self._stopping.wait(pause):
                return False
            pause = min(pause * 2, BACKOFF_S[1])

    def _attempt(self, batch: list[Incoming]) -> bool:
        try:
            if batch[0].is_reservation:
                self._inbound.reservations([m.payload for m in batch])
            else:
                self._inbound.command(batch[0].payload)
        except Exception:
            log.exception("a batch of %d message(s) could not be handled", len(batch))
            return False
        return True

    def _answer_failure(self, message: Incoming) -> bool:
        """Answer a message that could not be handled, naming its id; False when even
        that could not be committed."""
        try:
            self._inbound.refuse(message.payload, message.is_reservation)
        except Exception:
            log.exception("could not answer it either; trying again")
            return False
        return True
