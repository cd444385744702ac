"""Software debounce for door switches: an input must hold still before it counts.

Real reed switches chatter for a few milliseconds when a door moves. Each
edge (re)arms a deadline; when a switch has held still for ``settle_s`` its
level is read once and reported if it differs from the last report. The same
code runs for gpiozero's mock pins and real ones, so the simulation sees the
same delays as a cabinet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Debouncer:
    def __init__(
        self,
        settle_s: float,
        read: Callable[[str], bool],
        report: Callable[[str, bool], None],
    ) -> None:
        self._settle_s = settle_s
        self._read = read
        self._report = report
        self._due: dict[str, float] = {}
        self._last: dict[str, bool] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="door-debounce", daemon=True)
        self._thread.start()

    def prime(self, key: str, value: bool) -> None:
        """Set the level already known for ``key`` (at start) without reporting it."""
        with self._cond:
            self._last[key] = value

    def edge(self, key: str) -> None:
        with self._cond:
            self._due[key] = time.monotonic() + self._settle_s
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = time.monotonic()
                    ready = [k for k, t in self._due.items() if t <= now]
                    if ready:
                        break
                    wait = min(self._due.values(), default=now + 3600) - now
                    self._cond.wait(timeout=wait)
                if self._stopped:
                    return
                for key in ready:
                    del self._due[key]
            for key in ready:
                self._settle(key)

    def _settle(self, key: str) -> None:
        try:
            value = self._read(key)
            if self._last.get(key) == value:
                return
            self._report(key, value)
            self._last[key] = value
        except Exception:  # a failing report must not stop door supervision
            log.exception("door switch %s: handling the change failed; retrying", key)
            with self._cond:
                self._due.setdefault(key, time.monotonic() + 1.0)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=2)
