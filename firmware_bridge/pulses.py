"""Relay pulses through a bounded queue: never more solenoids energised than the supply allows."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_PULSE_S = 2.0  # a solenoid held longer overheats (decision 25)
GAP_S = 0.05  # relay released between two pulses of the same lock


@dataclass(frozen=True)
class Pulse:
    label: str
    on: Callable[[], None]
    off: Callable[[], None]


class PulseQueue:
    """FIFO of pulses run by ``max_concurrent`` workers: order is kept, the caller never waits."""

    def __init__(self, pulse_s: float, max_concurrent: int) -> None:
        self._pulse_s = min(pulse_s, MAX_PULSE_S)
        self._queue: queue.Queue[Pulse | None] = queue.Queue()
        self._busy: dict[str, threading.Lock] = {}
        self._busy_guard = threading.Lock()
        self._workers = [
            threading.Thread(target=self._work, name=f"relay-pulse-{i}", daemon=True)
            for i in range(max(1, max_concurrent))
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, pulse: Pulse) -> None:
        self._queue.put(pulse)

    def _lock_for(self, label: str) -> threading.Lock:
        with self._busy_guard:
            return self._busy.setdefault(label, threading.Lock())

    def _work(self) -> None:
        while True:
            pulse = self._queue.get()
            if pulse is None:
                return
            # NOTE: two pulses for one lock never overlap: they would merge into one
            # long pulse, and the second unlock would be lost on a latching lock.
            with self._lock_for(pulse.label):
                self._run(pulse)
                time.sleep(GAP_S)

    def _run(self, pulse: Pulse) -> None:
        try:
            pulse.on()
            time.sleep(self._pulse_s)
        except Exception:  # a relay fault must not stop the queue
            log.exception("relay pulse %s failed", pulse.label)
        finally:
            try:
                pulse.off()
            except Exception:
                log.exception("relay %s could not be released", pulse.label)

    def close(self) -> None:
        """Stop: pulses not started yet are dropped (the relays are about to close;
        the openings they were for are reported as interrupted at the next start)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=MAX_PULSE_S + 1)
