"""The service's plumbing: one lock, the mirror, group commit, listeners, views.

Every operation of :class:`locker.domain.service.LockerService` runs through
:meth:`ServiceCore._run`: it works on a :class:`Txn` under the lock, applies its
changes to the in-memory mirror and queues them for the next group commit
(:mod:`locker.domain.journal`), answers once they are on disk, and only then
pulses the relays it asked for. Two kiosks, a courier and a door callback acting
at once are thereby serialised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

from locker.domain.errors import DomainError, WrongCode
from locker.domain.journal import Journal, JournalBroken, JournalFirst, Ticket
from locker.domain.model import (
    Compartment,
    CompartmentSpec,
    Event,
)
from locker.domain.ports import Changes, Clock, CodeSealer, DoorActuator, Store
from locker.domain.rules import Rules
from locker.domain.state import LockerState, Txn

T = TypeVar("T")
Listener = Callable[[Changes], None]
RefusalListener = Callable[[str], None]
CLOCK_HIGH_WATER = "clock_high_water"
_CLOCK_SLACK = timedelta(seconds=60)
_CLOCK_IDLE_WRITE = timedelta(minutes=10)  # spare the SD card while nothing happens
_TRIES = 3  # runs of work whose answer was built on a change that failed to be written


class ServiceCore:
    def __init__(
        self,
        rules: Rules,
        specs: Iterable[CompartmentSpec],
        store: Store,
        sealer: CodeSealer,
        clock: Clock,
        actuator: DoorActuator,
        check_event: Callable[[Event], None] | None = None,
    ) -> None:
        """``check_event`` raises for an event that could not be published as it stands:
        such a change is refused rather than committed into the outbox."""
        self.rules = rules
        self._check_event = check_event
        self._disk = store
        self._journal = Journal(store.commit_all)
        self._store = JournalFirst(store, self._journal)  # reads see what is not on disk yet
        self._specs = list(specs)
        self._sealer = sealer
        self._clock = clock
        self._actuator = actuator
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._refusal_listeners: list[RefusalListener] = []
        self._state = LockerState(store.load(Compartment(spec) for spec in self._specs))
        self._next_expiry: datetime | None = None  # None: to be computed again
        self._next_reminder: datetime | None = None  # None: to be computed again

    # -- plumbing -----------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(changes)`` after every commit (from the committing thread)."""
        self._listeners.append(listener)

    def subscribe_refusals(self, listener: RefusalListener) -> None:
        """Call ``listener(reason)`` for every refused attempt to open a door with a code
        or a PIN: ``unknown``, ``used``, ``expired``, ``cancelled``, ``pin`` (wrong ones),
        ``invalid`` (malformed), ``locked_out``, ``unavailable`` (the door cannot open)."""
        self._refusal_listeners.append(listener)

    @contextmanager
    def _reporting_refusals(self) -> Iterator[None]:
        try:
            yield
        except DomainError as exc:
            reason = exc.reason if isinstance(exc, WrongCode) else exc.code
            for listener in self._refusal_listeners:
                listener(reason)
            raise

    def _run(self, work: Callable[[Txn], T]) -> T:
        """Run ``work`` under the lock on the mirror; answer once its changes, and the
        changes of others it read, are on disk (group commit:
        :mod:`locker.domain.journal`), then pulse the relays it asked for.

        Work that changed nothing, or was refused, but read a change whose write then
        failed is run again on the state read back: its answer was built on nothing."""
        for tries in range(1, _TRIES + 1):
            ticket, refusal, lost = None, None, False
            with self._lock:
                if self._journal.broken:
                    self._reload()
                seen = self._journal.last  # the newest change this work may read
                txn = Txn(self._state, self._store, self._clock.now())
                try:
                    result = work(txn)
                    self._after_work(txn)
                except DomainError as exc:
                    refusal = exc
                else:
                    ticket, lost = self._stage(txn)
            if ticket is not None or (self._durable(seen, tries == _TRIES) and not lost):
                break
        else:  # never queued: nothing may open or answer
            raise JournalBroken("the state kept changing under failed writes")
        if refusal is not None:
            raise refusal
        if ticket is not None:
            try:
                self._journal.wait(ticket)
            except Exception:  # not on disk: no door opens, and the mirror is read back
                self._read_back()
                raise
        for cid in txn.unlocks:
            self._actuator.unlock(cid)
        if ticket is not None:
            for listener in self._listeners:
                listener(txn.changes)
        if txn.error is not None:
            raise txn.error
        return result

    def _after_work(self, txn: Txn) -> None:
        """What every operation ends with, under the lock (see :class:`HoursService`)."""

    def _stage(self, txn: Txn) -> tuple[Ticket | None, bool]:
        """Queue ``txn``'s changes and apply them to the mirror (under the lock): the
        ticket to wait on, and True when the state it read is being lost."""
        self._note_clock(txn)
        if self._check_event is not None:
            for event in txn.changes.events:
                self._check_event(event)
        if txn.changes.empty():
            if txn.changes.windows:  # in memory only: nothing to write
                self._state.apply(txn.changes)
            return None, False
        try:
            ticket = self._journal.append(txn.changes)
        except JournalBroken:  # a write failed while ``work`` read the state it lost
            return None, True
        self._state.apply(txn.changes)
        if txn.changes.reservations:
            self._next_expiry = self._next_reminder = None
        return ticket, False

    def _durable(self, seen: Ticket | None, last_try: bool) -> bool:
        """Wait until the change ``seen`` is on disk; False (the mirror read back) if
        its write failed, or raise its error on the last try."""
        if seen is None:
            return True
        try:
            self._journal.wait(seen)
        except Exception:
            self._read_back()
            if last_try:
                raise
            return False
        return True

    def _read_back(self) -> None:
        with self._lock:
            if self._journal.broken:
                self._reload()

    def _reload(self) -> None:
        """A write failed: the mirror is ahead of the database. Read it back."""
        self._state = LockerState(self._disk.load(Compartment(spec) for spec in self._specs))
        self._next_expiry = self._next_reminder = None
        self._journal.reset()

    def _note_clock(self, txn: Txn) -> None:
        """Keep a high-water mark of the clock, to notice when it jumps backwards."""
        mark = self._state.meta.get(CLOCK_HIGH_WATER)
        if mark is None or (
            txn.now > datetime.fromisoformat(mark) + _CLOCK_IDLE_WRITE
            or (txn.now > datetime.fromisoformat(mark) and not txn.changes.empty())
        ):
            txn.changes.meta[CLOCK_HIGH_WATER] = txn.now.isoformat()

    def clock_now(self) -> datetime:
        return self._clock.now()

    def clock_trusted(self) -> bool:
        """Synchronised, and not behind a time this locker has already seen."""
        if not self._clock.trusted():
            return False
        mark = self._state.meta.get(CLOCK_HIGH_WATER)
        return mark is None or self._clock.now() >= datetime.fromisoformat(mark) - _CLOCK_SLACK

    def probe(self) -> float:
        """Take the service lock and read the store: returns only while neither hangs.
        Answers how long the database write in flight has lasted (0 when none is).

        The systemd watchdog is pinged after it, so a deadlocked controller, or one
        whose disk writes hang (every operation waiting on them), is restarted."""
        with self._lock:
            self._store.events(self._state.last_seq, 1)
        return self._journal.write_lasted_s()

    def _view(self, read: Callable[[LockerState], T]) -> T:
        """``read`` of the mirror, answered once every change it may show is on disk
        (read again if one of them failed to be written)."""
        for tries in range(1, _TRIES + 1):
            with self._lock:
                seen = self._journal.last
                value = read(self._state)
            if self._durable(seen, tries == _TRIES):
                return value
        raise JournalBroken("the state kept changing under failed writes")  # pragma: no cover
