from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from locker.domain.lockout import LockoutPolicy
from locker.domain.rules import Rules
from locker.domain.service import LockerService
from locker.runtime import Runtime, build, specs_of
from locker.secrets import Sealer
from locker.store.sqlite import SqliteStore, open_engine
from tests.broker import Broker
from tests.helpers import FixedClock, settings_for
from tests.kioskkit import ARGS, CHROMIUM, Box
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess


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


# ---- the kiosk in Chromium (tests/kioskkit.py): the browser, the box, a page ----
# The kiosk test modules use the box through `pytestmark = usefixtures("no_lockout")`.


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    svc = ServiceProcess(tmp_path_factory.mktemp("kiosk")).start()
    yield Box(svc)
    svc.stop()


@pytest.fixture
def no_lockout(box: Box) -> None:
    """The box is shared: wrong codes of earlier tests must not lock this one out (five
    in five minutes do, whatever else the machine was doing meanwhile)."""
    for terminal in box.admin.get("/api/v1/lockouts").json():
        r = box.admin.delete(f"/api/v1/lockouts/{quote(terminal, safe='')}")
        assert r.status_code == 204, r.text


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 800, "height": 480}, locale="fr-FR")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], f"the page raised: {errors}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, stopped at the end."""
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def server(broker: Broker) -> Iterator[Server]:
    """The conciergerie server's side of the contract, on that broker."""
    s = Server(broker.port)
    yield s
    s.close()
