"""Serve the app with uvicorn and keep systemd told: READY=1, STATUS=, STOPPING=1.

The app's lifespan starts the runtime (doors read, ticker and MQTT started)
before uvicorn binds its socket; READY=1 is sent after both, when requests
can be answered. The server's own loop beats the watchdog, so a stuck event
loop stops the pings as a stuck controller does.
"""

from __future__ import annotations

import gc
import socket

import uvicorn
from fastapi import FastAPI

from locker.systemd import Notifier, Watchdog


class NotifyingServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        notifier: Notifier,
        watchdog: Watchdog | None,
        ready_status: str,
    ) -> None:
        super().__init__(config)
        self._notifier = notifier
        self._watchdog = watchdog
        self._ready_status = ready_status

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What start-up made (modules, the app, the mirror) lives as long as the process:
        # out of the collector's reach, its full passes stay short (latency tails).
        gc.freeze()
        if self.started and not self.should_exit:
            if self._watchdog is not None:
                self._watchdog.beat("http")
            self._notifier.send("READY=1", f"STATUS={self._ready_status}")

    async def on_tick(self, counter: int) -> bool:
        if self._watchdog is not None:
            self._watchdog.beat("http")
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._notifier.send("STOPPING=1", "STATUS=stopping")
        await super().shutdown(sockets)


def serve(
    app: FastAPI,
    host: str,
    port: int,
    log_level: str,
    notifier: Notifier,
    watchdog: Watchdog | None,
    ready_status: str,
) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # our handler (locker.logs) formats and redacts uvicorn's records too
        log_config=None,
        log_level=log_level.lower(),
        # NOTE: proxy_headers off: X-Forwarded-For from a client must not pick its own
        # terminal identity (the lockout is per client address). No access log: it
        # would record who asked for what, and the kiosk's requests carry codes.
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # the kiosk's live stream never ends by itself: do not wait for it at shutdown
        timeout_graceful_shutdown=3,
    )
    NotifyingServer(config, notifier, watchdog, ready_status).run()
