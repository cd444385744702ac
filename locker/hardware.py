"""The door hardware of a cabinet, chosen by ``doors.hardware``: one small factory each.

Each factory answers the doors the service drives and, in simulation, the
hand at the cabinet that the ``/api/v1/sim`` routes move.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from locker.config import Settings
from locker.domain.ports import DoorActuator

if TYPE_CHECKING:
    from firmware_bridge.lights import DoorLights


class Doors(DoorActuator, Protocol):
    def listen(self, listener: Callable[[str, bool], None]) -> None: ...

    def unknown(self) -> set[str]:
        """The doors never read since the start (a Kerong board silent so far)."""
        ...

    def health(self) -> dict[str, object]: ...

    def close(self) -> None: ...


class Hand(Protocol):
    """A hand at a simulated cabinet."""

    def knows(self, cid: str) -> bool: ...

    def close_all(self) -> None: ...

    def set_door(self, cid: str, is_open: bool) -> None: ...

    def door_is_open(self, cid: str) -> bool: ...

    def relay_pulses(self, cid: str) -> int: ...

    def relay_active(self, cid: str) -> bool: ...

    def doors(self) -> list[dict[str, object]]: ...

    def close(self) -> None: ...


def gpio_doors(settings: Settings, simulate: bool) -> tuple[Doors, Hand | None]:
    """Relays and reed switches on the Pi's pins, or on gpiozero's MockFactory."""
    from firmware_bridge.gpio import DoorTiming, DoorWiring, GpioDoors
    from firmware_bridge.sim import SimulatedCabinet

    if simulate:
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
    else:
        from firmware_bridge.pin_factory import real_pin_factory

        factory = real_pin_factory(Path(settings.storage.path).resolve().parent)
    wiring = [
        DoorWiring(c.id, c.relay_pin, c.reed_pin)
        for c in settings.compartments
        if c.relay_pin is not None and c.reed_pin is not None
    ]
    d = settings.doors
    timing = DoorTiming(
        pulse_s=d.pulse_ms / 1000,
        debounce_s=d.debounce_ms / 1000,
        active_high=d.active_high,
        closed_when_active=d.reed_closed_when_active,
        max_concurrent_pulses=d.max_concurrent_pulses,
    )
    doors = GpioDoors(wiring, timing, factory)
    if not simulate:
        return doors, None
    hand = SimulatedCabinet(factory, wiring, timing)
    hand.close_all()
    return doors, hand


def kerong_doors(settings: Settings, simulate: bool) -> tuple[Doors, Hand | None]:
    """Kerong KR-CU16 boards on RS-485; in simulation, simulated boards on a pseudo-terminal."""
    from firmware_bridge.kerong import KerongDoors, KerongLock
    from firmware_bridge.kerong_bus import BusTiming

    k = settings.kerong
    locks = [KerongLock(cid, board, lock) for cid, (board, lock) in settings.kerong_locks().items()]
    timing = BusTiming(
        poll_interval_s=k.poll_interval_ms / 1000,
        timeout_s=k.timeout_ms / 1000,
        retries=k.retries,
    )
    if not simulate:
        return KerongDoors(locks, k.port, k.baudrate, timing), None
    from firmware_bridge.kerong_sim import KerongCabinet, KerongSimulator

    hand = KerongCabinet(KerongSimulator({lk.board for lk in locks}), locks)
    return KerongDoors(locks, hand.sim.port, k.baudrate, timing), hand


FACTORIES: dict[str, Callable[[Settings, bool], tuple[Doors, Hand | None]]] = {
    "gpio": gpio_doors,
    "kerong": kerong_doors,
}


def build_doors(settings: Settings, simulate: bool) -> tuple[Doors, Hand | None]:
    return FACTORIES[settings.doors.hardware](settings, simulate)


def build_lights(settings: Settings, simulate: bool, doors: Doors) -> DoorLights | None:
    """The door lights (``led_pin``), on the doors' own pin factory where they have one
    (GPIO doors), or on one of their own (a Kerong cabinet leaves the Pi's pins free)."""
    pins = {c.id: c.led_pin for c in settings.compartments if c.led_pin is not None}
    if not pins:
        return None
    from firmware_bridge.lights import DoorLights

    factory = getattr(doors, "pin_factory", None)
    if factory is None and simulate:
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
    elif factory is None:
        from firmware_bridge.pin_factory import real_pin_factory

        factory = real_pin_factory(Path(settings.storage.path).resolve().parent)
    return DoorLights(pins, factory)
