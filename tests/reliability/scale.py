"""Sizes of the reliability tests: `make test` runs them as given, `make soak` at 10x."""

from __future__ import annotations

import os

SCALE = max(1, int(os.environ.get("LOCKER_SOAK", "1")))


def sized(n: int) -> int:
    return n * SCALE
