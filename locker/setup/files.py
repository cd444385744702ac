"""Paths under the root being set up, and files written whole with their owner and mode."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from locker.durable import create_new, make_dirs, replace


@dataclass(frozen=True)
class Root:
    """The directory that stands for ``/``; paths are spoken of as on the cabinet."""

    path: Path

    def __call__(self, target: str) -> Path:
        return self.path / target.lstrip("/")

    @property
    def real(self) -> bool:
        return self.path == Path("/")


@dataclass(frozen=True)
class Owned:
    """What a path should be: its mode and owner (names, looked up when applied)."""

    mode: int
    user: str
    group: str

    def __str__(self) -> str:
        return f"{self.mode:04o} {self.user}:{self.group}"


def state(path: Path) -> tuple[int, int, int] | None:
    """(mode, uid, gid) of ``path``, or None when it is not there."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def apply(path: Path, mode: int, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)


def make_dir(path: Path, mode: int, uid: int, gid: int) -> None:
    make_dirs(path, 0o700)
    apply(path, mode, uid, gid)


def write(path: Path, text: str, mode: int, uid: int, gid: int) -> None:
    """Replace ``path`` whole (a reader sees the old file or the new one, never half),
    owner and mode set before it takes the name."""
    replace(path, text, mode, (uid, gid))


def make_key(path: Path, mode: int, uid: int, gid: int) -> None:
    """A fresh key, only where none is: O_EXCL, so an existing key is never replaced
    (the codes sealed with it would become unreadable)."""
    if not create_new(path, secrets.token_urlsafe(32) + "\n", mode, (uid, gid)):
        raise FileExistsError(errno.EEXIST, "a key is already there", str(path))
