"""Refusals of the domain. Each has a stable ``code`` the adapters map to HTTP or events."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Invalid(DomainError):
    code = "invalid"


class Conflict(DomainError):
    """The request is well formed but the state does not allow it."""

    code = "conflict"


class Rejected(Conflict):
    """An upsert that cannot be placed or applied; reported as ``reservation.rejected``."""

    code = "rejected"


class WrongCode(DomainError):
    """A well-formed code that opens nothing.

    ``reason`` is ``unknown`` (matches no code: counts toward the terminal's
    lockout), or ``used``, ``expired``, ``cancelled`` for a code that was real;
    ``pin`` for a wrong courier PIN (it counts too).
    """

    code = "wrong_code"

    def __init__(self, message: str, reason: str = "unknown") -> None:
        super().__init__(message)
        self.reason = reason


class LockedOut(DomainError):
    code = "locked_out"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """The compartment exists but cannot be opened now (out of service, busy door)."""

    code = "unavailable"


class Held(DomainError):
    """The code is right, but the item must not be handed over (decision 32): refused
    with the held screen, and not counted toward the lockout."""

    code = "held"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ColdPending(DomainError):
    """A chilled item whose cold-chain record waits for a trusted clock after a restart."""

    code = "cold_pending"


class Closed(DomainError):
    """The host site is closed and its cabinet cannot be reached then
    (``hours.closed_blocks_pickups``): residents' codes wait for the opening."""

    code = "closed"

    def __init__(self, message: str, until: str | None) -> None:
        super().__init__(message)
        self.until = until
