"""Messages from the server, handled in order on one thread and acknowledged after commit.

Reservation messages waiting together are committed in one transaction, so a
burst of 10,000 upserts costs hundreds of disk syncs, not 10,000 (decision 21).
Each message is acknowledged to the broker only once its batch is committed: a
crash before that and the broker delivers it again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from locker.domain.service import LockerService
from locker.sync.inbound import Inbound

log = logging.getLogger(__name__)

MAX_BATCH = 64


@dataclass(frozen=True)
class Incoming:
    is_reservation: bool  # else a command
    payload: bytes
    ack: Callable[[], None]


class Intake:
    def __init__(self, inbound: Inbound, service: LockerService) -> None:
        self._inbound = inbound
        self._service = service
        self._queue: queue.Queue[Incoming | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mqtt-intake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, message: Incoming) -> None:
        self._queue.put(message)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the batch under way and stop. Messages still queued are dropped
        unacknowledged: the broker delivers them again at the next connection."""
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
            self._handle(batch)
            if stopping:
                return

    def _handle(self, batch: list[Incoming]) -> None:
        try:
            if batch[0].is_reservation:
                self._inbound.reservations([m.payload for m in batch])
            else:
                self._inbound.command(batch[0].payload)
        except Exception:
            log.exception("a batch of %d message(s) could not be handled", len(batch))
            if len(batch) > 1:  # find the odd one: each alone
                for message in batch:
                    self._handle([message])
                return
            if not self._answer_failure(batch[0]):
                return
        for message in batch:
            message.ack()

    def _answer_failure(self, message: Incoming) -> bool:
        """Answer a message that could not be handled, so that one odd message never
        blocks the ones behind it; False when even that could not be committed."""
        try:
            if message.is_reservation:
                self._service.reject_message("the locker could not handle this message")
            else:
                self._service.command_failed("the locker could not handle this command")
        except Exception:
            # NOTE: nothing could be committed (the store is failing): leave it
            # unacknowledged, so the broker delivers it again after a reconnect.
            log.exception("could not answer it either; left unacknowledged")
            return False
        return True
