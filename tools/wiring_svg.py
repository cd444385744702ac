"""Draw the cabinet's wiring diagram (docs/wiring.svg) from a locker config.

    python -m tools.wiring_svg [CONFIG] [OUT]      # or: make wiring

Relay channel N is the N-th compartment of the config. The same config gives
the same bytes, and a test checks the committed diagram against the example.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from locker.config import ConfigError, Settings, load_settings
from tools.svg import HEADER, Svg, physical_pin, pins_named

EXAMPLE = Path("config/locker.example.toml")
OUT = Path("docs/wiring.svg")
WIDTH = 1000
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
RELAY, REED, V33, V5, V12, GND, GREY = (
    "#1f5fbf", "#1b7f3b", "#d35400", "#b03a2e", "#c0392b", "#222", "#9aa0a6",
)  # fmt: skip
W1 = "#7d3c98"  # the 1-Wire line of the fridge probes
HEADER_TOP, HEADER_ROW, HEADER_X = 160, 30, 640
REED_ROW = 44
BOARD_TOP, CHANNEL_ROW, INPUT_ROW = 900, 36, 24
BOARD_X, BOARD_W = 170, 300
LOCK_X, MINUS_X, COM_X = 640, 950, 424
VCC_PIN, REED_GND_PIN = pins_named("3V3")[0], pins_named("GND")[-1]


@dataclass(frozen=True)
class Door:
    compartment: str
    channel: int
    relay_pin: int
    reed_pin: int


def doors_of(settings: Settings) -> list[Door]:
    wired = [c for c in settings.compartments if c.relay_pin is not None and c.reed_pin is not None]
    return [Door(c.id, n, c.relay_pin or 0, c.reed_pin or 0) for n, c in enumerate(wired, 1)]


def gpio(bcm: int) -> str:
    return f"GPIO{bcm} · pin {physical_pin(bcm)}"


def render(settings: Settings, source: str) -> str:
    doors = doors_of(settings)
    channels = 8 if len(doors) <= 8 else 16
    notes_y = BOARD_TOP + 4 * INPUT_ROW + channels * CHANNEL_ROW + 60
    svg = Svg(WIDTH, notes_y + 120, FONT)
    svg.rect(0, 0, WIDTH, svg.height, "#fff")
    title = f"Locker {settings.locker_id}: wiring of {len(doors)} doors"
    svg.label(30, 44, title, 24, weight="bold")
    svg.label(30, 70, f"Drawn from {source} by tools/wiring_svg.py (make wiring).", 13, GREY)
    _reeds(svg, doors)
    _header(svg, doors, settings)
    _relay_board(svg, doors, channels, settings.doors.active_high)
    _locks(svg, doors, settings)
    _notes(svg, settings, notes_y)
    return svg.text(f"Wiring of locker {settings.locker_id}")


def _heading(svg: Svg, x: int, y: int, title: str, anchor: str = "start") -> None:
    svg.label(x, y, title, 16, anchor=anchor, weight="bold")


def _reeds(svg: Svg, doors: list[Door]) -> None:
    _heading(svg, 30, 112, "Reed switches")
    svg.label(30, 130, "closed = door shut", 12, GREY)
    first, last = HEADER_TOP + 24, HEADER_TOP + 24 + (len(doors) - 1) * REED_ROW
    svg.pill(20, HEADER_TOP - 6, 150, f"GND · pin {REED_GND_PIN}", GND)
    svg.line(40, HEADER_TOP + 4, 40, last, GND)
    for i, door in enumerate(doors):
        y = first + i * REED_ROW
        svg.circle(40, y, 4, GND)
        svg.line(40, y, 100, y, GND)
        svg.rect(96, y - 11, 66, 22, "none", GREY, r=11)  # the glass tube
        svg.line(104, y, 152, y - 8, GND)  # the blade, open
        svg.line(158, y, 170, y, GND)
        svg.line(170, y, 196, y, REED)
        svg.label(70, y - 7, door.compartment, 12, anchor="middle", weight="bold")
        svg.pill(196, y, 140, gpio(door.reed_pin), REED)


def _header(svg: Svg, doors: list[Door], settings: Settings) -> None:
    _heading(svg, HEADER_X, 112, "Raspberry Pi 4 / 5: 40-pin header", "middle")
    svg.label(HEADER_X, 130, "seen from above, pin 1 = square pad", 12, GREY, "middle")
    tags: dict[int, tuple[str, str]] = {VCC_PIN: ("relay board VCC", V33)}
    tags[REED_GND_PIN] = ("reed switches", GND)
    if settings.zones and settings.doors.hardware == "gpio":
        tags[physical_pin(settings.cold_chain.w1_pin)] = ("1-Wire: fridge probes", W1)
    for door in doors:
        tags[physical_pin(door.relay_pin)] = (f"{door.compartment} relay · IN{door.channel}", RELAY)
        tags[physical_pin(door.reed_pin)] = (f"{door.compartment} reed", REED)
    bottom = HEADER_TOP + 19 * HEADER_ROW
    svg.rect(HEADER_X - 28, HEADER_TOP - 18, 56, bottom - HEADER_TOP + 36, "#2d2d2d", r=6)
    for number, what in enumerate(HEADER, 1):
        odd = number % 2 == 1
        side = -1 if odd else 1
        x, y = HEADER_X + 12 * side, HEADER_TOP + (number - 1) // 2 * HEADER_ROW
        tag = tags.get(number)
        color = tag[1] if tag else GREY if isinstance(what, int) else _power_color(what)
        if number == 1:
            svg.rect(x - 8, y - 8, 16, 16, color, "#fff")
        else:
            svg.circle(x, y, 8, color, "#fff")
        anchor = "end" if odd else "start"
        svg.label(x + 24 * side, y + 5, str(number), 13, weight="bold", anchor=anchor)
        name = f"GPIO{what}" if isinstance(what, int) else what
        svg.label(x + 56 * side, y + 5, name, 13, "#222" if tag else GREY, anchor)
        if tag:
            svg.pill(x + 116 * side, y, 150, tag[0], tag[1], anchor)


def _power_color(name: str) -> str:
    return {"3V3": V33, "5V": V5}.get(name, GND)


def _relay_board(svg: Svg, doors: list[Door], channels: int, active_high: bool) -> None:
    top = BOARD_TOP
    kind = "active-high" if active_high else "active-low"
    _heading(svg, 30, top - 50, f"{channels}-channel relay board, {kind}, opto-isolated")
    svg.label(30, top - 30, "jumper JD-VCC–VCC removed", 12, GREY)
    height = 4 * INPUT_ROW + channels * CHANNEL_ROW + 24
    svg.rect(BOARD_X, top, BOARD_W, height, "#eef3fb", RELAY, r=8)
    inputs = [
        ("VCC", f"3V3 · pin {VCC_PIN}", V33),
        ("GND", "not wired", ""),
        ("JD-VCC", "+5 V coil supply", V5),
        ("GND", "0 V coil supply", GND),
    ]
    for i, (terminal, source, color) in enumerate(inputs):
        y = top + 20 + i * INPUT_ROW
        svg.rect(BOARD_X - 6, y - 6, 12, 12, "#fff", RELAY)
        svg.label(BOARD_X + 16, y + 5, terminal, 12, weight="bold")
        if color:
            svg.pill(BOARD_X - 10, y, 140, source, color, "end")
        else:
            svg.label(BOARD_X - 16, y + 5, source, 12, GREY, "end")
    labels_y = _channel_y(1) - 20
    svg.label(COM_X - 30, labels_y, "NC", 11, GREY, "middle")
    svg.label(COM_X + 30, labels_y, "NO", 11, GREY, "middle")
    svg.label(COM_X - 8, top + 20, "+12 V to", 11, V12, "end")
    svg.label(COM_X - 8, top + 35, "every COM", 11, V12, "end")
    for channel in range(1, channels + 1):
        _channel(svg, channel, doors[channel - 1] if channel <= len(doors) else None)
    if doors:
        first, last = _channel_y(1), _channel_y(len(doors))
        svg.line(COM_X, first, COM_X, last, V12)  # COM daisy-chained to +12 V


def _channel_y(channel: int) -> int:
    return BOARD_TOP + 4 * INPUT_ROW + 20 + (channel - 1) * CHANNEL_ROW + 8


def _channel(svg: Svg, channel: int, door: Door | None) -> None:
    y = _channel_y(channel)
    ink = "#222" if door else GREY
    svg.rect(BOARD_X - 6, y - 6, 12, 12, "#fff", RELAY if door else GREY)
    svg.label(BOARD_X + 16, y + 5, f"IN{channel}", 12, ink, weight="bold")
    svg.label(BOARD_X + 78, y + 5, door.compartment if door else "spare", 13, ink, weight="bold")
    for dx in (-30, 0, 30):  # NC, COM, NO screw terminals
        svg.rect(COM_X + dx - 5, y - 5, 10, 10, "#fff", ink)
    if door:
        svg.pill(BOARD_X - 10, y, 140, gpio(door.relay_pin), RELAY, "end")
        svg.circle(COM_X, y, 3, V12)
        svg.line(COM_X + 35, y, LOCK_X, y, V12)


def _locks(svg: Svg, doors: list[Door], settings: Settings) -> None:
    top = BOARD_TOP - 96
    _heading(svg, LOCK_X + 40, top - 16, "12 V solenoid locks")
    svg.rect(LOCK_X + 40, top, 300, 44, "#fdf2f0", V12, r=6)
    svg.label(LOCK_X + 190, top + 20, "12 V DC supply, 2.5 A, fused", 13, anchor="middle")
    svg.label(LOCK_X + 60, top + 38, "+", 15, V12, "middle", "bold")
    svg.label(LOCK_X + 320, top + 38, "−", 15, GND, "middle", "bold")
    if not doors:
        return
    first, last = _channel_y(1), _channel_y(len(doors))
    svg.path(f"M{LOCK_X + 60} {top + 44} V{top + 72} H{COM_X} V{first}", V12)
    svg.path(f"M{MINUS_X - 30} {top + 44} V{top + 72} H{MINUS_X} V{last}", GND)
    for door in doors:
        _lock(svg, _channel_y(door.channel), door.compartment)
    doors_cfg = settings.doors
    svg.label(LOCK_X, last + 40, "diode 1N4007 across each lock, band to +12 V", 12, GREY)
    most = doors_cfg.max_concurrent_pulses
    locks = "lock" if most == 1 else "locks"
    svg.label(LOCK_X, last + 58, f"at most {most} {locks} energised", 12, GREY)
    svg.label(LOCK_X, last + 76, f"at once, {doors_cfg.pulse_ms} ms per pulse", 12, GREY)


def _lock(svg: Svg, y: int, compartment: str) -> None:
    """A lock between the relay's NO and 0 V, with its flyback diode across it."""
    svg.rect(LOCK_X, y - 9, 120, 18, "#fff", "#222", r=3)
    svg.label(LOCK_X + 60, y + 5, f"lock {compartment}", 12, anchor="middle")
    svg.line(LOCK_X + 120, y, MINUS_X, y, GND)
    svg.circle(MINUS_X, y, 3, GND)
    left, right, mid = LOCK_X - 20, LOCK_X + 140, LOCK_X + 60
    svg.path(f"M{left} {y} V{y - 18} H{right} V{y}", "#555", 1)
    # the diode points at the +12 V side: band (cathode) to +, anode to 0 V
    svg.path(f"M{mid - 6} {y - 18} L{mid + 6} {y - 23} V{y - 13} Z", "#555", 1, "#555")
    svg.line(mid - 7, y - 23, mid - 7, y - 13, "#555")
    svg.circle(left, y, 3, V12)
    svg.circle(right, y, 3, GND)


