"""The wiring: settings -> store, key, doors, service, background ticker. Built once at start."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from locker.clock import SIM_CLOCK_ENV, SimulatedClock, SystemClock, sim_clock_from_env
from locker.config import Settings
from locker.domain.model import CompartmentSpec
from locker.domain.ports import Changes, Clock
from locker.domain.rules import Rules
from locker.domain.service import LockerService
from locker.hardware import Doors, Hand, build_doors, build_lights
from locker.privacy.retention import Retention
from locker.secrets import Sealer, load_master_key
from locker.store.sqlite import SqliteStore, open_engine
from locker.store.temperatures import TemperatureLog
from locker.systemd import Watchdog

if TYPE_CHECKING:
    from firmware_bridge.lights import DoorLights
    from firmware_bridge.scanner import SerialScanner
    from firmware_bridge.w1_sim import SimulatedProbes
    from locker.coldchain.sampler import Sampler
    from locker.scans import ScanDesk
    from locker.sync.mqtt import MqttSync

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0
UNKNOWN_DOORS_EVERY_S = 1.0  # doors of a board silent at start: read yet?
COMPACT_EVERY_S = 600.0  # readings older than a week merged, a small batch at a time


class Chore:
    """Housekeeping the ticker runs every ``every_s`` (the first time at once)."""

    def __init__(self, every_s: float, work: Callable[[], object]) -> None:
        self.every_s = every_s
        self._work = work
        self._last: float | None = None

    def run_if_due(self) -> None:
        now = time.monotonic()
        if self._last is None or now - self._last >= self.every_s:
            self._last = now
            self._work()


class Ticker:
    """Calls ``service.tick()`` every ``interval_s`` on its own thread; never dies of an error.

    This is the controller's main loop: with a systemd ``watchdog`` it pings it (at
    half its period) only after a tick completed and the service lock and the store
    answered and no database write had hung, so a hung or deadlocked controller stops
    the pings and is restarted."""

    def __init__(
        self,
        service: LockerService,
        interval_s: float,
        watchdog: Watchdog | None = None,
    ) -> None:
        self._service = service
        self._interval = interval_s
        self.watchdog = watchdog
        self.status: Callable[[], str] | None = None  # the STATUS= line sent with each ping
        # copies the write-ahead log into the database, off the requests' path
        self.checkpoint: Callable[[], None] | None = None
        self._last_checkpoint = 0.0
        self.chores: list[Chore] = []  # housekeeping at longer intervals
        self._stuck = False  # a database write outlasts half the watchdog period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="locker-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                # NOTE: the watchdog first: a tick waits on a hung write and would never
                # get to say so (no ping follows either way).
                self._keep_alive()
                self._service.tick()
                self._checkpoint()
                for chore in self.chores:
                    chore.run_if_due()
            except Exception:
                log.exception("periodic check failed; will retry")

    def _checkpoint(self) -> None:
        now = time.monotonic()
        if self.checkpoint is not None and now - self._last_checkpoint >= CHECKPOINT_EVERY_S:
            self._last_checkpoint = now
            self.checkpoint()

    def _keep_alive(self) -> None:
        dog = self.watchdog
        if dog is None or not dog.due():
            return
        write_s = self._service.probe()
        stuck = write_s > dog.interval_s  # a hung disk: a commit that does not come back
        if stuck and not self._stuck:
            log.error("a database write has lasted %.0f s (disk hung?): watchdog not fed", write_s)
        self._stuck = stuck
        if not stuck:
            dog.beat("controller")
        dog.ping_if_alive(self.status() if self.status is not None else None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


@dataclass
class Runtime:
    settings: Settings
    simulate: bool
    service: LockerService
    engine: Engine
    doors: Doors
    sim: Hand | None
    ticker: Ticker
    store: SqliteStore
    mqtt: MqttSync | None = None
    scans: ScanDesk | None = None
    scanner: SerialScanner | None = None
    sampler: Sampler | None = None
    probes: SimulatedProbes | None = None
    lights: DoorLights | None = None
    started: bool = field(default=False)
    _lights_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _unknown: set[str] = field(default_factory=set, repr=False)  # doors not read yet

    def start(self) -> None:
        if self.lights is not None:
            self.service.subscribe(self._light_doors)
        self.doors.listen(self.service.door_changed)
        self._unknown = self.doors.unknown()  # after listen: a later first reading waits
        if self._unknown:
            log.critical(
                "ALARM doors %s cannot be read (their board does not answer): out of "
                "service until it does",
                ", ".join(sorted(self._unknown)),
            )
        self.service.reconcile_doors(self._unknown)
        if self.lights is not None:  # a door left open across a restart lights up again
            self._light_doors()
        self.ticker.start()
        if self.sampler is not None:
            self.sampler.start()
        if self.mqtt is not None:
            self.mqtt.start()
        if self.scanner is not None:
            self.scanner.start()
        self.started = True

    def read_unknown_doors(self) -> None:
        """The doors unknown at start that have been read since (their board answered):
        reconciled, and back in service where they were out only for that."""
        if not self._unknown:
            return
        still = self.doors.unknown()
        read = self._unknown - still
        if read:
            self.service.doors_answered(sorted(read))  # raises: tried again next time
            log.warning("doors %s read at last: reconciled", ", ".join(sorted(read)))
            self._unknown &= still

    def _light_doors(self, changes: Changes | None = None) -> None:
        """A door's light blinks from its unlock until its door cycle is over. The lights
        follow the service's state as it is now, not the change itself: commits reach
        their listeners from several threads, and an old one may come in last."""
        lights = self.lights
        assert lights is not None
        if changes is not None and not changes.openings:
            return
        with self._lights_lock:
            try:
                unlocked = self.service.unlocked()
                for cid in changes.openings if changes is not None else lights.wired_ids():
                    lights.show(cid, cid in unlocked)
            except Exception:  # a light never fails a pickup
                log.exception("the door lights could not be set")

    def health(self) -> dict[str, object]:
        mqtt: dict[str, object] = {"enabled": False}
        if self.mqtt is not None:
            mqtt = self.mqtt.health()
        mqtt["backlog"] = self.store.backlog()
        return mqtt

    def status_line(self) -> str:
        """One line for ``systemctl status``: the outbox and the broker."""
        health = self.health()
        broker = (
            "off"
            if not health["enabled"]
            else ("connected" if health.get("connected") else "disconnected")
        )
        return f"serving; broker {broker}; {health['backlog']} event(s) to send"

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.probes is not None:
            self.probes.close()
        if self.scanner is not None:
            self.scanner.close()
        if self.mqtt is not None:
            self.mqtt.stop()
        self.ticker.stop()
        self.doors.close()
        if self.lights is not None:
            self.lights.close()
        if self.sim is not None:
            self.sim.close()
        self.engine.dispose()
        self.started = False


RETENTION_EVERY_S = 60.0  # the retention sweep (locker.privacy.retention), in small batches


def specs_of(settings: Settings) -> list[CompartmentSpec]:
    return [
        CompartmentSpec(
            id=c.id,
            size=c.size,
            chilled=c.chilled,
            accessible=c.accessible,
            column=c.column,
            row=c.row,
        )
        for c in settings.compartments
    ]


def rules_of(settings: Settings) -> Rules:
    return Rules(
        locker_id=settings.locker_id,
        lockout=settings.lockout.policy(),
        open_timeout_s=settings.doors.open_timeout_s,
        max_pulses=settings.doors.max_pulses,
        left_open_s=settings.doors.left_open_s,
        zones=tuple(zone.spec() for zone in settings.zones),
        cold=settings.cold_chain.rules(),
        hours=settings.hours.hours(),
        time=settings.hours.time_rules(),
    )


def build(
    settings: Settings,
    simulate: bool,
    clock: Clock | None = None,
    watchdog: Watchdog | None = None,
    environ: Mapping[str, str] | None = None,
) -> Runtime:
    """Build every part from ``settings``. ``simulate`` puts the doors on simulated
    hardware (gpiozero's MockFactory, or Kerong boards on a pseudo-terminal);
    ``watchdog`` is systemd's, pinged from the ticker. Without ``clock``, the system's,
    or in simulation the one ``LOCKER_SIM_CLOCK`` in ``environ`` (the process's
    environment) asks for; that variable outside simulation is refused
    (:class:`~locker.clock.SimClockError`)."""
    simulated = None
    if clock is None:  # before anything is opened: a refusal leaves nothing behind
        simulated = sim_clock_from_env(os.environ if environ is None else environ, simulate)
        clock = simulated or SystemClock("always" if simulate else settings.clock.trust)
    # The doors first: a cabinet without usable pins is refused before any file is made.
    doors, sim = build_doors(settings, simulate)
    try:
        key = load_master_key(
            settings.security.secret_key, settings.security.key_file, create=simulate
        )
        sealer = Sealer(key, settings.locker_id)
        engine = open_engine(Path(settings.storage.path))
    except BaseException:
        doors.close()
        raise
    store = SqliteStore(engine, sealer)
    from locker.sync.messages import check_event

    locker_id = settings.locker_id
    service = LockerService(
        rules_of(settings),
        specs_of(settings),
        store,
        sealer,
        clock,
        doors,
        check_event=lambda event: check_event(event.to_contract(locker_id, reveal=True)),
    )
    mqtt = None
    if simulated is not None:
        _say_simulated(simulated, service)
    if settings.mqtt.enabled:
        from locker.sync.mqtt import MqttSync

        mqtt = MqttSync(settings.mqtt, settings.locker_id, service, store)
    scans, scanner = build_scanner(settings, service)
    runtime = Runtime(
        settings=settings,
        simulate=simulate,
        service=service,
        engine=engine,
        doors=doors,
        sim=sim,
        ticker=Ticker(service, settings.tick_s, watchdog),
        store=store,
        mqtt=mqtt,
        scans=scans,
        scanner=scanner,
    )
    runtime.ticker.status = runtime.status_line
    runtime.lights = build_lights(settings, simulate, doors)
    runtime.ticker.checkpoint = store.checkpoint
    runtime.sampler, runtime.probes = build_sampler(settings, service, simulate)
    readings = TemperatureLog(engine)

    def thin_readings() -> None:
        if service.clock_trusted():  # a clock far ahead would take real readings for old
            readings.compact(service.clock_now(), keep_days=settings.privacy.temperature_days)

    runtime.ticker.chores.append(Chore(COMPACT_EVERY_S, thin_readings))
    retention = Retention(settings.privacy, service, store)
    runtime.ticker.chores.append(Chore(RETENTION_EVERY_S, retention.sweep))
    runtime.ticker.chores.append(Chore(UNKNOWN_DOORS_EVERY_S, runtime.read_unknown_doors))
    return runtime


def _say_simulated(clock: SimulatedClock, service: LockerService) -> None:
    log.warning(
        "simulated clock (%s): starts at %s and runs at the real rate, trusted",
        SIM_CLOCK_ENV,
        clock.start.isoformat(),
    )
    if not service.clock_trusted():  # behind the high-water mark of this database
        log.warning(
            "the simulated clock is behind a time this database has already seen: it counts "
            "as untrusted (no expiry, the site open); start it later or on a fresh database"
        )


def build_sampler(
    settings: Settings, service: LockerService, simulate: bool
) -> tuple[Sampler | None, SimulatedProbes | None]:
    """The probes of the chilled zones, read every ``cold_chain.sample_s``: the kernel's
    1-Wire devices, or in simulation a fake sysfs tree of the same files."""
    if not settings.zones:
        return None, None
    from firmware_bridge.w1 import ProbeBus
    from locker.coldchain.sampler import Sampler

    devices = {zone.id: zone.device for zone in settings.zones}
    probes = None
    root = settings.cold_chain.w1_devices
    if simulate:
        from firmware_bridge.w1_sim import SimulatedProbes

        # NOTE: beside the database, so a run killed without stopping leaves nothing in /tmp
        probes = SimulatedProbes(devices, Path(settings.storage.path).parent / "sim-w1")
        root = probes.root
    elif not Path(root).is_dir():  # the zones report "missing": chilled items go nowhere
        log.error(
            "no 1-Wire devices at %s: dtoverlay=w1-gpio,gpiopin=%d in /boot/firmware/config.txt?",
            root,
            settings.cold_chain.w1_pin,
        )
    cold = settings.cold_chain
    sampler = Sampler(
        service,
        devices,
        ProbeBus(root).read,
        cold.sample_s,
        cold.read_timeout_s,
        before_read=None if probes is None else probes.refresh,
    )
    return sampler, probes


def build_scanner(
    settings: Settings, service: LockerService
) -> tuple[ScanDesk | None, SerialScanner | None]:
    """A serial QR scanner feeding the pickup flow, when ``[scanner]`` is enabled."""
    s = settings.scanner
    if not s.enabled:
        return None, None
    from firmware_bridge.scanner import SerialScanner
    from locker.scans import ScanDesk

    desk = ScanDesk(service, s.port, settings.kiosk.group_pickup)
    return desk, SerialScanner(s.port, s.baudrate, desk.scan, s.max_line)
