"""Scans from a serial QR scanner, fed to the same pickup flow as the kiosk's keypad.

The scanner is a terminal of its own (``scanner:<port>``), so wrong codes
sent through it count toward its lockout like any kiosk's. Each outcome is
logged and handed to the listeners (the kiosk screen's live stream) as the
compartment opened or the reason for a refusal; never the code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from locker.domain.codes import QR_PREFIX
from locker.domain.errors import DomainError, LockedOut, WrongCode
from locker.domain.model import Purpose
from locker.domain.service import LockerService

log = logging.getLogger(__name__)

Outcome = dict[str, object]


class ScanDesk:
    def __init__(self, service: LockerService, port: str, group: bool = True) -> None:
        self._service = service
        self.group = group  # kiosk.group_pickup
        self.terminal = f"scanner:{port}"
        self._listeners: list[Callable[[Outcome], None]] = []

    def subscribe(self, listener: Callable[[Outcome], None]) -> None:
        """Call ``listener(outcome)`` after every scan (on the scanner's thread)."""
        self._listeners.append(listener)

    def scan(self, text: str) -> Outcome:
        """Use the scanned text as a code: a ``LKR1:`` QR payload, or 8 bare digits."""
        qr = text if text.startswith(f"{QR_PREFIX}:") else None
        try:
            purpose, cid = self._service.use_code(self.terminal, None if qr else text, qr)
        except LockedOut as exc:
            outcome: Outcome = {"ok": False, "reason": "locked", "retry_after_s": exc.retry_after_s}
        except WrongCode as exc:
            outcome = {"ok": False, "reason": exc.reason}
        except DomainError as exc:  # malformed (not a locker code), out of service …
            outcome = {"ok": False, "reason": exc.code}
        else:
            outcome = {"ok": True, "compartment": cid, "purpose": purpose.value}
            if purpose is Purpose.REOPEN:  # the same door again: shown as for the pickup
                outcome |= {"purpose": Purpose.PICKUP.value, "reopen": True}
            others = self._service.others_waiting(self.terminal) if self.group else 0
            if others:  # the screen offers them (POST /pickups/others with "scanner")
                outcome["others"] = others
        if outcome["ok"]:
            log.info("%s: %s opens %s", self.terminal, outcome["purpose"], outcome["compartment"])
        else:
            log.info("%s: scan refused (%s)", self.terminal, outcome["reason"])
        for listener in self._listeners:
            try:
                listener(outcome)
            except Exception:
                log.exception("%s: a scan listener failed", self.terminal)
        return outcome
