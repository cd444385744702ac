"""``create_app(runtime)``: the FastAPI application around one built runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from api import errors
from api.auth import STAFF, Sessions, TokenTable
from api.limits import BodyLimit
from api.live import LiveHub
from api.metrics import LockerMetrics, RequestTimer
from api.routes import (
    access,
    commissioning,
    compartments,
    kiosk,
    log,
    metrics,
    page,
    privacy,
    reservations,
    sim,
    speech,
    staff,
    temperatures,
)
from locker import __version__
from locker.runtime import Chore, Runtime
from locker.speech.voice import Voice

API_PREFIX = "/api/v1"
SITE_CHECK_S = 1.0


def create_app(runtime: Runtime, manage_runtime: bool = True) -> FastAPI:
    """Build the app. With ``manage_runtime`` the app starts and stops the runtime."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime and not runtime.started:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                runtime.stop()

    # NOTE: Swagger UI and ReDoc from the files fastapi-offline ships (served under
    # /static-offline-docs): a cabinet without internet still has its API documentation.
    app = FastAPIOffline(
        title="Locker controller",
        version=__version__,
        description="REST API of a conciergerie parcel locker: reservations, deposits, "
        "pickups, compartments and the event log. Send `Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.tokens = TokenTable(runtime.settings.api.tokens)
    pins = runtime.settings.kiosk
    app.state.courier_sessions = Sessions("courier", pins.courier_idle_s)
    app.state.staff_sessions = Sessions(STAFF, pins.staff_idle_s)
    app.state.live = hub = LiveHub(runtime.service)
    runtime.ticker.chores.append(Chore(SITE_CHECK_S, hub.check_site))  # the site opens, closes
    app.state.metrics = LockerMetrics(runtime)
    # the spoken phrases are kept beside the database (a few hundred small WAVs at most)
    app.state.voice = Voice(Path(runtime.settings.storage.path).resolve().parent / "speech")
    if runtime.scans is not None:  # a serial scanner's outcomes, for the kiosk screen
        runtime.scans.subscribe(lambda outcome: hub.publish("scan", outcome))
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (
        reservations,
        privacy,
        access,
        compartments,
        commissioning,
        log,
        kiosk,
        speech,
        staff,
        temperatures,
    ):
        api.include_router(module.router)
    if runtime.simulate:
        api.include_router(sim.router)
    app.include_router(api)
    app.include_router(page.router)
    app.include_router(metrics.router)
    app.mount("/kiosk", StaticFiles(directory=page.ASSETS), name="kiosk")

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Health, no token needed",
        responses={503: {"description": "not started, or the door hardware is unreachable"}},
    )
    def healthz(response: Response) -> dict[str, object]:
        """200 while the controller runs and its door hardware answers; 503 (the same
        body, ``ok`` false) otherwise: a Kerong board or its port silent, so the doors
        are not supervised. The Docker HEALTHCHECK fails on it."""
        service = runtime.service
        is_open, until = service.site()
        doors = runtime.doors.health()
        ok = runtime.started and doors.get("ok") is True
        if not ok:
            response.status_code = 503
        return {
            "ok": ok,
            "locker_id": runtime.settings.locker_id,
            "software": __version__,
            "simulate": runtime.simulate,
            "clock_trusted": service.clock_trusted(),
            "open": is_open,  # the host site's hours (config [hours], server closures)
            "closed_until": None if until is None else until.isoformat(),
            "free": service.free_counts(),
            "last_seq": service.last_seq(),
            "mqtt": runtime.health(),
            "doors": doors,
            **({"scanner": runtime.scanner.health()} if runtime.scanner is not None else {}),
        }

    app.add_middleware(BodyLimit, max_bytes=runtime.settings.api.max_body_bytes)
    app.add_middleware(RequestTimer, histogram=app.state.metrics.latency)  # outermost
    return app
