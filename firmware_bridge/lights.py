"""A light on a compartment's door (``led_pin``): it blinks while the door is unlocked or
open for the person at the box, so the door that opened can be found without reading
the screen. One gpiozero LED per wired compartment; its blinking runs on gpiozero's
own thread, so nothing here ever waits."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from gpiozero import LED
from gpiozero.pins import Factory

BLINK_S = 0.4  # on and off: about once a second, well below the 3 flashes a second limit


class DoorLights:
    def __init__(self, pins: Mapping[str, int], factory: Factory) -> None:
        self._leds = {cid: LED(pin, pin_factory=factory) for cid, pin in pins.items()}
        self._state = dict.fromkeys(self._leds, "off")
        self._lock = threading.Lock()

    def wired(self, cid: str) -> bool:
        return cid in self._leds

    def wired_ids(self) -> list[str]:
        return list(self._leds)

    def show(self, cid: str, lit: bool) -> None:
        """Blink the compartment's light (``lit``) or put it out; unwired: nothing."""
        led = self._leds.get(cid)
        if led is None:
            return
        with self._lock:
            want = "blink" if lit else "off"
            if self._state[cid] == want:
                return
            self._state[cid] = want
            if lit:
                led.blink(on_time=BLINK_S, off_time=BLINK_S, background=True)
            else:
                led.off()

    def state(self, cid: str) -> str:
        """``off``, ``blink`` (or ``on``: never set by the service today), for /sim/doors."""
        return self._state[cid]

    def close(self) -> None:
        for led in self._leds.values():
            led.close()
