"""The kiosk's voice: a phrase's first request (espeak-ng synthesises it) and the same
phrase again (from the cache), through ``GET /api/v1/kiosk/speech.wav`` in process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from api.app import create_app
from locker.runtime import build
from tests.helpers import settings_for

KIOSK = {"Authorization": "Bearer demo-kiosk"}


async def _measure(app: object, count: int) -> tuple[list[float], list[float]]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    first: list[float] = []
    cached: list[float] = []
    doors = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "C3", "C4"]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for n in range(count):  # a phrase of about 120 characters: a door and its place
            lang = "fr" if n % 2 == 0 else "en"
            url = (
                f"/api/v1/kiosk/speech.wav?phrase=door_pickup&lang={lang}&door={doors[n // 2 % 12]}"
            )
            for into in (first, cached):
                started = time.perf_counter()
                reply = await client.get(url, headers=KIOSK)
                into.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200, reply.text
    return first, cached


def first_and_cached(workdir: Path, count: int) -> tuple[list[float], list[float]]:
    """``count`` different phrases (doors of the demo layout, French and English): the
    milliseconds of each first request, and of the same request again."""
    workdir.mkdir(parents=True, exist_ok=True)
    runtime = build(settings_for(workdir, mqtt={"enabled": False}), simulate=True)
    runtime.start()
    try:
        return asyncio.run(_measure(create_app(runtime, manage_runtime=False), count))
    finally:
        runtime.stop()
