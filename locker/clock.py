"""The wall clock, and whether to trust it.

A Raspberry Pi has no real-time clock: it boots at the last saved time and
jumps forward when NTP answers. Reservations must not expire on such a
clock. With ``trust = "ntp"`` the clock counts as trusted only while the
kernel reports it synchronised (``adjtimex`` does not answer TIME_ERROR, the
state systemd-timesyncd and chrony clear once they have a server); the
service adds a high-water mark kept in the database, so a clock that went
backwards is not trusted either.
"""

from __future__ import annotations

import ctypes
import functools
from datetime import UTC, datetime

TIME_ERROR = 5


@functools.cache
def _libc() -> ctypes.CDLL | None:
    # NOTE: the process's own symbols, libc's among them. ctypes.util.find_library("c")
    # would run `ldconfig -p` in a new process on every call, and the clock is read
    # under the service lock on every pickup.
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def kernel_clock_synchronised() -> bool:
    libc = _libc()
    if libc is None:
        return False
    try:
        buf = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = int(libc.adjtimex(buf))
    except AttributeError:  # no adjtimex in this libc
        return False
    return state not in (-1, TIME_ERROR)


class SystemClock:
    def __init__(self, trust: str = "ntp") -> None:
        self._always = trust == "always"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def trusted(self) -> bool:
        return self._always or kernel_clock_synchronised()
