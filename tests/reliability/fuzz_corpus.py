"""Payloads for the MQTT fuzzing: random JSON, mutated valid messages, oversized,
deeply nested, invalid UTF-8. Each comes with whether it is valid by construction."""

from __future__ import annotations

import json
import random
from typing import Any

UPSERT: dict[str, Any] = {
    "type": "reservation.upsert",
    "reservation_id": "R-1",
    "version": 1,
    "kind": "delivery",
    "size": "S",
    "chilled": False,
    "accessible": False,
    "recipient": "apt-1",
    "reference": "REF-1",
    "expires_at": "2031-01-01T00:00:00+01:00",
}
CANCEL: dict[str, Any] = {"type": "reservation.cancel", "reservation_id": "R-1", "version": 2}
COMMANDS: list[dict[str, Any]] = [
    {"type": "resync", "request_id": "q-1"},
    {"type": "open", "request_id": "q-1", "compartment": "B2", "reason": "x"},
    {"type": "set_service", "request_id": "q-1", "compartment": "B2", "in_service": True},
]
REQUIRED = {
    "reservation.upsert": ["type", "reservation_id", "version", "kind", "size", "expires_at"],
    "reservation.cancel": ["type", "reservation_id", "version"],
    "resync": ["type", "request_id"],
    "open": ["type", "request_id", "compartment"],
    "set_service": ["type", "request_id", "compartment", "in_service"],
}
WRONG_TYPED: list[Any] = [None, [], {}, 1.5, "text", -7, True, {"a": [1]}, "\u0000", "💥" * 3]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 10**30, rng.randint(-1000, 1000), 1e308, -0.0])
    if kind in (3, 4):
        alphabet = 'abcLKR1:é💡\u0000\n"\\{}[]' + "".join(
            chr(rng.randrange(32, 0x2FFF)) for _ in range(4)
        )
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    keys = ["type", "reservation_id", "request_id", "version", "size", "x", "kind", ""]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(0, 6))}


def _mutate(rng: random.Random, base: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A copy of ``base`` made invalid in one way that no validator can forgive."""
    body = dict(base)
    how = rng.randrange(4)
    if how == 0:  # a required field missing
        del body[rng.choice(required)]
    elif how == 1:  # a required field of a wrong type
        field = rng.choice(required[1:])
        body[field] = rng.choice([v for v in WRONG_TYPED if type(v) is not type(base[field])])
    elif how == 2:  # an unknown field
        body[f"extra_{rng.randrange(99)}"] = random_json(rng)
    else:  # an unknown message type
        body["type"] = rng.choice(["reservation.explode", "", "RESYNC", "open ", 7])
    return body


def corpus(rng: random.Random, count: int, topic: str) -> list[tuple[bytes, bool]]:
    """``count`` payloads for ``topic`` ("reservations" or "commands"), (bytes, valid)."""
    bases = [UPSERT, CANCEL] if topic == "reservations" else COMMANDS
    out: list[tuple[bytes, bool]] = []
    for i in range(count):
        roll = rng.random()
        base = dict(rng.choice(bases))
        key = "reservation_id" if topic == "reservations" else "request_id"
        base[key] = f"F-{i}"
        if "version" in base:
            base["version"] = rng.randint(1, 5)
        if roll < 0.10:  # valid
            out.append((json.dumps(base).encode(), True))
        elif roll < 0.45:  # mutated valid message
            body = _mutate(rng, base, REQUIRED[base["type"]])
            out.append((json.dumps(body).encode(), False))
        elif roll < 0.75:  # random JSON (not an object of the right shape)
            value = random_json(rng)
            if isinstance(value, dict):
                value["type"] = 12  # never a valid type
            out.append((json.dumps(value).encode(), False))
        elif roll < 0.85:  # not JSON, or not UTF-8
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            out.append((b"\xff" + raw, False))
        elif roll < 0.92:  # truncated JSON
            text = json.dumps(base).encode()
            out.append((text[: rng.randrange(1, len(text))], False))
        elif roll < 0.97:  # deeply nested
            depth = rng.choice([100, 1000, 20_000])
            out.append((b"[" * depth + b"]" * depth, False))
        else:  # oversized
            big = dict(base, recipient="x" * rng.randrange(70_000, 200_000))
            out.append((json.dumps(big).encode(), False))
    return out
