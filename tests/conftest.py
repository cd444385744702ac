from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from locker.domain.lockout import LockoutPolicy
from locker.domain.rules import Rules
from locker.domain.service import LockerService
from locker.runtime import Runtime, build, specs_of
from locker.secrets import Sealer
from locker.store.sqlite import SqliteStore, open_engine
from tests.helpers import FixedClock, settings_for


class RecordingDoors:
    """The door port as the domain sees it: records pulses, reports door levels it is told."""

    def __init__(self) -> None:
        self.unlocked: list[str] = []
        self.levels: dict[str, bool] = {}

    def unlock(self, compartment_id: str) -> None:
        self.unlocked.append(compartment_id)

    def is_open(self, compartment_id: str) -> bool:
        return self.levels.get(compartment_id, False)


class Harness:
    """A locker service on a real SQLite file, with a fixed clock and recording doors."""

    def __init__(self, tmp: Path, rules: Rules | None = None) -> None:
        self.tmp = tmp
        self.clock = FixedClock()
        self.doors = RecordingDoors()
        self.settings = settings_for(tmp)
        self.sealer = Sealer(b"test-key-0123456789abcdef", self.settings.locker_id)
        self.rules = rules or Rules(locker_id="demo", lockout=LockoutPolicy())
        self.engine = open_engine(tmp / "locker.db")
        self.service = self.reopen()

    def reopen(self, store: SqliteStore | None = None) -> LockerService:
        """A new service on the same database (as after a restart), on ``store`` if given."""
        self.store = store or SqliteStore(self.engine, self.sealer)
        self.service = LockerService(
            self.rules,
            specs_of(self.settings),
            self.store,
            self.sealer,
            self.clock,
            self.doors,
        )
        return self.service

    def cycle_door(self, cid: str) -> None:
        """A person opens the door, then shuts it."""
        self.service.door_changed(cid, True)
        self.service.door_changed(cid, False)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.engine.dispose()


FAST_DOORS = {"pulse_ms": 40, "debounce_ms": 20, "open_timeout_s": 30, "left_open_s": 300}
NO_MQTT = {"enabled": False}


@pytest.fixture
def app_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A started runtime without HTTP: MockFactory pins, SQLite file under tmp."""
    runtime = build(settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT), simulate=True)
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    """The real app on a real runtime: MockFactory pins, SQLite file under tmp."""
    runtime = build(settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT), simulate=True)
    with TestClient(create_app(runtime)) as client:
        yield client, runtime


ADMIN = {"Authorization": "Bearer demo-admin"}
COURIER = {"Authorization": "Bearer demo-courier"}
KIOSK = {"Authorization": "Bearer demo-kiosk"}
