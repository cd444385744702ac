"""Courier PINs, kept only as scrypt hashes: ``scrypt$n$r$p$salt$hash`` (base64)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1  # about 50 ms on a Raspberry Pi 4: slow for guessing, fine for a person
DEMO_PIN = "2468"
DEMO_STAFF_PIN = "24681357"  # the demo config's staff PIN (decision 31): simulation only


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def is_pin_hash(text: str) -> bool:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        int(parts[1]), int(parts[2]), int(parts[3])
        base64.b64decode(parts[4], validate=True)
        base64.b64decode(parts[5], validate=True)
    except ValueError:
        return False
    return True


def verify_pin(pin: str, hashes: list[str]) -> bool:
    """True when ``pin`` matches one of ``hashes``; every hash is tried (no early exit)."""
    ok = False
    for stored in hashes:
        _, n, r, p, salt, expected = stored.split("$")
        digest = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
        ok |= hmac.compare_digest(digest, base64.b64decode(expected))
    return ok
