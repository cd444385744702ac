"""docs/wiring.svg is drawn from the example layout, and config/WIRING.md names real keys."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from gpiozero import pi_info
from pydantic import BaseModel

from locker.config import CompartmentConfig, Settings, load_settings
from tests.helpers import EXAMPLE, ROOT
from tools.svg import HEADER
from tools.wiring_svg import render

SVG = ROOT / "docs" / "wiring.svg"
DOC = ROOT / "config" / "WIRING.md"
SOURCE = "config/locker.example.toml"
NS = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg).iter(f"{NS}text")]


def _physical(bcm: int) -> int:
    """From gpiozero's own board data, not from the drawing tool's table."""
    pins = pi_info("c03111").headers["J8"].pins  # a Pi 4B
    return int(next(n for n, pin in pins.items() if pin.name == f"GPIO{bcm}"))


@pytest.mark.parametrize("revision", ["c03111", "c04170"])  # Pi 4B, Pi 5B
def test_the_header_table_is_the_pis(revision: str) -> None:
    pins = pi_info(revision).headers["J8"].pins
    names = [f"GPIO{what}" if isinstance(what, int) else what for what in HEADER]
    assert names == [pins[n].name for n in range(1, 41)]


def test_the_committed_diagram_is_drawn_from_the_example() -> None:
    drawn = render(load_settings(EXAMPLE), SOURCE)
    assert drawn == SVG.read_text(encoding="utf-8"), "docs/wiring.svg is stale: run make wiring"


def test_the_command_writes_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "wiring.svg"
    command = [sys.executable, "-m", "tools.wiring_svg", SOURCE, str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert out.read_bytes() == SVG.read_bytes()


def test_the_diagram_is_well_formed_svg() -> None:
    root = ET.parse(SVG).getroot()
    assert root.tag == f"{NS}svg"
    width, height = int(root.attrib["width"]), int(root.attrib["height"])
    assert root.attrib["viewBox"] == f"0 0 {width} {height}"
    assert all(text.strip() for text in _texts(SVG.read_text(encoding="utf-8")))


def test_every_compartment_and_pin_of_the_example_appears() -> None:
    texts = set(_texts(SVG.read_text(encoding="utf-8")))
    settings = load_settings(EXAMPLE)
    for channel, comp in enumerate(settings.compartments, 1):
        assert comp.relay_pin is not None and comp.reed_pin is not None
        for bcm in (comp.relay_pin, comp.reed_pin):
            assert f"GPIO{bcm} · pin {_physical(bcm)}" in texts, bcm
        assert {f"{comp.id} relay · IN{channel}", f"{comp.id} reed", f"lock {comp.id}"} <= texts
    w1 = settings.cold_chain.w1_pin
    assert "1-Wire: fridge probes" in texts and f"GPIO{w1}" in texts
    note = next(text for text in texts if "dtoverlay=w1-gpio" in text)
    assert f"GPIO{w1} · pin {_physical(w1)}" in note and f"gpiopin={w1}" in note
    assert "16-channel relay board, active-low, opto-isolated" in texts
    assert "IN16" in texts and "spare" in texts


def test_a_smaller_layout_draws_its_own_pins(tmp_path: Path) -> None:
    doors = [("L1", 2, 3), ("L2", 26, 19), ("L3", 0, 1)]
    settings = load_settings(
        EXAMPLE,
        compartments=[
            {"id": cid, "size": "M", "column": i, "relay_pin": relay, "reed_pin": reed}
            for i, (cid, relay, reed) in enumerate(doors)
        ],
        doors={"active_high": True, "max_concurrent_pulses": 1},
        zones=[],
    )
    drawn = render(settings, "small.toml")
    assert drawn == render(settings, "small.toml")
    texts = set(_texts(drawn))
    assert {"GPIO2 · pin 3", "GPIO3 · pin 5", "GPIO26 · pin 37", "GPIO19 · pin 35"} <= texts
    assert {"GPIO0 · pin 27", "GPIO1 · pin 28", "L3 relay · IN3", "lock L2"} <= texts
    assert "8-channel relay board, active-high, opto-isolated" in texts
    assert "IN8" in texts and "IN9" not in texts
    assert "at most 1 lock energised" in texts
    assert not any("A1" in text for text in texts)
    assert not any("1-Wire" in text for text in texts)  # no fridge: no probe line


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_the_wiring_doc_names_only_real_config_keys() -> None:
    doc = DOC.read_text(encoding="utf-8")
    sections = {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    named = set(re.findall(r"`([a-z_]+)\.([a-z_]+)(?: = [a-z0-9]+)?`", doc))
    checked = {(s, key) for s, key in named if s in sections}
    assert ("doors", "reed_closed_when_active") in checked and len(checked) >= 5
    for section, key in checked:
        assert key in _fields(sections[section]), f"config/WIRING.md: `{section}.{key}`"
    for key in re.findall(r"`(relay_pin|reed_pin|[a-z]+_pin)`", doc):
        assert key in _fields(CompartmentConfig), key
    assert "![Wiring](../docs/wiring.svg)" in doc
