"""A serial port that is opened again, with a back-off, after it fails.

A USB-RS485 adapter or a USB scanner can be pulled out and put back: reads
and writes then raise, the device path may vanish for a while, and the
owner of the port must neither crash nor spin. It reports the failure once,
retries after 0.5 s, 1 s, 2 s … up to 30 s, and says when the port is back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import serial

log = logging.getLogger(__name__)

REOPEN_MIN_S = 0.5
REOPEN_MAX_S = 30.0
ERRORS = (serial.SerialException, OSError)


class ReopeningPort:
    def __init__(self, url: str, what: str, alarm: bool = False, **settings: Any) -> None:
        """``url``: a device path or a pyserial URL (``socket://host:port``); ``what``
        names the port in the log; with ``alarm`` a failure is logged as CRITICAL
        ``ALARM``, else as an error; ``settings`` go to :func:`serial.serial_for_url`."""
        self.url = url
        self._what = what
        self._alarm = alarm
        self._settings = settings
        self._port: serial.Serial | None = None
        self._error: str | None = None
        self._guard = threading.Lock()
        self._retry_at = 0.0
        self._backoff = REOPEN_MIN_S

    @property
    def error(self) -> str | None:
        """Why the port is down, or None while it works."""
        with self._guard:
            return self._error

    @property
    def connected(self) -> bool:
        return self._port is not None

    def get(self) -> serial.Serial | None:
        """The open port; opened now if it is closed and its retry is due; else None."""
        if self._port is not None:
            return self._port
        if time.monotonic() < self._retry_at:
            return None
        try:
            self._port = serial.serial_for_url(self.url, **self._settings)
        except (*ERRORS, ValueError) as exc:
            self.failed(exc)
            return None
        if self.error is not None:
            log.warning("%s: port %s open again", self._what, self.url)
        with self._guard:
            self._error = None
        self._backoff = REOPEN_MIN_S
        return self._port

    def wait_s(self) -> float:
        """How long until the next try to open the port."""
        return max(0.0, self._retry_at - time.monotonic())

    def failed(self, exc: Exception) -> None:
        """The port failed (open, read or write): close it and try again later."""
        with self._guard:
            first = self._error is None
            self._error = str(exc) or type(exc).__name__
        if first:  # logged before the port reads closed: an alarm precedes what it explains
            level, prefix = (logging.CRITICAL, "ALARM ") if self._alarm else (logging.ERROR, "")
            log.log(level, "%s%s: port %s failed (%s)", prefix, self._what, self.url, exc)
        self.close()
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, REOPEN_MAX_S)

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(*ERRORS):
                port.close()
