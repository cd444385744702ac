"""The interactive questions: only what setup cannot know, each with its current or
default value in brackets (Enter keeps it), asked again after a bad answer.

Answers come from stdin, so a script (or a test) can give them; on a terminal the
password is read without echo."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from locker.setup.answers import (
    Answers,
    check_broker,
    check_hardware,
    check_layout,
    check_locker_id,
    check_phone,
    check_serial_port,
    default_sizes,
    parse_layout,
    parse_sizes,
)

KEEP = "keep"


class NoAnswer(Exception):
    """stdin ended before every question was answered."""


class Asker:
    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.tty = self.stdin.isatty()
        self.asked = 0

    def _read(self, prompt: str, secret: bool) -> str:
        if self.tty:
            try:
                return getpass.getpass(prompt) if secret else input(prompt)
            except (EOFError, KeyboardInterrupt):  # Ctrl-D, Ctrl-C: nothing is written yet
                self.stdout.write("\n")
                raise NoAnswer(prompt.strip()) from None
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise NoAnswer(prompt.strip())
        self.stdout.write("\n")
        return line.rstrip("\n")

    def ask(self, question: str, check: Callable[[str], str], default: str | None) -> str:
        self.asked += 1
        prompt = f"{question} [{default}]: " if default else f"{question}: "
        while True:
            raw = self._read(prompt, secret=False).strip()
            if not raw and default is not None:
                raw = default
            if not raw:
                self.stdout.write("  an answer is needed\n")
                continue
            try:
                return check(raw)
            except ValueError as exc:
                self.stdout.write(f"  {exc}\n")

    def secret(self, question: str, keep: str) -> str | None:
        """A password, not echoed on a terminal; Enter: None (keep, or none at all)."""
        self.asked += 1
        raw = self._read(f"{question} [Enter: {keep}]: ", secret=True)
        return raw or None


def interview(asker: Asker, told: Answers, now: Answers, first: bool) -> Answers:
    """``told`` (flags) completed by questions; ``now`` holds the current values."""
    out = Answers(**vars(told))
    if out.locker_id is None:
        out.locker_id = asker.ask(
            "Locker id (its name for the conciergerie and its user on the broker)",
            check_locker_id,
            now.locker_id,
        )
    if out.phone is None:
        out.phone = asker.ask(
            "Phone number of the conciergerie (shown to residents when something goes wrong)",
            check_phone,
            now.phone,
        )
    if out.broker is None:
        out.broker = asker.ask(
            "Address of the conciergerie's MQTT broker (host, or host:port; port 8883 is TLS; "
            "'none': no server)",
            check_broker,
            now.broker,
        )
    if out.password is None and out.broker != "none":
        out.password = asker.secret(
            f"Password of user {out.locker_id} on the broker (not shown)",
            "none" if first or not now.password else "keep the current one",
        )
    if out.hardware is None:
        out.hardware = asker.ask(
            "Doors: 'gpio' (relays and reed switches on the Pi's pins) or 'kerong' "
            "(RS-485 lock boards)",
            check_hardware,
            now.hardware,
        )
    if out.hardware == "kerong" and out.serial_port is None:
        out.serial_port = asker.ask(
            "Serial port of the RS-485 adapter", check_serial_port, now.serial_port
        )
    if out.layout is None:
        layout = asker.ask(
            "Layout: 'example' (12 doors, 3 columns x 4 rows, as in config/locker.example.toml) "
            "or COLUMNSxROWS, e.g. 4x5" + ("" if first else f"; '{KEEP}': as it is"),
            lambda text: KEEP if text.strip() == KEEP and not first else check_layout(text),
            "example" if first else KEEP,
        )
        out.layout = None if layout == KEEP else layout
    shape = parse_layout(out.layout) if out.layout else None
    if shape is not None and out.sizes is None:
        rows = shape[1]
        out.sizes = asker.ask(
            "Door sizes, one a row from the bottom, S, M or L",
            lambda text: ",".join(parse_sizes(text, rows)),
            default_sizes(rows),
        )
    return out
