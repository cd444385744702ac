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
        self._timing = timing
        self._relays: dict[str, OutputDevice] = {}
        self._reeds: dict[str, DigitalInputDevice] = {}
        self._listener: Callable[[str, bool], None] | None = None
        for w in wiring:
            # NOTE: an active-low relay board idles with the pin high; initial_value
            # False keeps every lock shut while the service starts.
            self._relays[w.compartment] = OutputDevice(
                w.relay_pin,
                active_high=timing.active_high,
                initial_value=False,
                pin_factory=factory,
            )
            # NOTE: bounce_time stays None: debouncing is ours (firmware_bridge.debounce),
            # identical on mock and real pins.
            self._reeds[w.compartment] = DigitalInputDevice(
                w.reed_pin, pull_up=True, bounce_time=None, pin_factory=factory
            )
        self._debouncer = Debouncer(timing.debounce_s, self.is_open, self._changed)
        self._pulses = PulseQueue(timing.pulse_s, timing.max_concurrent_pulses)
        for cid, reed in self._reeds.items():
            reed.when_activated = self._edge_callback(cid)
            reed.when_deactivated = self._edge_callback(cid)

    def _edge_callback(self, cid: str) -> Callable[[], None]:
        def edge() -> None:
            self._debouncer.edge(cid)

        return edge

    def _changed(self, cid: str, is_open: bool) -> None:
        if self._listener is not None:
            self._listener(cid, is_open)

    def listen(self, listener: Callable[[str, bool], None]) -> None:
        """Call ``listener(compartment, is_open)`` on every debounced change.

        Levels read now are taken as known: call :meth:`is_open` for them.
        """
        for cid in self._reeds:
            self._debouncer.prime(cid, self.is_open(cid))
        self._listener = listener

    def unlock(self, compartment_id: str) -> None:
        relay = self._relays.get(compartment_id)
        if relay is None:  # a compartment without pins (simulation layouts only)
            log.warning("compartment %s has no relay wired: nothing to pulse", compartment_id)
            return
        self._pulses.submit(Pulse(compartment_id, relay.on, relay.off))

    def is_open(self, compartment_id: str) -> bool:
        reed = self._reeds.get(compartment_id)
        if reed is None:
            return False
        closed = bool(reed.is_active) == self._timing.closed_when_active
        return not closed

    def health(self) -> dict[str, object]:
        return {"hardware": "gpio", "ok": True}

    def close(self) -> None:
        self._pulses.close()
        self._debouncer.close()
        for device in (*self._relays.values(), *self._reeds.values()):
            device.close()
