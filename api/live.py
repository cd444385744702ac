"""Live updates for the kiosk screen, as server-sent events.

The hub listens to the service's commits (from whatever thread committed)
and hands each connected screen the door changes and door alarms, so the
page reacts to the reed switch without polling; other parts (the serial QR
scanner) publish their own events through it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator

from locker.domain.ports import Changes
from locker.domain.service import LockerService

ALARMS = {"door.jammed", "door.left_open", "door.forced_open"}
KEEPALIVE_S = 15.0
QUEUE_MAX = 256


class LiveHub:
    def __init__(self, service: LockerService) -> None:
        self._service = service
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()
        self._lock = threading.Lock()
        service.subscribe(self._on_commit)

    def _on_commit(self, changes: Changes) -> None:
        messages = [
            _sse("door", {"compartment": c.id, "open": c.door_open, "in_service": c.in_service})
            for c in changes.compartments.values()
        ]
        messages += [
            _sse("alarm", {"type": e.type, "compartment": e.compartment})
            for e in changes.events
            if e.type in ALARMS
        ]
        self._send(messages)

    def publish(self, event: str, data: object) -> None:
        """Hand every connected screen one event (from any thread)."""
        self._send([_sse(event, data)])

    def _send(self, messages: list[str]) -> None:
        if not messages:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            for message in messages:
                loop.call_soon_threadsafe(_offer, queue, message)

    async def stream(self) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_MAX)
        entry = (loop, queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            doors = {c.id: c.door_open for c in self._service.compartments_by_id().values()}
            yield _sse("hello", {"doors": doors})
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def _offer(queue: asyncio.Queue[str], message: str) -> None:
    if queue.full():  # a screen that stopped reading: drop its oldest news
        queue.get_nowait()
    queue.put_nowait(message)


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
