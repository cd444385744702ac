"""The wall clock, and whether to trust it.

A Raspberry Pi has no real-time clock: it boots at the last saved time and
jumps forward when NTP answers. Reservations must not expire on such a
clock. With ``trust = "ntp"`` the clock counts as trusted only while the
kernel reports it synchronised (``adjtimex`` does not answer TIME_ERROR, the
state systemd-timesyncd and chrony clear once they have a server); the
service adds a high-water mark kept in the database, so a clock that went
backwards is not trusted either.

In simulation only, ``LOCKER_SIM_CLOCK`` (an instant with its offset) starts a
:class:`SimulatedClock` there instead, for demonstrations and tests of the hours.
"""

from __future__ import annotations

import ctypes
import functools
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

TIME_ERROR = 5
SIM_CLOCK_ENV = "LOCKER_SIM_CLOCK"


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


class SimClockError(ValueError):
    """``LOCKER_SIM_CLOCK`` outside simulation, or not an instant with an offset."""


class SimulatedClock:
    """A wall clock that starts at ``start`` and runs at the real rate (on the monotonic
    clock, so a change of the machine's time moves it not). Always trusted: it is there
    to show and test the hours (a Saturday evening, a holiday) on a simulated cabinet."""

    def __init__(self, start: datetime, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise SimClockError(f"{SIM_CLOCK_ENV}: {start.isoformat()} has no UTC offset")
        self.start = start
        self._monotonic = monotonic
        self._origin = monotonic()

    @classmethod
    def parse(cls, text: str) -> SimulatedClock:
        example = "e.g. 2026-07-14T10:00:00+02:00"
        try:
            start = datetime.fromisoformat(text.strip())
        except ValueError:
            raise SimClockError(
                f"{SIM_CLOCK_ENV}: {text!r} is not an ISO-8601 instant ({example})"
            ) from None
        if start.tzinfo is None or start.utcoffset() is None:
            raise SimClockError(f"{SIM_CLOCK_ENV}: {text!r} needs a UTC offset ({example})")
        return cls(start)

    def now(self) -> datetime:
        elapsed = self._monotonic() - self._origin
        return (self.start + timedelta(seconds=elapsed)).astimezone(UTC)

    def trusted(self) -> bool:
        return True


def sim_clock_from_env(environ: Mapping[str, str], simulate: bool) -> SimulatedClock | None:
    """The clock ``LOCKER_SIM_CLOCK`` asks for, or None when it is not set. Refused outside
    simulation: a real cabinet never runs on a made-up time (it would expire reservations
    or open hours by it), and a variable left over is said, not ignored."""
    if SIM_CLOCK_ENV not in environ:
        return None
    if not simulate:
        raise SimClockError(
            f"{SIM_CLOCK_ENV} is only accepted in simulation (locker serve --simulate, "
            "make run): unset it to run on the real clock"
        )
    return SimulatedClock.parse(environ[SIM_CLOCK_ENV])
