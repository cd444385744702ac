"""The power-cut filesystem itself: it loses exactly what nobody made durable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from locker.durable import create_new, make_dirs, sync_dir
from tests.reliability import cutmount


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[cutmount.Mount]:
    if why := cutmount.unavailable():
        pytest.skip(why)
    m = cutmount.Mount(tmp_path / "disk", tmp_path / "mnt").start()
    yield m
    m.stop()


def _write(path: Path, data: bytes, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def test_a_cut_loses_unsynced_data_and_names_and_keeps_the_rest(
    mount: cutmount.Mount, tmp_path: Path
) -> None:
    p = mount.point
    make_dirs(p / "a" / "b")
    assert create_new(p / "a" / "b" / "key", "k1\n")
    assert not create_new(p / "a" / "b" / "key", "k2\n")  # never replaces one
    _write(p / "synced", b"A" * 10_000, sync=True)
    sync_dir(p)
    _write(p / "synced", b"B" * 100, sync=False)  # over the first 100 bytes, never synced
    _write(p / "nameless", b"C" * 10, sync=True)  # its data synced, its name not
    assert (p / "synced").read_bytes()[:1] == b"B"  # the service sees its own writes
    # one dirty page; names: the refused key's temporary file made and removed, "nameless"
    assert mount.held_back() == (1, 3)
    mount.cut()
    disk = tmp_path / "disk"
    assert (disk / "synced").read_bytes() == b"A" * 10_000
    assert not (disk / "nameless").exists()
    assert (disk / "a" / "b" / "key").read_text() == "k1\n"
    assert sorted(os.listdir(disk / "a" / "b")) == ["key"]  # no temporary file left


def test_a_torn_cut_writes_a_part_of_the_dirty_pages(mount: cutmount.Mount, tmp_path: Path) -> None:
    p = mount.point
    _write(p / "f", bytes(64 * 4096), sync=True)
    sync_dir(p)
    fd = os.open(p / "f", os.O_WRONLY)
    for page in range(64):
        os.pwrite(fd, b"\xff" * 4096, page * 4096)
    os.close(fd)
    mount.cut(torn_seed=7)
    data = (tmp_path / "disk" / "f").read_bytes()
    written = sum(data[i * 4096] == 0xFF for i in range(64))
    assert 0 < written < 64, written  # some pages made it to the disk, not all
