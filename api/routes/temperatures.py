"""The chilled zones' readings: JSON, CSV for the inspector, and an SVG chart."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel

from api.auth import Reader
from api.chart import chart_svg
from api.deps import RuntimeDep
from locker.domain.errors import Invalid, NotFound
from locker.runtime import Runtime
from locker.store.temperatures import Row, TemperatureLog

router = APIRouter(tags=["temperatures"])
MAX_SPAN = timedelta(days=400)
MAX_ROWS = 50_000  # one zone: about a week of samples, or a year of 5-minute slots past it
_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7)}
_OUT_OF_RANGE = "from and to must be times between the years 2 and 9998"


class ReadingOut(BaseModel):
    zone: str
    at: datetime
    celsius: float | None
    fault: str | None
    min_c: float | None = None
    max_c: float | None = None
    samples: int = 1


class ZoneOut(BaseModel):
    zone: str
    compartments: list[str]
    limit_c: float
    celsius: float | None
    fault: str | None
    read_at: datetime | None
    alarm_since: datetime | None
    healthy: bool
    problem: str | None


class TemperaturesOut(BaseModel):
    zones: list[ZoneOut]
    readings: list[ReadingOut]


def _span(
    runtime: Runtime, zone: str | None, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    if zone is not None and runtime.service.rules.zone(zone) is None:
        raise NotFound(f"no chilled zone {zone!r}")
    try:
        end = end or runtime.service.clock_now() + timedelta(seconds=1)
        start = start or end - timedelta(days=1)
        start.astimezone(UTC), end.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise Invalid(_OUT_OF_RANGE) from exc
    if start >= end:
        raise Invalid("from must be before to")
    if end - start > MAX_SPAN:
        raise Invalid(f"at most {MAX_SPAN.days} days at a time")
    return start, end


def _rows(runtime: Runtime, zone: str | None, start: datetime, end: datetime) -> list[Row]:
    rows = TemperatureLog(runtime.engine).readings(zone, start, end, MAX_ROWS + 1)
    if len(rows) > MAX_ROWS:
        raise Invalid(
            f"more than {MAX_ROWS:,} readings in that period: ask for a shorter one, "
            "or for the CSV (/temperatures.csv has no limit)"
        )
    return rows


Since = Annotated[AwareDatetime | None, Query(alias="from", description="default: to - 24 h")]
Until = Annotated[AwareDatetime | None, Query(alias="to", description="default: now")]


@router.get("/temperatures", response_model=TemperaturesOut, summary="Readings of the zones")
def temperatures(
    _who: Reader,
    runtime: RuntimeDep,
    zone: str | None = None,
    start: Since = None,
    end: Until = None,
) -> TemperaturesOut:
    """Every zone's current state, and its readings from ``from`` to ``to`` (past a week,
    one row per 5 minutes with its min and max)."""
    start, end = _span(runtime, zone, start, end)
    service = runtime.service
    zones = []
    for zid, state, problem in service.zones():
        spec = service.rules.zone(zid)
        assert spec is not None
        if zone is not None and zid != zone:
            continue
        zones.append(
            ZoneOut(
                zone=zid,
                compartments=list(spec.compartments),
                limit_c=spec.limit_c,
                celsius=None if state is None else state.current(),
                fault=None if state is None else state.fault,
                read_at=None if state is None else state.read_at,
                alarm_since=None if state is None else state.alarm_since,
                healthy=problem is None,
                problem=problem,
            )
        )
    rows = _rows(runtime, zone, start, end)
    return TemperaturesOut(
        zones=zones,
        readings=[ReadingOut(**{k: getattr(r, k) for k in ReadingOut.model_fields}) for r in rows],
    )


@router.get("/temperatures.csv", response_class=StreamingResponse, summary="Readings, CSV")
def temperatures_csv(
    _who: Reader,
    runtime: RuntimeDep,
    zone: str | None = None,
    start: Since = None,
    end: Until = None,
) -> Response:
    start, end = _span(runtime, zone, start, end)
    pages = TemperatureLog(runtime.engine).pages(zone, start, end)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["zone", "time_utc", "celsius", "fault", "min_c", "max_c", "samples"])
        for page in pages:
            for r in page:
                writer.writerow(
                    [r.zone, r.at.astimezone(UTC).isoformat(), _num(r.celsius), r.fault or "",
                     _num(r.min_c), _num(r.max_c), r.samples]
                )  # fmt: skip
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    name = f"temperatures-{zone or 'all'}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


@router.get("/temperatures/{zone}/chart.svg", response_class=Response, summary="Chart, SVG")
def chart(
    zone: str,
    _who: Reader,
    runtime: RuntimeDep,
    span: Literal["day", "week"] = "day",
    end: Until = None,
) -> Response:
    """The zone over the last day or week, with its limit drawn on it; gaps (faults, the
    locker down) are left blank and marked."""
    spec = runtime.service.rules.zone(zone)
    if spec is None:
        raise NotFound(f"no chilled zone {zone!r}")
    try:
        end = end or runtime.service.clock_now() + timedelta(seconds=1)
        start = end - _LENGTH[span]
        start.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise Invalid(_OUT_OF_RANGE) from exc
    rows = _rows(runtime, zone, start, end)
    body = chart_svg(spec.id, spec.limit_c, spec.critical_c, start, end, rows)
    return Response(body, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
