"""One RS-485 bus of Kerong KR-CU16 boards, owned by one thread.

RS-485 is half duplex: the bus thread alone writes and reads the port, one
request at a time. It polls every board's status at a steady interval and
sends the unlocks queued by other threads between two polls. A request left
unanswered is retried a bounded number of times; then the board is reported
unreachable (an alarm in the log and in :meth:`KerongBus.health`), polled
once a round, and reported back when it answers again. A port that fails
(a USB adapter pulled out) is reopened with a back-off. Nothing here raises
into the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import serial

from firmware_bridge.kerong_frames import (
    STATUS_REPLY,
    Deframer,
    Status,
    status_request,
    unlock_request,
)
from firmware_bridge.serial_port import ERRORS, ReopeningPort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusTiming:
    poll_interval_s: float = 0.25
    timeout_s: float = 0.2  # for one reply
    retries: int = 2  # more tries of an unanswered status request
    gap_s: float = 0.05  # silence that ends a partial frame (USB adapters buffer ~16 ms)


@dataclass
class BoardHealth:
    reachable: bool | None = None  # None: not asked yet, or the port is down
    answers: int = 0
    unanswered: int = 0  # status requests that got no valid reply in time, retries included
    last_answer_at: float | None = None  # time.monotonic()


def _board_health(health: BoardHealth, now: float) -> dict[str, object]:
    seen = health.last_answer_at
    return {
        "reachable": health.reachable,
        "answers": health.answers,
        "unanswered": health.unanswered,
        "last_answer_s_ago": None if seen is None else round(now - seen, 1),
    }


class KerongBus:
    def __init__(
        self,
        port: str,
        baudrate: int,
        boards: Iterable[int],
        timing: BusTiming,
        on_status: Callable[[Status], None],
    ) -> None:
        """``port`` is a device path or a pyserial URL (``socket://host:port`` for a
        network RS-485 gateway). ``on_status`` is called on the bus thread."""
        self._port = ReopeningPort(
            port,
            "kerong bus",
            alarm=True,
            baudrate=baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            timeout=min(0.02, timing.gap_s / 2),
            write_timeout=1.0,
        )
        self._timing = timing
        self._on_status = on_status
        self._boards = {board: BoardHealth() for board in sorted(set(boards))}
        self._deframer = Deframer(timing.gap_s)
        self._jobs: queue.Queue[tuple[int, int] | None] = queue.Queue()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self.first_round = threading.Event()  # every board asked once (or the port failed)
        self._thread = threading.Thread(target=self._run, name="kerong-bus", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def unlock(self, board: int, lock: int) -> None:
        """Queue an unlock; returns at once. Unlocks go out one at a time, between polls."""
        self._jobs.put((board, lock))

    def close(self) -> None:
        self._stop.set()
        self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._port.close()

    def health(self) -> dict[str, object]:
        now, error = time.monotonic(), self._port.error
        with self._guard:
            boards = {str(b): _board_health(h, now) for b, h in self._boards.items()}
            return {
                "port": self._port.url,
                "port_error": error,
                "ok": error is None
                and all(h.reachable is not False for h in self._boards.values()),
                "refused_frames": self._deframer.refused,
                "boards": boards,
            }

    # -- the bus thread ---------------------------------------------------------
    def _run(self) -> None:
        interval = self._timing.poll_interval_s
        next_poll = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() >= next_poll:
                self._guarded(self._poll_all)
                self.first_round.set()
                next_poll += interval
                if next_poll <= time.monotonic():  # fell behind: skip the missed rounds
                    next_poll = time.monotonic() + interval
                continue
            try:
                job = self._jobs.get(timeout=max(0.0, next_poll - time.monotonic()))
            except queue.Empty:
                continue
            if job is None:
                return
            self._guarded(partial(self._unlock, *job))

    def _guarded(self, work: Callable[[], None]) -> None:
        try:
            work()
        except ERRORS as exc:
            self._port.failed(exc)
            self._port_down()
        except Exception:  # a bug must not stop the doors: log it, go on with the next round
            log.exception("kerong bus: unexpected error")

    def _poll_all(self) -> None:
        port = self._port.get()
        if port is None:
            self._port_down()
            return
        for board, health in self._boards.items():
            if self._stop.is_set():
                return
            tries = 1 if health.reachable is False else 1 + self._timing.retries
            for _ in range(tries):
                if self._ask(port, board, status_request(board)):
                    break
                with self._guard:
                    health.unanswered += 1
            else:
                self._unreachable(board, tries)

    def _unlock(self, board: int, lock: int) -> None:
        port = self._port.get()
        if port is None:
            log.error("kerong board %d lock %d: not unlocked, the port is down", board, lock)
            return
        # NOTE: whether a board answers 0x31 is an open point: a status frame or
        # nothing are both fine, and an unlock is never repeated here. The next
        # status poll confirms the opening; the domain pulses again if it does not.
        self._ask(port, board, unlock_request(board, lock))

    def _ask(self, port: serial.Serial, board: int, request: bytes) -> bool:
        """Send ``request``; True when ``board`` answered with a valid status frame."""
        port.reset_input_buffer()  # a late answer to an earlier request is stale
        self._deframer.reset()
        port.write(request)
        refused = self._deframer.refused
        deadline = time.monotonic() + self._timing.timeout_s
        while time.monotonic() < deadline:
            chunk = port.read(max(1, port.in_waiting))
            for frame in self._deframer.feed(chunk, time.monotonic()):
                # NOTE: boards differ on the ADDR of a reply (board << 4, or an echo of
                # the request): only the board nibble is matched.
                if frame.board == board and frame.cmd == STATUS_REPLY:
                    self._answered(board)
                    self._on_status(Status.of(frame))
                    return True
                log.debug("kerong: frame %s ignored while asking board %d", frame, board)
            if self._deframer.refused != refused and not port.in_waiting:
                log.warning("kerong board %d: reply refused (bad checksum or framing)", board)
                return False  # the board has spoken; no point waiting out the timeout
        return False

    def _port_down(self) -> None:
        # NOTE: unknown, not unreachable: the port's own alarm says why. When it is back,
        # each board is asked afresh (with retries) and one that stays silent gets its alarm.
        with self._guard:
            for health in self._boards.values():
                health.reachable = None

    def _answered(self, board: int) -> None:
        with self._guard:
            health = self._boards.get(board)
            if health is None:
                return
            if health.reachable is False:
                log.warning("kerong board %d answers again", board)
            health.reachable = True
            health.answers += 1
            health.last_answer_at = time.monotonic()

    def _unreachable(self, board: int, tries: int) -> None:
        with self._guard:
            was = self._boards[board].reachable
        if was is not False:  # the alarm is logged before health reports it
            log.critical(
                "ALARM kerong board %d unreachable on %s: no valid answer to %d tries; "
                "its doors are not supervised until it answers again",
                board,
                self._port.url,
                tries,
            )
        with self._guard:
            self._boards[board].reachable = False
