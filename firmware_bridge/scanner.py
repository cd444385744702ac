"""A fixed-mount QR scanner in serial mode: each scan arrives as one line (CR, LF or CRLF).

One reader thread owns the port and hands every well-formed line to
``on_scan``. What cannot be a scan (a line over ``max_line`` bytes, bad
UTF-8, control characters) is dropped with a log line that gives its size,
never its content: a scan may be a pickup code. A port that vanishes (the
scanner's USB cable pulled out) is reopened with a back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from firmware_bridge.serial_port import ERRORS, ReopeningPort

log = logging.getLogger(__name__)

LINE_ENDS = b"\r\n"
PARTIAL_IDLE_S = 1.0  # a line without its end, then silence: a scanner set up without a suffix


class ScanLines:
    """Cuts the scanner's bytes into scans. Pure: no I/O, the caller reads."""

    def __init__(self, max_line: int, where: str) -> None:
        self.max_line = max_line
        self.where = where
        self.dropped = 0
        self._buffer = bytearray()
        self._skipping = False  # inside a line already dropped as overlong

    def pending(self) -> bool:
        """A line is under way: bytes without their end, or the rest of an overlong line."""
        return bool(self._buffer) or self._skipping

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        scans: list[str] = []
        while True:
            ends = [i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0]
            if not ends:
                if len(self._buffer) > self.max_line:
                    if not self._skipping:
                        self._drop(f"a line over {self.max_line} bytes")
                    self._buffer.clear()
                    self._skipping = True
                return scans
            cut = min(ends)
            line = bytes(self._buffer[:cut])
            del self._buffer[: cut + 1]
            if self._skipping:  # the rest of an overlong line
                self._skipping = False
                continue
            if line:  # CRLF gives an empty line between CR and LF
                scan = self._check(line)
                if scan is not None:
                    scans.append(scan)

    def _check(self, line: bytes) -> str | None:
        if len(line) > self.max_line:
            self._drop(f"a line of {len(line)} bytes (over {self.max_line})")
            return None
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._drop(f"{len(line)} bytes that are not UTF-8")
            return None
        if not text.isprintable():
            self._drop(f"{len(line)} bytes with control characters (binary noise?)")
            return None
        return text or None

    def _drop(self, what: str) -> None:
        self.dropped += 1
        log.warning("scanner %s: dropped %s; the reader goes on", self.where, what)

    def drop_partial(self, why: str) -> None:
        """End the line under way. Silence ends an overlong line too: what comes next
        is a new scan, not the rest of the dropped line."""
        if self._buffer:
            self._drop(f"{len(self._buffer)} bytes without a line end ({why})")
        self._buffer.clear()
        self._skipping = False


class SerialScanner:
    def __init__(
        self, port: str, baudrate: int, on_scan: Callable[[str], object], max_line: int = 256
    ) -> None:
        self._port = ReopeningPort(port, f"scanner {port}", baudrate=baudrate, timeout=0.1)
        self._lines = ScanLines(max_line, port)
        self._on_scan = on_scan
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qr-scanner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._port.close()

    def health(self) -> dict[str, object]:
        error = self._port.error
        return {
            "port": self._port.url,
            "connected": self._port.connected,
            "port_error": error,
            "scans": self.scans,
            "dropped": self._lines.dropped,
        }

    def _run(self) -> None:
        last_data = time.monotonic()
        while not self._stop.is_set():
            port = self._port.get()
            if port is None:
                self._stop.wait(max(0.05, self._port.wait_s()))
                continue
            try:
                data = port.read(max(1, port.in_waiting))
            except ERRORS as exc:  # unplugged: what was half read is lost
                self._port.failed(exc)
                self._lines.drop_partial("the port failed")
                continue
            now = time.monotonic()
            if data:
                last_data = now
            elif self._lines.pending() and now - last_data > PARTIAL_IDLE_S:
                self._lines.drop_partial("set the scanner to end each scan with CR or LF")
            for scan in self._lines.feed(data):
                self.scans += 1
                try:
                    self._on_scan(scan)
                except Exception:  # the reader outlives any one scan
                    log.exception("scanner %s: a scan could not be handled", self._port.url)
