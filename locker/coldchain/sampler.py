"""Reads every zone's probe each ``sample_s``, off the request path, and reports it.

One worker thread per zone, so a probe whose read hangs (a stuck 1-Wire bus)
or fails slowly (CRC retries) never delays the others; a watchdog reports a
zone whose read has lasted longer than ``read_timeout_s`` as ``missing``.
Each sample goes to :meth:`LockerService.temperature_sampled`, which keeps it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from locker.domain.errors import DomainError
from locker.domain.service import LockerService

log = logging.getLogger(__name__)

Sample = tuple[float | None, str | None]


@dataclass
class _Zone:
    zone: str
    device: str
    wake: threading.Event = field(default_factory=threading.Event)
    reading_since: float | None = None  # monotonic start of the read in flight
    timed_out: bool = False  # reported missing while its read hangs
    thread: threading.Thread | None = None


class Sampler:
    def __init__(
        self,
        service: LockerService,
        devices: dict[str, str],
        read: Callable[[str], Sample],
        sample_s: float,
        read_timeout_s: float,
        before_read: Callable[[str], None] | None = None,
    ) -> None:
        """``devices``: zone id -> probe device (``28-…``); ``read(device)`` answers
        ``(celsius, fault)``; ``before_read(zone)`` lets a simulation convert."""
        self._service = service
        self._read = read
        self._before = before_read
        self.sample_s = sample_s
        self._timeout = read_timeout_s
        self._zones = {z: _Zone(z, d) for z, d in devices.items()}
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, name="w1-watchdog", daemon=True)
        self.samples = 0  # reported so far, for the benchmarks

    def start(self) -> None:
        for z in self._zones.values():
            z.thread = threading.Thread(
                target=self._loop, args=(z,), name=f"w1-{z.zone}", daemon=True
            )
            z.thread.start()
        self._watch.start()

    def sample_now(self, zone: str) -> None:
        """Read ``zone`` at once and report it (the simulation route, tests)."""
        self._sample(self._zones[zone])

    def _loop(self, z: _Zone) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._sample(z)
            except Exception:  # never let a zone's sampling die
                log.exception("sampling zone %s failed; will retry", z.zone)
            z.wake.wait(max(self.sample_s - (time.monotonic() - started), 0.05))
            z.wake.clear()

    def _sample(self, z: _Zone) -> None:
        z.reading_since = time.monotonic()
        try:
            if self._before is not None:
                self._before(z.zone)
            celsius, fault = self._read(z.device)
        finally:
            z.reading_since = None
        if z.timed_out:
            z.timed_out = False
            log.warning("the probe of zone %s answers again", z.zone)
        self._report(z.zone, celsius, fault)

    def _report(self, zone: str, celsius: float | None, fault: str | None) -> None:
        if self._stop.is_set():
            return
        try:
            self._service.temperature_sampled(zone, celsius, fault)
            self.samples += 1
        except DomainError as exc:  # pragma: no cover - zones come from the same config
            log.error("sample of zone %s refused: %s", zone, exc)

    def _watchdog(self) -> None:
        while not self._stop.wait(min(self._timeout, self.sample_s) / 2):
            now = time.monotonic()
            for z in self._zones.values():
                since = z.reading_since
                if since is not None and now - since > self._timeout and not z.timed_out:
                    z.timed_out = True
                    log.error(
                        "the probe of zone %s has not answered for %.0f s", z.zone, now - since
                    )
                    try:
                        self._report(z.zone, None, "missing")
                    except Exception:
                        log.exception("reporting zone %s missing failed", z.zone)

    def stop(self) -> None:
        self._stop.set()
        for z in self._zones.values():
            z.wake.set()
        for z in self._zones.values():
            if z.thread is not None and z.thread.is_alive():
                z.thread.join(timeout=5)
        if self._watch.is_alive():
            self._watch.join(timeout=5)
