"""Group commit: the changes of operations that arrive together, written in one transaction.

Each operation (``LockerService._run``) applies its changes to the in-memory
mirror at once, under the service lock, and queues them here; then, outside the
lock, it waits until they are on disk before it answers or pulses a relay. The
first waiter writes everything queued so far in one transaction (one disk
sync); the others find theirs written. Twenty kiosks at once cost a few syncs,
not twenty, and no answer is given before its change is durable.

A write that fails fails every operation queued with it or after it (they were
built on a state that is not on disk) and marks the journal broken: the service
reloads its mirror from the database before the next operation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

from locker.domain.model import Compartment, Event, Reservation
from locker.domain.ports import Changes, CommandOutcome, Snapshot, Store

_KEEP_FAILURES = 64


class JournalBroken(RuntimeError):
    """A write failed after this operation's state was read: it must be run again."""


class Journal:
    def __init__(
        self,
        write: Callable[[Sequence[Changes]], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._monotonic = monotonic
        self._write_started: float | None = None
        self._cond = threading.Condition()
        self._queued: list[Changes] = []
        self._in_flight: list[Changes] = []
        self._issued = 0  # tickets handed out
        self._settled = 0  # tickets written, or failed
        self._writing = False
        self._failures: list[tuple[int, int, Exception]] = []  # (first, last, error)
        self.broken = False

    def append(self, changes: Changes) -> int:
        """Queue ``changes`` (under the service lock, in commit order); a ticket to wait on."""
        with self._cond:
            if self.broken:
                raise JournalBroken("the last write failed: the state is being reloaded")
            self._queued.append(changes)
            self._issued += 1
            return self._issued

    def reset(self) -> None:
        """The service reloaded its mirror from the database: accept changes again."""
        with self._cond:
            self.broken = False

    def wait(self, ticket: int) -> None:
        """Return once the changes of ``ticket`` are on disk; raise what their write raised."""
        with self._cond:
            while self._settled < ticket:
                if self._writing:
                    self._cond.wait()
                else:
                    self._write_queued()
            for first, last, error in self._failures:
                if first <= ticket <= last:
                    raise error

    def _write_queued(self) -> None:
        """Write everything queued, with the condition released during the write."""
        batch, last = self._queued, self._issued
        self._queued, self._in_flight, self._writing = [], batch, True
        self._write_started = self._monotonic()
        error: Exception | None = None
        self._cond.release()
        try:
            self._write(batch)
        except Exception as exc:  # reported to every waiter of the batch
            error = exc
        finally:
            self._cond.acquire()
        self._in_flight, self._writing, self._write_started = [], False, None
        if error is not None:
            last = self._issued  # what was queued meanwhile was built on the lost state
            self._queued = []
            self._failures = [*self._failures[-_KEEP_FAILURES:], (self._settled + 1, last, error)]
            self.broken = True
        self._settled = last
        self._cond.notify_all()

    def write_lasted_s(self) -> float:
        """How long the write in flight has lasted; 0 when none is. A disk that hangs on
        a write shows here only: the write holds no lock that a read needs."""
        with self._cond:
            started = self._write_started
        return 0.0 if started is None else self._monotonic() - started

    # -- what the database cannot show yet ------------------------------------
    def _unwritten(self) -> list[Changes]:
        with self._cond:
            return [*self._in_flight, *self._queued]

    def reservation(self, rid: str) -> Reservation | None:
        for changes in reversed(self._unwritten()):
            if rid in changes.reservations:
                return changes.reservations[rid]
        return None

    def by_digest(self, digest: str) -> Reservation | None:
        for changes in reversed(self._unwritten()):
            for res in changes.reservations.values():
                codes = (res.deposit_code, res.pickup_code)
                if any(code is not None and code.digest == digest for code in codes):
                    return res
        return None

    def command_outcome(self, request_id: str) -> CommandOutcome | None:
        for changes in reversed(self._unwritten()):
            if request_id in changes.commands:
                return changes.commands[request_id]
        return None


class JournalFirst:
    """The store as an operation must read it: changes not yet on disk come first."""

    def __init__(self, store: Store, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    def load(self, specs: Iterable[Compartment]) -> Snapshot:
        return self._store.load(specs)

    def commit_all(self, batch: Sequence[Changes]) -> None:
        for changes in batch:
            self._journal.wait(self._journal.append(changes))

    def find_reservation(self, reservation_id: str) -> Reservation | None:
        found = self._journal.reservation(reservation_id)
        return found if found is not None else self._store.find_reservation(reservation_id)

    def find_by_digest(self, digest: str) -> Reservation | None:
        found = self._journal.by_digest(digest)
        return found if found is not None else self._store.find_by_digest(digest)

    def command_outcome(self, request_id: str) -> CommandOutcome | None:
        found = self._journal.command_outcome(request_id)
        return found if found is not None else self._store.command_outcome(request_id)

    def events(self, after_seq: int, limit: int) -> list[Event]:
        return self._store.events(after_seq, limit)
