"""Reservations and commands from the server, read and handed to the domain service.

Nothing here raises: a message that cannot be read is answered by an event
(``reservation.rejected`` or ``command.failed``) naming the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from locker.domain import commands
from locker.domain.rules import Cancel, ReservationMessage, Unreadable, Upsert
from locker.domain.service import LockerService
from locker.sync.messages import (
    COMMANDS,
    ID,
    RESERVATIONS,
    ClearClosureCommand,
    EraseCommand,
    OpenCommand,
    ReservationCancel,
    ResyncCommand,
    SetClosureCommand,
)

log = logging.getLogger(__name__)


_TAGS = {
    "reservation.upsert",
    "reservation.cancel",
    "resync",
    "open",
    "set_service",
    "set_closure",
    "clear_closure",
}


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"] if str(p) not in _TAGS)
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)[:500]


def _guess(raw: bytes, field: str) -> str | None:
    """The id a broken message names, to help the server match the answer; only an id
    that is itself valid goes into an event (an event must always be publishable)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    value = body.get(field) if isinstance(body, dict) else None
    try:
        return ID.validate_python(value)
    except ValidationError:
        return None


def _unicode_problem(body: object) -> bool:
    """JSON may carry lone surrogates (``"\\ud800"``): text that no UTF-8 can hold."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Inbound:
    def __init__(self, service: LockerService, max_bytes: int) -> None:
        self._service = service
        self._max_bytes = max_bytes

    def _read(self, raw: bytes, adapter: TypeAdapter[Any]) -> tuple[Any, str | None]:
        if len(raw) > self._max_bytes:
            return None, f"message of {len(raw)} bytes is over the limit of {self._max_bytes}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "payload is not UTF-8"
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"payload is not valid JSON: {exc.msg} at position {exc.pos}"
        except (ValueError, RecursionError):
            return None, "payload is not valid JSON (or nested too deeply)"
        if not isinstance(body, dict):
            return None, "payload is not a JSON object"
        if _unicode_problem(body):
            return None, "payload has text that is not valid Unicode (lone surrogate)"
        try:
            return adapter.validate_python(body), None
        except ValidationError as exc:
            return None, _reason(exc)

    def read_reservation(self, raw: bytes) -> ReservationMessage:
        message, reason = self._read(raw, RESERVATIONS)
        if reason is not None:
            return Unreadable(reason, _guess(raw, "reservation_id"))
        if isinstance(message, ReservationCancel):
            return Cancel(message.reservation_id, message.version)
        upsert: Upsert = message.to_domain()
        return upsert

    def reservations(self, raws: Sequence[bytes]) -> None:
        """Messages from the reservations topic, in order, committed together."""
        messages = [self.read_reservation(raw) for raw in raws]
        outcomes = self._service.reservation_messages(messages)
        for message, outcome in zip(messages, outcomes, strict=True):
            if outcome is not None and not isinstance(message, Unreadable):
                # already answered by an event
                log.info("reservation %s refused: %s", message.reservation_id, outcome.message)

    def reservation(self, raw: bytes) -> None:
        self.reservations([raw])

    def refuse(self, raw: bytes, is_reservation: bool) -> None:
        """Answer a message whose handling failed (``reservation.rejected`` or
        ``command.failed``), with its id when it names a valid one."""
        if is_reservation:
            reason = "the locker could not handle this message"
            self._service.reject_message(reason, _guess(raw, "reservation_id"))
        else:
            reason = "the locker could not handle this command"
            self._service.command_failed(reason, _guess(raw, "request_id"))

    def command(self, raw: bytes) -> None:
        message, reason = self._read(raw, COMMANDS)
        if reason is not None:
            self._service.command_failed(reason, _guess(raw, "request_id"))
            return
        command: commands.Command
        if isinstance(message, ResyncCommand):
            command = commands.Resync()
        elif isinstance(message, OpenCommand):
            command = commands.OpenDoor(message.compartment, message.reason)
        elif isinstance(message, SetClosureCommand):
            command = commands.SetClosure(message.start, message.to, message.reason)
        elif isinstance(message, ClearClosureCommand):
            command = commands.ClearClosure(message.start)
        elif isinstance(message, EraseCommand):
            command = commands.Erase(message.reservation_id)
        else:
            command = commands.SetService(message.compartment, message.in_service, message.reason)
        if not self._service.server_command(message.request_id, command):
            log.info("command %s already executed: not run again", message.request_id)
