"""Kerong KR-CU16 boards in software, speaking the real bytes on a pseudo-terminal.

:class:`KerongSimulator` is N boards of 16 locks on one bus: ``0x30`` answers
a ``0x35`` status frame, ``0x31`` pops a hook (its lock bit goes to 0: the
door is open). Where the hardware notes leave a point open, both answers can
be chosen: ``unlock_reply`` ("status" or "none") and ``reply_addr``
("board": ``board << 4``, or "echo" of the request's ADDR). Faults can be
injected per board. :class:`KerongCabinet` is the hand at the cabinet, by
compartment id, with the interface of :class:`firmware_bridge.sim.SimulatedCabinet`.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from firmware_bridge.kerong import KerongLock
from firmware_bridge.kerong_frames import LOCKS, STATUS, UNLOCK, Deframer, Frame, Status
from firmware_bridge.ptys import PtyPair
from firmware_bridge.sim import CabinetHand

log = logging.getLogger(__name__)

Fault = Literal["bad_checksum", "silence", "garbage", "partial"]
GARBAGE = b"\x00\xff\x02\x35\x03\x99"  # noise with an STX in it, as a line glitch gives
SOLENOID_S = 0.3  # how long a board energises a lock for one unlock


class SimBoard:
    def __init__(self, board: int) -> None:
        self.board = board
        self.locked = [True] * LOCKS
        self.items = [False] * LOCKS
        self.unlocks = [0] * LOCKS
        self.unlocked_at = [float("-inf")] * LOCKS

    def status(self) -> Status:
        return Status(self.board, tuple(self.locked), tuple(self.items))


class KerongSimulator:
    def __init__(
        self,
        boards: Iterable[int],
        unlock_reply: Literal["status", "none"] = "status",
        reply_addr: Literal["board", "echo"] = "board",
        partial_gap_s: float = 0.3,
    ) -> None:
        self.unlock_reply = unlock_reply
        self.reply_addr = reply_addr
        self.partial_gap_s = partial_gap_s
        self.boards = {b: SimBoard(b) for b in boards}
        self.absent: set[int] = set()  # boards that do not answer at all
        self.requests: Counter[tuple[int, int]] = Counter()  # (board, CMD) received
        self._faults: dict[int, list[Fault]] = {}
        self._guard = threading.Lock()
        self._pty = PtyPair()
        self.port = self._pty.path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kerong-sim", daemon=True)
        self._thread.start()

    # -- the hand and the test's controls --------------------------------------------
    def fail_next(self, board: int, fault: Fault, times: int = 1) -> None:
        """Spoil the next ``times`` replies of ``board`` (a request that gets no
        reply anyway, such as 0x31 with ``unlock_reply="none"``, spends none)."""
        with self._guard:
            self._faults.setdefault(board, []).extend([fault] * times)

    def faults_pending(self, board: int) -> int:
        with self._guard:
            return len(self._faults.get(board, []))

    def set_locked(self, board: int, lock: int, locked: bool) -> None:
        with self._guard:
            self.boards[board].locked[lock - 1] = locked

    def is_locked(self, board: int, lock: int) -> bool:
        with self._guard:
            return self.boards[board].locked[lock - 1]

    def set_item(self, board: int, lock: int, present: bool) -> None:
        with self._guard:
            self.boards[board].items[lock - 1] = present

    def unlock_count(self, board: int, lock: int) -> int:
        with self._guard:
            return self.boards[board].unlocks[lock - 1]

    def solenoid_on(self, board: int, lock: int) -> bool:
        with self._guard:
            return time.monotonic() - self.boards[board].unlocked_at[lock - 1] < SOLENOID_S

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pty.close()

    # -- the boards --------------------------------------------------------------
    def _serve(self) -> None:
        deframer = Deframer(gap_s=0.05)
        while not self._stop.is_set():
            ready, _, _ = select.select([self._pty.master], [], [], 0.05)
            try:
                data = self._pty.read() if ready else b""
            except OSError:  # the pty was closed under us
                return
            for frame in deframer.feed(data, time.monotonic()):
                try:
                    self._answer(frame)
                except OSError:
                    return

    def _answer(self, frame: Frame) -> None:
        with self._guard:
            self.requests[frame.board, frame.cmd] += 1
            board = self.boards.get(frame.board)
            if board is None or frame.board in self.absent or frame.cmd not in (STATUS, UNLOCK):
                return
            if frame.cmd == UNLOCK:
                index = frame.addr & 0x0F
                board.locked[index] = False  # the hook pops: the door swings open
                board.unlocks[index] += 1
                board.unlocked_at[index] = time.monotonic()
                if self.unlock_reply == "none":
                    return
            addr = frame.addr if self.reply_addr == "echo" else None
            reply = board.status().reply(addr)
            faults = self._faults.get(frame.board)
            fault = faults.pop(0) if faults else None
        self._send(reply, fault)

    def _send(self, reply: bytes, fault: Fault | None) -> None:
        if fault == "silence":
            return
        if fault == "bad_checksum":
            reply = reply[:-1] + bytes([(reply[-1] + 1) & 0xFF])
        elif fault == "garbage":
            reply = GARBAGE + reply
        elif fault == "partial":  # half a frame, a pause, then the whole frame
            self._pty.write(reply[:5])
            time.sleep(self.partial_gap_s)
        self._pty.write(reply)


class KerongCabinet(CabinetHand):
    """A hand at a cabinet of Kerong locks: the interface of ``SimulatedCabinet``."""

    def __init__(self, sim: KerongSimulator, locks: list[KerongLock]) -> None:
        super().__init__(lk.compartment for lk in locks)
        self.sim = sim
        self._locks = {lk.compartment: lk for lk in locks}

    def set_door(self, cid: str, is_open: bool) -> None:
        """Pull the door open, or push it shut until the hook latches."""
        lk = self._locks[cid]
        self.sim.set_locked(lk.board, lk.lock, locked=not is_open)

    def door_is_open(self, cid: str) -> bool:
        lk = self._locks[cid]
        return not self.sim.is_locked(lk.board, lk.lock)

    def relay_pulses(self, cid: str) -> int:
        """Unlock commands the board received for this lock."""
        lk = self._locks[cid]
        return self.sim.unlock_count(lk.board, lk.lock)

    def relay_active(self, cid: str) -> bool:
        lk = self._locks[cid]
        return self.sim.solenoid_on(lk.board, lk.lock)

    def details(self, cid: str) -> dict[str, object]:
        lk = self._locks[cid]
        return {"board": lk.board, "lock": lk.lock}

    def close(self) -> None:
        self.sim.close()
