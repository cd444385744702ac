"""Live updates for the kiosk screen, as server-sent events.

The hub listens to the service's commits (from whatever thread committed)
and hands each connected screen the door changes and door alarms, so the
page reacts to the reed switch without polling; other parts (the serial QR
scanner) publish their own events through it. The host site's state (open,
closed until when) changes with the time as much as with commits: the ticker
asks the hub to look at it every second (``check_site``), and the screens get a
``site`` event when it changed.
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
        self._site: dict[str, object] | None = None  # as last told
        service.subscribe(self._on_commit)

    def check_site(self) -> None:
        """Tell the screens when the site opened or closed (or the day turned)."""
        site = site_state(self._service)
        with self._lock:
            changed = site != self._site
            self._site = site
        if changed:
            self.publish("site", site)

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
            yield _sse("hello", {"doors": doors, "site": site_state(self._service)})
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def site_state(service: LockerService) -> dict[str, object]:
    """The host site as the kiosk shows it: open, until when it is closed (in the site's
    time) and the site's date today, so that the page says "demain" by the service's
    clock and zone, not the browser's."""
    is_open, until = service.site()
    today = service.clock_now().astimezone(service.rules.hours.tz).date()
    return {
        "open": is_open,
        "closed_until": None if until is None else until.isoformat(),
        "today": today.isoformat(),
    }


def _offer(queue: asyncio.Queue[str], message: str) -> None:
    if queue.full():  # a screen that stopped reading: drop its oldest news
        queue.get_nowait()
    queue.put_nowait(message)


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
