"""Doors on Kerong KR-CU16 lock boards over RS-485: the door port the runtime uses for GPIO.

A board has no door switch: a lock's hook bit is 1 while the hook is latched
(door shut) and 0 once unlocked, until the door is pushed shut again. So a
door reads open from the moment its hook pops; the domain's door cycle
(opened, then closed) works unchanged on top of that.

A door whose board has not answered since the start is unknown (:meth:`KerongDoors.unknown`),
not shut: the service keeps its compartment out of service until the board answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from firmware_bridge.kerong_bus import BusTiming, KerongBus
from firmware_bridge.kerong_frames import Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KerongLock:
    compartment: str
    board: int  # 0-15, as set on the board's DIP switches
    lock: int  # 1-16, as printed beside the board's connector


class KerongDoors:
    """:class:`locker.domain.ports.DoorActuator` on one bus of Kerong boards."""

    def __init__(
        self, locks: list[KerongLock], port: str, baudrate: int, timing: BusTiming
    ) -> None:
        self.locks = {lk.compartment: lk for lk in locks}
        self._by_board: dict[int, list[KerongLock]] = {}
        for lk in locks:
            self._by_board.setdefault(lk.board, []).append(lk)
        self._open: dict[str, bool] = {}  # as last polled
        self._reported: dict[str, bool] = {}  # as the listener last took it
        self._items: dict[str, bool] = {}
        self._guard = threading.Lock()
        self._listener: Callable[[str, bool], None] | None = None
        self._bus = KerongBus(port, baudrate, self._by_board, timing, self._status)
        self._bus.start()
        # Door states are known before the service reconciles them at start.
        rounds = len(self._by_board) * (timing.retries + 1) * timing.timeout_s
        if not self._bus.first_round.wait(timeout=rounds + timing.poll_interval_s + 2):
            log.warning("kerong: first status round not done; doors unknown until polled")

    def _status(self, status: Status) -> None:
        changes: list[tuple[str, bool]] = []
        with self._guard:
            for lk in self._by_board.get(status.board, []):
                is_open = not status.locked[lk.lock - 1]
                self._items[lk.compartment] = status.items[lk.lock - 1]
                first = lk.compartment not in self._open
                self._open[lk.compartment] = is_open
                if first:  # a first reading is no change: the service reads it (unknown())
                    self._reported[lk.compartment] = is_open
                elif self._reported.get(lk.compartment, False) != is_open:
                    changes.append((lk.compartment, is_open))
            listener = self._listener
            if listener is None:  # levels read before anyone listens are taken as known
                self._reported.update(changes)
                return
        for cid, is_open in changes:
            try:
                listener(cid, is_open)
            except Exception:  # the bus thread must go on polling
                # NOTE: not taken: the next poll reports it again (a door change whose
                # commit failed is not lost).
                log.exception("door %s: change not handled; reported again", cid)
                continue
            with self._guard:
                self._reported[cid] = is_open

    def listen(self, listener: Callable[[str, bool], None]) -> None:
        """Call ``listener(compartment, is_open)`` on every change a poll reveals (on the
        bus thread). Levels read now, and a door's first reading later (its board silent
        until then), are taken as known: call :meth:`is_open` for them."""
        self._listener = listener

    def unknown(self) -> set[str]:
        """The doors never read since the start: their board has not answered yet."""
        with self._guard:
            return {cid for cid in self.locks if cid not in self._open}

    def unlock(self, compartment_id: str) -> None:
        lk = self.locks.get(compartment_id)
        if lk is None:
            log.warning("compartment %s has no Kerong lock: nothing to unlock", compartment_id)
            return
        self._bus.unlock(lk.board, lk.lock)

    def is_open(self, compartment_id: str) -> bool:
        """The hook as last polled; a door never read reads shut: see :meth:`unknown`."""
        with self._guard:
            return self._open.get(compartment_id, False)

    def item_present(self, compartment_id: str) -> bool | None:
        """The board's infrared item sensor (False on boards without one); None: not read."""
        with self._guard:
            return self._items.get(compartment_id)

    def health(self) -> dict[str, object]:
        return {"hardware": "kerong", **self._bus.health()}

    def close(self) -> None:
        self._bus.close()
