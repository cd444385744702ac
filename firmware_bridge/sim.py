"""A hand at the cabinet, for simulation: moves reed-switch mock pins, counts relay pulses."""

from __future__ import annotations

from collections.abc import Iterable

from gpiozero.pins.mock import MockFactory

from firmware_bridge.gpio import DoorTiming, DoorWiring


class CabinetHand:
    """What the hands of every simulated cabinet share; the door moves are their own."""

    def __init__(self, ids: Iterable[str]) -> None:
        self._ids = dict.fromkeys(ids)  # ordered, and quick to look up

    def knows(self, cid: str) -> bool:
        return cid in self._ids

    def close_all(self) -> None:
        for cid in self._ids:
            self.set_door(cid, is_open=False)

    def set_door(self, cid: str, is_open: bool) -> None:
        raise NotImplementedError

    def door_is_open(self, cid: str) -> bool:
        raise NotImplementedError

    def relay_pulses(self, cid: str) -> int:
        raise NotImplementedError

    def relay_active(self, cid: str) -> bool:
        raise NotImplementedError

    def details(self, cid: str) -> dict[str, object]:
        """More about one door, for ``GET /api/v1/sim/doors``."""
        return {}

    def doors(self) -> list[dict[str, object]]:
        return [
            {
                "id": cid,
                "open": self.door_is_open(cid),
                "relay_pulses": self.relay_pulses(cid),
                "relay_active": self.relay_active(cid),
                **self.details(cid),
            }
            for cid in self._ids
        ]

    def close(self) -> None:
        """Release what the simulation holds (nothing, unless a subclass says so)."""


class SimulatedCabinet(CabinetHand):
    def __init__(self, factory: MockFactory, wiring: list[DoorWiring], timing: DoorTiming) -> None:
        super().__init__(w.compartment for w in wiring)
        self._factory = factory
        self._wiring = {w.compartment: w for w in wiring}
        self._timing = timing

    def _reed(self, cid: str):  # type: ignore[no-untyped-def]
        return self._factory.pin(self._wiring[cid].reed_pin)

    def set_door(self, cid: str, is_open: bool) -> None:
        """Open or shut the door as a hand would, by moving its reed-switch pin."""
        # With the pull-up, a closed door pulls the pin low: active.
        level_closed_low = self._timing.closed_when_active
        pin = self._reed(cid)
        if is_open == level_closed_low:
            pin.drive_high()
        else:
            pin.drive_low()

    def door_is_open(self, cid: str) -> bool:
        state = bool(self._reed(cid).state)
        return state if self._timing.closed_when_active else not state

    def relay_pulses(self, cid: str) -> int:
        """How many times the relay pin went active, read from the mock pin's history."""
        active = self._timing.active_high
        states = self._factory.pin(self._wiring[cid].relay_pin).states
        count = 0
        previous = bool(states[0].state)
        for entry in states[1:]:
            level = bool(entry.state)
            if level == active and previous != active:
                count += 1
            previous = level
        return count

    def relay_active(self, cid: str) -> bool:
        return (
            bool(self._factory.pin(self._wiring[cid].relay_pin).state) == self._timing.active_high
        )
