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


class JournalBroken(RuntimeError):
    """A write failed after this operation's state was read: it must be run again."""


class Ticket:
    """One operation's place in the journal, settled once its changes are written or lost.

    Each ticket carries its own outcome: a waiter that wakes up late, after any
    number of later writes, still learns that its own write failed."""

    __slots__ = ("error", "settled")

    def __init__(self) -> None:
        self.settled = False
        self.error: Exception | None = None


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
        self._queued: list[tuple[Changes, Ticket]] = []
        self._in_flight: list[tuple[Changes, Ticket]] = []
        self._issued = 0  # tickets handed out
        self._writing = False
        self.broken = False
        self.last: Ticket | None = None  # the newest ticket handed out

    def append(self, changes: Changes) -> Ticket:
        """Queue ``changes`` (under the service lock, in commit order); a ticket to wait on."""
        with self._cond:
            if self.broken:
                raise JournalBroken("the last write failed: the state is being reloaded")
            ticket = Ticket()
            self._queued.append((changes, ticket))
            self._issued += 1
            self.last = ticket
            return ticket

    def reset(self) -> None:
        """The service reloaded its mirror from the database: accept changes again.

        Nothing it now shows waits to be written: ``last`` starts afresh."""
        with self._cond:
            self.broken = False
            self.last = None

    def wait(self, ticket: Ticket) -> None:
        """Return once the changes of ``ticket`` are on disk; raise what their write raised."""
        with self._cond:
            self._settle(ticket)
            if ticket.error is not None:
                raise ticket.error

    def _settle(self, ticket: Ticket) -> None:
        while not ticket.settled:
            if self._writing:
                self._cond.wait()
            else:
                self._write_queued()

    def _write_queued(self) -> None:
        """Write everything queued, with the condition released during the write."""
        batch, self._queued = self._queued, []
        self._in_flight, self._writing = batch, True
        self._write_started = self._monotonic()
        error: BaseException | None = None
        self._cond.release()
        try:
            self._write([changes for changes, _ in batch])
        except BaseException as exc:  # reported to every waiter of the batch
            error = exc
        finally:
            self._cond.acquire()
        self._in_flight, self._writing, self._write_started = [], False, None
        lost: Exception | None = None
        if error is not None:
            # NOTE: a KeyboardInterrupt or SystemExit mid-write still settles every
            # ticket (nobody waits forever); the others hear of it as JournalBroken.
            if isinstance(error, Exception):
                lost = error
            else:
                lost = JournalBroken("the write was interrupted")
                lost.__cause__ = error
            batch = batch + self._queued  # what was queued meanwhile was built on the lost state
            self._queued = []
            self.broken = True
        for _, ticket in batch:
            ticket.error, ticket.settled = lost, True
        self._cond.notify_all()
        if error is not None and lost is not error:
            raise error

    def write_lasted_s(self) -> float:
        """How long the write in flight has lasted; 0 when none is. A disk that hangs on
        a write shows here only: the write holds no lock that a read needs."""
        with self._cond:
            started = self._write_started
        return 0.0 if started is None else self._monotonic() - started

    # -- what the database cannot show yet ------------------------------------
    def _unwritten(self) -> list[Changes]:
        with self._cond:
            return [changes for changes, _ in (*self._in_flight, *self._queued)]

    def reservation(self, rid: str) -> Reservation | None:
        for changes in reversed(self._unwritten()):
            if rid in changes.reservations:
                return changes.reservations[rid]
        return None

    def by_digest(self, digest: str) -> Reservation | None:
        for changes in reversed(self._unwritten()):
            for res in changes.reservations.values():
                if any(code is not None and code.digest == digest for code in res.codes()):
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
        """Not a way in: changes reach the disk only through ``LockerService._run``,
        which keeps the mirror and the journal in step."""
        raise TypeError("write through LockerService, not through the read view")

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
