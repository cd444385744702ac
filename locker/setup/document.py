"""The config file as a style-preserving TOML document (tomlkit): the first one written
from the example's text, later ones edited in place, so the example's comments and an
installer's hand edits stay."""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

HEADER = """\
# This cabinet's configuration, written by `locker setup` from
# config/locker.example.toml, whose comments it keeps. Re-run `sudo locker setup`
# to change what it asks: it keeps the key, the tokens, the PIN hashes and hand
# edits. Edit the rest here, then `sudo systemctl restart locker`.
# Row 0 is the lowest row (reachable from a wheelchair). Pins are BCM numbers:
# relays on an active-low board, reed switches between the pin and GND with the
# internal pull-up. Wiring, parts and how to test each door: config/WIRING.md.
#
# Check it with:  sudo -u locker locker check-config --hardware /etc/locker/locker.toml
"""

# The example's words about its demo values, and what they become in a cabinet's file
# (a test checks that each still matches the example, and that no "demo" is left).
REWRITES = (
    (
        "# Demo tokens: `locker serve` refuses them outside --simulate.\n",
        "# Made by `locker setup` and shown once; 16 characters at least.\n",
    ),
    (
        "# Make one with `locker hash-pin`. This one is the demo PIN 2468, refused\n"
        "# outside --simulate.\n",
        "# Make one with `locker hash-pin`; `locker setup` made the first and showed it once.\n",
    ),
    (
        "# more: `locker hash-pin --staff`. This one is the demo PIN 24681357, refused outside\n"
        "# --simulate. Staff open doors",
        "# more: `locker hash-pin --staff`; `locker setup` made the first and showed it once.\n"
        "# Staff open doors",
    ),
    (
        '# username = ""              # with that setup: the locker id (here "demo"): its ACL\n',
        'username = ""                # with that setup: the locker id: its ACL\n',
    ),
    (
        '# password = ""              # better: LOCKER_MQTT__PASSWORD (README, "The broker")\n',
        'password = ""                # its own on the broker (this file is 0640 root:locker)\n',
    ),
)


def first(example: str) -> tuple[TOMLDocument, list[str]]:
    """The example made into a cabinet's document (values still the example's), and the
    rewrites that no longer match it."""
    body = example.split("\n\n", 1)[1]  # the example's header speaks of its demo layout
    stale = [old for old, _ in REWRITES if old not in body]
    for old, new in REWRITES:
        body = body.replace(old, new)
    return tomlkit.parse(HEADER + "\n" + body), stale


def parse(text: str) -> TOMLDocument:
    return tomlkit.parse(text)


def dumps(doc: TOMLDocument) -> str:
    return tomlkit.dumps(doc)


def get(doc: TOMLDocument, dotted: str, default: Any = None) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node.unwrap() if hasattr(node, "unwrap") else node


def put(doc: TOMLDocument, dotted: str, value: Any) -> bool:
    """Set ``dotted`` (making its tables) unless it already holds ``value``; True if changed."""
    *tables, key = dotted.split(".")
    node: Any = doc
    for part in tables:
        if part not in node:
            node[part] = tomlkit.table()
        node = node[part]
    if key in node and get(doc, dotted) == value:
        return False
    node[key] = value
    return True


def remove(doc: TOMLDocument, dotted: str) -> bool:
    *tables, key = dotted.split(".")
    node: Any = doc
    for part in tables:
        if part not in node:
            return False
        node = node[part]
    if key not in node:
        return False
    del node[key]
    return True


def replace_compartments(doc: TOMLDocument, doors: list[dict[str, Any]]) -> None:
    """A new ``[[compartments]]`` list in place of the old one, keeping the comments that
    trailed it (they introduce the table after it)."""
    old = doc.get("compartments")
    trail: list[Any] = []
    if isinstance(old, AoT) and len(old):
        for key, item in reversed(old[-1].value.body):
            if key is not None:
                break
            trail.insert(0, item)
    new = tomlkit.aot()
    for door in doors:
        table = tomlkit.table()
        for name, value in door.items():
            table[name] = value
        new.append(table)
    last: Table = new[-1]
    for item in trail:
        last.add(item)
    doc["compartments"] = new


def compartments(doc: TOMLDocument) -> list[dict[str, Any]]:
    found = get(doc, "compartments", [])
    return [dict(c) for c in found] if isinstance(found, list) else []
