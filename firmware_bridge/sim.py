"""A hand at the cabinet, for simulation: moves reed-switch mock pins, counts relay pulses."""

from __future__ import annotations

from gpiozero.pins.mock import MockFactory

from firmware_bridge.gpio import DoorTiming, DoorWiring


class SimulatedCabinet:
    def __init__(self, factory: MockFactory, wiring: list[DoorWiring], timing: DoorTiming) -> None:
        self._factory = factory
        self._wiring = {w.compartment: w for w in wiring}
        self._timing = timing

    def _reed(self, cid: str):  # type: ignore[no-untyped-def]
        return self._factory.pin(self._wiring[cid].reed_pin)

    def knows(self, cid: str) -> bool:
        return cid in self._wiring

    def close_all(self) -> None:
        for cid in self._wiring:
            self.set_door(cid, is_open=False)

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

    def doors(self) -> list[dict[str, object]]:
        return [
            {
                "id": cid,
                "open": self.door_is_open(cid),
                "relay_pulses": self.relay_pulses(cid),
                "relay_active": self.relay_active(cid),
            }
            for cid in self._wiring
        ]

    def close(self) -> None:
        """Nothing to release: the pins belong to the MockFactory."""
