"""docs/privacy.md lists every column of every table, and nothing else: the register
cannot drift from the database (issue 19, point 5)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import SQLModel

from locker.store import tables

REGISTER = Path(__file__).resolve().parent.parent / "docs" / "privacy.md"


def test_the_register_names_every_stored_field_once() -> None:
    assert tables.__name__  # importing it defines the tables
    stored = {f"{t.name}.{c.name}" for t in SQLModel.metadata.sorted_tables for c in t.columns}
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", REGISTER.read_text(), re.MULTILINE)
    assert len(rows) == len(set(rows)), "a field listed twice"
    assert set(rows) - stored == set(), "the register lists fields the database lacks"
    assert stored - set(rows) == set(), "fields the register does not list"


def test_each_row_says_if_personal_why_how_long_and_who_reads() -> None:
    for line in REGISTER.read_text().splitlines():
        if re.match(r"^\| `[a-z_]+\.[a-z_]+` \|", line):
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert len(cells) == 5 and all(cells), line
