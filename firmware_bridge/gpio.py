"""Doors on Pi GPIO: one relay output and one reed-switch input per compartment.

Devices take the pin factory as a keyword (gpiozero's own style): the real
one on a Pi (lgpio), :class:`gpiozero.pins.mock.MockFactory` in simulation
and tests. Nothing here knows which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, OutputDevice
from gpiozero.pins import Factory

from firmware_bridge.debounce import Debouncer
from firmware_bridge.pulses import Pulse, PulseQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DoorWiring:
    compartment: str
    relay_pin: int
    reed_pin: int


@dataclass(frozen=True)
class DoorTiming:
    pulse_s: float = 0.5
    debounce_s: float = 0.05
    active_high: bool = False
    closed_when_active: bool = True
    max_concurrent_pulses: int = 2


class GpioDoors:
    """:class:`locker.domain.ports.DoorActuator` on gpiozero devices."""

    def __init__(self, wiring: list[DoorWiring], timing: DoorTiming, factory: Factory) -> None:
        self.wiring = {w.compartment: w for w in wiring}
        self.pin_factory = factory  # door lights (firmware_bridge.lights) share it
        self._timing = timing
        # One device per pin: a benchmark layout may put many simulated compartments
        # on one mock pin (doors.share_mock_pins); a real layout never shares a pin.
        self._relays: dict[int, OutputDevice] = {}
        self._reeds: dict[int, DigitalInputDevice] = {}
        self._on_reed: dict[int, list[str]] = {}
        self._listener: Callable[[str, bool], None] | None = None
        for w in wiring:
            if w.relay_pin not in self._relays:
                # NOTE: an active-low relay board idles with the pin high; initial_value
                # False keeps every lock shut while the service starts.
                self._relays[w.relay_pin] = OutputDevice(
                    w.relay_pin,
                    active_high=timing.active_high,
                    initial_value=False,
                    pin_factory=factory,
                )
            if w.reed_pin not in self._reeds:
                # NOTE: bounce_time stays None: debouncing is ours (firmware_bridge.debounce),
                # identical on mock and real pins.
                self._reeds[w.reed_pin] = DigitalInputDevice(
                    w.reed_pin, pull_up=True, bounce_time=None, pin_factory=factory
                )
            self._on_reed.setdefault(w.reed_pin, []).append(w.compartment)
        self._debouncer = Debouncer(timing.debounce_s, self.is_open, self._changed)
        self._pulses = PulseQueue(timing.pulse_s, timing.max_concurrent_pulses)
        for pin, reed in self._reeds.items():
            reed.when_activated = self._edge_callback(self._on_reed[pin])
            reed.when_deactivated = self._edge_callback(self._on_reed[pin])

    def _edge_callback(self, compartments: list[str]) -> Callable[[], None]:
        def edge() -> None:
            for cid in compartments:
                self._debouncer.edge(cid)

        return edge

    def _changed(self, cid: str, is_open: bool) -> None:
        if self._listener is not None:
            self._listener(cid, is_open)

    def listen(self, listener: Callable[[str, bool], None]) -> None:
        """Call ``listener(compartment, is_open)`` on every debounced change.

        Levels read now are taken as known: call :meth:`is_open` for them.
        """
        for cid in self.wiring:
            self._debouncer.prime(cid, self.is_open(cid))
        self._listener = listener

    def unlock(self, compartment_id: str) -> None:
        wired = self.wiring.get(compartment_id)
        if wired is None:  # a compartment without pins (simulation layouts only)
            log.warning("compartment %s has no relay wired: nothing to pulse", compartment_id)
            return
        relay = self._relays[wired.relay_pin]
        # The label keys the per-relay serialisation: one relay, one pulse at a time.
        self._pulses.submit(Pulse(f"relay BCM{wired.relay_pin}", relay.on, relay.off))

    def is_open(self, compartment_id: str) -> bool:
        wired = self.wiring.get(compartment_id)
        if wired is None:
            return False
        reed = self._reeds[wired.reed_pin]
        closed = bool(reed.is_active) == self._timing.closed_when_active
        return not closed

    def unknown(self) -> set[str]:
        """None: a reed switch reads from the start."""
        return set()

    def health(self) -> dict[str, object]:
        return {"hardware": "gpio", "ok": True}

    def close(self) -> None:
        self._pulses.close()
        self._debouncer.close()
        for device in (*self._relays.values(), *self._reeds.values()):
            device.close()
