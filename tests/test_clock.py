"""The kernel's clock state, read on every pickup and every tick of a real cabinet."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from locker.clock import SystemClock, kernel_clock_synchronised


def test_the_kernel_clock_is_read_without_starting_a_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # NOTE: trusted() runs under the service lock on every pickup (trust = "ntp", the
    # default on a real cabinet) and 4 times a second in the ticker.
    started: list[Any] = []

    class Spy(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: Any, *rest: Any, **kw: Any) -> None:
            started.append(args)
            super().__init__(args, *rest, **kw)

    monkeypatch.setattr(subprocess, "Popen", Spy)
    clock = SystemClock("ntp")
    answers = {clock.trusted() for _ in range(50)}
    assert started == []
    assert answers == {kernel_clock_synchronised()}  # one steady answer, a bool
    assert SystemClock("always").trusted() is True
