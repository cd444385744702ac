"""Prometheus metrics, in a registry of the app's own (never the process-wide default).

Counters follow the service's committed events (and its refusals), so they count
what happened, whichever entry point asked: REST, MQTT, a door switch, the
ticker. Gauges are read when Prometheus scrapes. Request latency is labelled by
route template (``/api/v1/reservations/{reservation_id}``), never by the raw
path, so no reservation id or code ends up in a label. Counters start again at
0 when the service restarts, as Prometheus expects of counters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locker.domain.model import Purpose
from locker.domain.ports import Changes
from locker.runtime import Runtime

PURPOSES = {p.value for p in Purpose}
ALARMS = {"door.jammed": "jammed", "door.left_open": "left_open", "door.forced_open": "forced_open"}
REFUSALS = (
    "unknown",
    "used",
    "expired",
    "cancelled",
    "pin",
    "invalid",
    "locked_out",
    "unavailable",
    "held",
    "cold_pending",
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LockerMetrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.openings = Counter(
            "locker_door_openings", "Doors unlocked, by purpose", ["purpose"], registry=reg
        )
        self.deposits = Counter("locker_deposits", "Items deposited (door shut)", registry=reg)
        self.pickups = Counter("locker_pickups", "Items collected (door shut)", registry=reg)
        self.refusals = Counter(
            "locker_refusals",
            "Attempts to open a door with a code or PIN that were refused, by reason",
            ["reason"],
            registry=reg,
        )
        self.lockouts = Counter(
            "locker_lockouts", "Terminals locked out after wrong codes", registry=reg
        )
        self.alarms = Counter(
            "locker_door_alarms",
            "Door alarms: jammed, left_open, forced_open",
            ["kind"],
            registry=reg,
        )
        self.latency = Histogram(
            "locker_http_request_duration_seconds",
            "Time to the response's headers, by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        for purpose in PURPOSES:  # every series exists from the start, at 0
            self.openings.labels(purpose)
        for reason in REFUSALS:
            self.refusals.labels(reason)
        for kind in ALARMS.values():
            self.alarms.labels(kind)
        reg.register(_StateCollector(runtime))
        runtime.service.subscribe(self._on_commit)
        runtime.service.subscribe_refusals(lambda reason: self.refusals.labels(reason).inc())

    def _on_commit(self, changes: Changes) -> None:
        for event in changes.events:
            if event.type == "door.opened":
                purpose = str(event.data.get("reason"))
                self.openings.labels(purpose if purpose in PURPOSES else "other").inc()
            elif event.type == "parcel.deposited":
                self.deposits.inc()
            elif event.type == "parcel.collected":
                self.pickups.inc()
            elif event.type == "code.lockout":
                self.lockouts.inc()
            elif event.type in ALARMS:
                self.alarms.labels(ALARMS[event.type]).inc()


class _StateCollector(Collector):
    """Gauges read from the runtime at each scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        health = self._runtime.health()
        comps = self._runtime.service.compartments_by_id().values()
        yield _gauge("locker_outbox_backlog", "Events not yet acknowledged", health["backlog"])
        yield _gauge(
            "locker_broker_connected",
            "1 while the MQTT broker is connected",
            health.get("connected"),
        )
        yield _gauge("locker_doors_open", "Doors open now", sum(c.door_open for c in comps))
        yield _gauge(
            "locker_compartments_out_of_service",
            "Compartments out of service (or failed at commissioning: not booked)",
            sum(not c.bookable for c in comps),
        )
        yield _gauge("locker_compartments", "Compartments configured", len(comps))
        yield _gauge(
            "locker_door_hardware_ok",
            "1 while the door hardware answers (every Kerong board, its port)",
            self._runtime.doors.health().get("ok"),
        )
        yield from self._zones()
        if self._runtime.scanner is not None:
            yield _gauge(
                "locker_scanner_connected",
                "1 while the serial QR scanner's port is open",
                self._runtime.scanner.health().get("connected"),
            )

    def _zones(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Per chilled zone: its temperature (absent while the probe is faulty), whether it
        is in alarm, and the minutes it has spent in alarm (kept across restarts)."""
        zones = self._runtime.service.zones()
        if not zones:
            return
        celsius = GaugeMetricFamily(
            "locker_zone_celsius", "Temperature of each chilled zone", labels=["zone"]
        )
        alarm = GaugeMetricFamily(
            "locker_zone_alarm", "1 while the zone is in temperature alarm", labels=["zone"]
        )
        fault = GaugeMetricFamily(
            "locker_zone_sensor_fault", "1 while the zone's probe is faulty", labels=["zone"]
        )
        minutes = CounterMetricFamily(
            "locker_zone_alarm_minutes", "Minutes each zone has spent in alarm", labels=["zone"]
        )
        for zone, state, _ in zones:
            if state is not None and state.current() is not None:
                celsius.add_metric([zone], float(state.current() or 0.0))
            alarm.add_metric([zone], float(state is not None and state.alarm_since is not None))
            fault.add_metric([zone], float(state is not None and state.fault is not None))
            minutes.add_metric([zone], 0.0 if state is None else state.alarm_minutes)
        yield from (celsius, alarm, fault, minutes)


def _gauge(name: str, documentation: str, value: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value or 0))


class RequestTimer:
    """ASGI middleware: observes each HTTP request under its route template."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self._observe(scope, status, time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            self._observe(scope, status, time.perf_counter() - start)
            raise

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        template = route_template(scope)
        method = scope["method"] if scope["method"] in METHODS else "other"
        self.histogram.labels(method, template, f"{status // 100}xx").observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's template with the routers' prefixes, e.g.
    ``/api/v1/reservations/{reservation_id}``; ``unmatched`` when no route matched.

    The route's own template matches the end of the path (FastAPI may keep an
    included router's prefix out of it); what comes before is that literal prefix.
    """
    route: BaseRoute | None = scope.get("route")
    template, regex = getattr(route, "path", None), getattr(route, "path_regex", None)
    if not isinstance(template, str) or regex is None:
        return "unmatched"
    path = str(scope.get("path", ""))
    for i, char in enumerate(path):
        if char == "/" and regex.fullmatch(path[i:]):
            return path[:i] + template
    return template
