"""The answers applied to the config document: only what was told changes, and the
secrets (tokens, PIN hashes) are made only where none is set or a demo one is."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import tomlkit
from tomlkit.toml_document import TOMLDocument

from locker.config import DEMO_TOKENS
from locker.pins import DEMO_PIN, DEMO_STAFF_PIN, hash_pin, is_pin_hash, verify_pin
from locker.setup import document as d
from locker.setup.answers import Answers, default_sizes, parse_broker, parse_layout, parse_sizes
from locker.setup.layouts import floor_forgive, grid, probes, repin

KEY_FILE = "/etc/locker/locker.key"
DATABASE = "/var/lib/locker/locker.db"
ROLES = ("admin", "courier", "kiosk")
TLS_PORT = 8883


@dataclass
class Made:
    notes: list[str] = field(default_factory=list)  # what changed, in words (no secret)
    secrets: list[tuple[str, str]] = field(default_factory=list)  # made now: shown once


def configure(
    doc: TOMLDocument, told: Answers, example: TOMLDocument, root: Path, first: bool
) -> Made:
    made = Made()
    if told.locker_id is not None:
        d.put(doc, "locker_id", told.locker_id)
        d.put(doc, "mqtt.username", told.locker_id)  # the broker's ACL grants topics by user
    if told.phone is not None:
        d.put(doc, "phone", told.phone)
    _broker(doc, told)
    if told.hardware is not None:
        d.put(doc, "doors.hardware", told.hardware)
    if told.serial_port is not None:
        d.put(doc, "kerong.port", told.serial_port)
    hardware = d.get(doc, "doors.hardware", "gpio")
    w1_pin = int(d.get(doc, "cold_chain.w1_pin", 4))
    if told.layout is not None:
        shape = parse_layout(told.layout)
        if shape is None:
            _example_layout(doc, example, root, made, first)
        else:
            columns, rows = shape
            sizes = parse_sizes(told.sizes or default_sizes(rows), rows)
            d.replace_compartments(doc, grid(columns, rows, sizes, hardware, w1_pin))
            if d.remove(doc, "zones") and not first:
                made.notes.append("the chilled zones are left out with the old layout")
    elif hardware == "gpio":
        doors = d.compartments(doc)
        if any("relay_pin" not in c or "reed_pin" not in c for c in doors):
            d.replace_compartments(doc, repin(doors, w1_pin))
            made.notes.append("BCM pins given to the doors that had none")
    _key_and_database(doc)
    _tokens(doc, made)
    _pins(doc, made)
    _floor(doc, made)
    return made


def _broker(doc: TOMLDocument, told: Answers) -> None:
    if told.broker is not None:
        broker = parse_broker(told.broker)
        d.put(doc, "mqtt.enabled", broker is not None)
        if broker is not None:
            d.put(doc, "mqtt.host", broker[0])
            d.put(doc, "mqtt.port", broker[1])
            if told.tls is None:
                d.put(doc, "mqtt.tls", broker[1] == TLS_PORT)
    if told.tls is not None:
        d.put(doc, "mqtt.tls", told.tls)
    if told.ca_file is not None:
        d.put(doc, "mqtt.ca_file", told.ca_file)
    if told.password is not None:
        d.put(doc, "mqtt.password", told.password)


def _example_layout(
    doc: TOMLDocument, example: TOMLDocument, root: Path, made: Made, first: bool
) -> None:
    if not first:
        d.replace_compartments(doc, d.compartments(example))
        d.remove(doc, "zones")
        zones = d.get(example, "zones", [])
        if zones:
            table = tomlkit.aot()
            for zone in zones:
                table.append(tomlkit.item(zone))
            doc["zones"] = table
    zones = d.get(doc, "zones", [])
    if not zones:
        return
    found = probes(root)
    chilled = sorted({c for zone in zones for c in zone["compartments"]})
    if found and len(zones) == 1:
        doc["zones"][0]["sensor"] = found[0]
        made.notes.append(f"fridge zone {zones[0]['id']} ({', '.join(chilled)}): probe {found[0]}")
        return
    # NOTE: a zone whose probe is not there would keep its compartments out of use (and
    # raise sensor.fault): without a probe the example's fridge compartments are plain.
    d.remove(doc, "zones")
    for table in doc["compartments"]:
        if table.get("id") in chilled and "chilled" in table:
            del table["chilled"]
    made.notes.append(
        f"no DS18B20 probe under /sys/bus/w1/devices: no fridge zone, {', '.join(chilled)} "
        "are plain compartments (docs/cold-chain.md: add a [[zones]] table once it is wired)"
    )


def _key_and_database(doc: TOMLDocument) -> None:
    if not d.get(doc, "security.secret_key"):
        key_file = d.get(doc, "security.key_file")
        if not key_file or not PurePosixPath(key_file).is_absolute():
            d.put(doc, "security.key_file", KEY_FILE)
    path = d.get(doc, "storage.path")
    if not path or not PurePosixPath(path).is_absolute():
        d.put(doc, "storage.path", DATABASE)


def _tokens(doc: TOMLDocument, made: Made) -> None:
    for role in ROLES:
        tokens: list[str] = d.get(doc, f"api.tokens.{role}", [])
        kept = [t for t in tokens if t not in DEMO_TOKENS.values() and len(t) >= 16]
        if not kept:
            kept = [secrets.token_urlsafe(24)]
            made.secrets.append((f"{role} API token", kept[0]))
        d.put(doc, f"api.tokens.{role}", kept)


def _pins(doc: TOMLDocument, made: Made) -> None:
    for key, demo, digits, what in (
        ("kiosk.courier_pin_hashes", DEMO_PIN, 6, "courier PIN"),
        ("kiosk.staff_pin_hashes", DEMO_STAFF_PIN, 8, "staff PIN"),
    ):
        hashes: list[str] = d.get(doc, key, [])
        kept = [h for h in hashes if not (is_pin_hash(h) and verify_pin(demo, [h]))]
        if not kept:
            pin = "".join(secrets.choice(string.digits) for _ in range(digits))
            kept = [hash_pin(pin)]
            made.secrets.append((what, pin))
        d.put(doc, key, kept)


def _floor(doc: TOMLDocument, made: Made) -> None:
    lockout: dict[str, Any] = d.get(doc, "lockout", {})
    doors = len(d.compartments(doc))
    forgive = floor_forgive(doors, len(d.get(doc, "kiosk.staff_pin_hashes", [])), lockout)
    if forgive is not None:
        d.put(doc, "lockout.forgive_per_day", forgive)
        made.notes.append(
            f"lockout.forgive_per_day lowered to {forgive} so that {doors} doors keep the "
            "brute-force floor (README, Codes)"
        )
