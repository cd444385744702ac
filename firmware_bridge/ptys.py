"""A pseudo-terminal pair: the far end of a serial line, for simulators and tests.

The driver opens ``path`` (the slave) with pyserial exactly as it opens a
USB adapter; whoever holds ``master`` plays the device.
"""

from __future__ import annotations

import contextlib
import os
import tty


class PtyPair:
    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        # NOTE: raw from the start: bytes written before the driver opens the port
        # must not be echoed or have CR turned into LF by the line discipline.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        # The slave stays open here too, so that the driver closing and reopening
        # the port does not hang up the line (reads on the master would fail).

    def read(self, size: int = 4096) -> bytes:
        return os.read(self.master, size)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def close(self) -> None:
        """Close both ends: to the driver this looks like the device unplugged."""
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
