"""Cross-checks of a cabinet's compartment layout: ids, pins, places, Kerong locks.

They work on plain dicts (raw TOML tables too), so that ``check-config``
reports them beside the errors of single fields.
"""

from __future__ import annotations

from typing import Any


def lock_addresses(compartments: list[Any]) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Each compartment's Kerong ``(board, lock)`` and the problems found.

    A compartment without ``board`` and ``lock`` gets them by its position ``i``
    in the layout: board ``i // 16``, lock ``i % 16 + 1`` (the first sixteen on
    board 0, locks 1-16, the next on board 1 …).
    """
    found: dict[str, tuple[int, int]] = {}
    owner: dict[tuple[int, int], str] = {}
    errors: list[str] = []
    for i, comp in enumerate(compartments):
        if not isinstance(comp, dict):
            continue
        cid, board, lock = str(comp.get("id")), comp.get("board"), comp.get("lock")
        if (board is None) != (lock is None):
            errors.append(f"{cid}: board and lock go together (give both, or neither)")
            continue
        given = board is not None
        if isinstance(board, int) and isinstance(lock, int):
            addr = (board, lock)
        elif given:
            continue  # not numbers: reported by the field checks
        else:
            addr = (i // 16, i % 16 + 1)
        if addr in owner:
            how = "" if given else " (by its order in the layout)"
            where = f"Kerong board {addr[0]} lock {addr[1]}{how}"
            errors.append(f"{cid}: {where} is already used by {owner[addr]}")
            continue
        owner[addr] = cid
        found[cid] = addr
    return found, errors


def layout_problems(
    compartments: list[Any], hardware: object = "gpio", share_pins: bool = False
) -> list[str]:
    """Duplicate ids, pins (unless ``share_pins``: mock pins of a benchmark), places and
    Kerong locks. Works on raw TOML tables too, so that ``check-config`` reports them
    beside the errors of single fields."""
    errors: list[str] = []
    seen_ids: set[str] = set()
    seen_pins: dict[int, str] = {}
    seen_places: dict[tuple[int, int], str] = {}
    for comp in compartments:
        if not isinstance(comp, dict):
            continue
        cid = str(comp.get("id"))
        if cid in seen_ids:
            errors.append(f"compartment id {cid!r} is used twice")
        seen_ids.add(cid)
        for kind in ("relay_pin", "reed_pin", "led_pin"):
            pin = comp.get(kind)
            if not isinstance(pin, int) or share_pins:
                continue
            if pin in seen_pins:
                errors.append(f"{cid}.{kind}: BCM pin {pin} is already used by {seen_pins[pin]}")
            else:
                seen_pins[pin] = f"{cid}.{kind}"
        place = (comp.get("column", 0), comp.get("row", 0))
        if all(isinstance(p, int) for p in place):
            if place in seen_places:
                errors.append(
                    f"{cid}: column {place[0]} row {place[1]} is taken by {seen_places[place]}"
                )
            seen_places[place] = cid
    if hardware == "kerong":
        errors += lock_addresses(compartments)[1]
    return errors
