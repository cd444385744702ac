"""pickup -> relay, in process: from a valid ``POST /api/v1/pickups`` entering the app
to the relay's mock pin going active (the pin's own timestamps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from gpiozero.pins.mock import MockPin

from api.app import create_app
from firmware_bridge.gpio import GpioDoors
from locker.runtime import Runtime, build
from tests.bench.layout import settings, write_layout
from tests.bench.seed import deposit

KIOSK = {"Authorization": "Bearer demo-kiosk"}
RELAY_REST_S = 0.12  # pulse (20 ms) + the rest between two pulses of a relay (50 ms)


def _activations(pin: MockPin, active_high: bool) -> list[float]:
    """Monotonic times at which ``pin`` went active, rebuilt from its state history
    (gpiozero keeps each change as the time since the change before)."""
    states = pin.states
    times = [0.0] * len(states)
    times[-1] = pin._last_change
    for i in range(len(states) - 1, 0, -1):
        times[i - 1] = times[i] - states[i].timestamp
    return [
        times[i]
        for i in range(1, len(states))
        if bool(states[i].state) == active_high and bool(states[i - 1].state) != active_high
    ]


class _Timed:
    """The app, with the time each pickup request enters it."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.entered: list[float] = []

    async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] == "http" and str(scope["path"]).endswith("/pickups"):
            self.entered.append(time.monotonic())
        await self.app(scope, receive, send)  # type: ignore[operator]


async def timed_pickups(
    runtime: Runtime, count: int, speech: bool = False, until: Callable[[], bool] | None = None
) -> list[float]:
    """``count`` pickup -> relay latencies (ms) on the started ``runtime``'s wired doors;
    fewer when ``until`` answers true between two rounds."""
    assert runtime.sim is not None
    wired = runtime.sim
    app = create_app(runtime, manage_runtime=False)
    timed = _Timed(app)
    transport = httpx.ASGITransport(app=timed)  # type: ignore[arg-type]
    doors = runtime.doors
    assert isinstance(doors, GpioDoors)
    relays = doors._relays  # the mock pins, to read their history
    active_high = runtime.settings.doors.active_high
    samples: list[float] = []
    spoken: list[asyncio.Task[httpx.Response]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        while len(samples) < count and not (until and until()):
            # a parcel in each wired compartment; its deposit pulse ends before the pickup
            # (a relay pulses one unlock at a time, and a resident never comes that fast)
            round_ = [
                await asyncio.to_thread(deposit, runtime, f"T-{len(samples)}-{n}")
                for n in range(sum(cid.startswith("W") for cid in doors.wiring))
            ]
            await asyncio.sleep(RELAY_REST_S)
            for cid, code in round_:
                pin = relays[doors.wiring[cid].relay_pin].pin
                reply = await client.post("/api/v1/pickups", json={"code": code}, headers=KIOSK)
                assert reply.status_code == 200, reply.text
                samples.append(await _relay_delay(pin, active_high, timed.entered[-1]))
                if speech:  # as the page in audio mode: the door's phrase, never cached
                    voice = app.state.voice
                    voice.cache_dir = voice.cache_dir.parent / f"speech-{len(samples)}"
                    url = f"/api/v1/kiosk/speech.wav?phrase=door_pickup&door={cid}"
                    spoken.append(asyncio.create_task(client.get(url, headers=KIOSK)))
            for task in spoken:
                done = await task
                assert done.status_code == 200, done.text
                assert "x-synthesis-ms" in done.headers  # made anew, not from the cache
            spoken.clear()
            for cid, _ in round_:  # the resident takes the parcel: the door opens and shuts
                for is_open in (True, False):
                    wired.set_door(cid, is_open)
                    await _wait(lambda c=cid, o=is_open: _door(runtime, c) is o)
    return samples[:count]


def _door(runtime: Runtime, cid: str) -> bool:
    return runtime.service.compartments_by_id()[cid].door_open


async def _relay_delay(pin: MockPin, active_high: bool, entered: float) -> float:
    deadline = time.monotonic() + 10
    while True:
        later = [t for t in _activations(pin, active_high) if t >= entered]
        if later:
            return (later[0] - entered) * 1000
        assert time.monotonic() < deadline, "relay never went active"
        await asyncio.sleep(0.001)


async def _wait(predicate: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "door change not seen"
        await asyncio.sleep(0.001)


def pickup_to_relay(
    workdir: Path, count: int, probes: int = 0, speech: bool = False
) -> list[float]:
    """``count`` pickups, one at a time, on the six wired compartments: latencies in ms;
    with ``probes`` chilled zones read meanwhile (w1thermsensor on the simulated tree);
    with ``speech``, each pickup followed by its spoken phrase, synthesised anew, while
    the next pickups go on."""
    layout = write_layout(workdir, generated=0, probes=probes)
    runtime = build(settings(workdir, layout), simulate=True)
    runtime.start()
    try:
        return asyncio.run(timed_pickups(runtime, count, speech))
    finally:
        runtime.stop()
