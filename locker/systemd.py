"""systemd's notification protocol (``sd_notify``) without libsystemd.

A notification is one datagram of ``KEY=value`` lines sent to the unix socket
named by ``NOTIFY_SOCKET`` (a path, or an abstract socket when it starts with
``@``). Outside systemd the variable is unset and every call does nothing.

The watchdog (``WatchdogSec=`` in the unit, ``WATCHDOG_USEC`` here) is pinged at
half its period, and only while every part that reports to it is alive: the
controller's periodic loop after a tick that took the service lock and read the
store, and the HTTP server's loop. A hung part stops the pings and systemd
restarts the service.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def notify_address(env: Mapping[str, str]) -> str | None:
    """The socket address from ``NOTIFY_SOCKET``, in the form ``socket.connect`` takes."""
    raw = env.get("NOTIFY_SOCKET", "")
    if raw.startswith("@"):
        return "\0" + raw[1:]  # abstract namespace
    if raw.startswith("/"):
        return raw
    return None  # unset, or a kind we do not speak (vsock:)


def watchdog_period(env: Mapping[str, str]) -> float | None:
    """The watchdog period in seconds, when systemd asks this very process for pings."""
    pid, usec = env.get("WATCHDOG_PID", ""), env.get("WATCHDOG_USEC", "")
    try:
        if pid and int(pid) != os.getpid():
            return None
        period = int(usec) / 1_000_000
    except ValueError:
        return None
    return period if period > 0 else None


class Notifier:
    """Sends notifications to systemd; a no-op when the service was not started by it."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.address = notify_address(os.environ if env is None else env)
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        if self.address is None:
            return False
        payload = "\n".join(lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(payload)
        except OSError as exc:
            if not self._warned:  # once: a missing socket would otherwise flood the log
                log.warning("systemd notification failed: %s", exc)
                self._warned = True
            return False
        return True


class Watchdog:
    """Pings ``WATCHDOG=1`` at most every half period, only while every part beats."""

    def __init__(
        self,
        notifier: Notifier,
        period_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.interval_s = period_s / 2
        self._clock = clock
        self._beats: dict[str, float] = {}
        self._last_ping = float("-inf")
        self._quiet: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, notifier: Notifier, env: Mapping[str, str] | None = None) -> Watchdog | None:
        period = watchdog_period(os.environ if env is None else env)
        return None if period is None or not notifier.enabled else cls(notifier, period)

    def beat(self, part: str) -> None:
        """``part`` has just shown that it works."""
        with self._lock:
            self._beats[part] = self._clock()

    def due(self) -> bool:
        with self._lock:
            return self._clock() - self._last_ping >= self.interval_s

    def ping_if_alive(self, status: str | None = None) -> bool:
        """Ping when due and when no part has been quiet for more than half a period."""
        with self._lock:
            now = self._clock()
            if now - self._last_ping < self.interval_s:
                return False
            quiet = sorted(p for p, seen in self._beats.items() if now - seen > self.interval_s)
            if quiet != self._quiet and quiet:
                log.warning("watchdog not pinged: %s quiet", ", ".join(quiet))
            self._quiet = quiet
            if quiet or not self._beats:
                return False
            self._last_ping = now
        lines = ["WATCHDOG=1"] + ([f"STATUS={status}"] if status else [])
        return self.notifier.send(*lines)