def _notes(svg: Svg, settings: Settings, y: int) -> None:
    d = settings.doors
    relay = "IN high = relay on" if d.active_high else "IN low = relay on (active-low)"
    shut = "closed (pin low)" if d.reed_closed_when_active else "open (pin high)"
    lines = [
        f"Relays: {relay}; relay COM to +12 V, NO to the lock, NC unused.",
        "Relay coils (JD-VCC): +5 V from a 12 → 5 V buck converter on the lock supply;"
        " VCC (3.3 V) feeds only the optocouplers.",
        f"Reed switches: between the GPIO pin and GND, Pi's internal pull-up; door shut = switch"
        f" {shut}; debounce {d.debounce_ms} ms.",
        *_probe_notes(settings),
        "The Pi's GPIO pins are 3.3 V only: nothing from the 5 V or 12 V side touches them.",
        "Details, parts and cable lengths: config/WIRING.md.",
    ]
    _heading(svg, 30, y, "Notes")
    for i, line in enumerate(lines):
        svg.label(30, y + 26 + i * 22, line, 13)


def _probe_notes(settings: Settings) -> list[str]:
    if not settings.zones:
        return []
    pin = settings.cold_chain.w1_pin
    zones = ", ".join(f"{z.id} ({' '.join(z.compartments)})" for z in settings.zones)
    return [
        f"Fridge probes (DS18B20, zones {zones}): data on {gpio(pin)}, 4.7 kΩ pull-up to 3.3 V,"
        f" VDD 3.3 V, GND; dtoverlay=w1-gpio,gpiopin={pin}.",
    ]


def main(argv: list[str]) -> int:
    config = Path(argv[0]) if argv else EXAMPLE
    out = Path(argv[1]) if len(argv) > 1 else OUT
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"{config}: {'; '.join(exc.problems)}", file=sys.stderr)
        return 1
    out.write_text(render(settings, config.as_posix()), encoding="utf-8")
    print(f"{out}: {len(doors_of(settings))} doors from {config}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
