"""Files and folders made so that a power cut leaves the old state or the new one,
never half: the data synced before the name, the name synced in its folder.

A ``fsync`` of a file makes its bytes durable, not its name: the folder that holds
the name must be synced too (``tests/reliability/test_power_cut.py`` cuts the power
where either is missing)."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def sync_dir(path: Path) -> None:
    """Make the names in folder ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path, mode: int = 0o777) -> None:
    """``mkdir -p`` (new folders made with ``mode``, less the umask), each new folder's
    name synced in its parent."""
    if path.is_dir():
        return
    make_dirs(path.parent, mode)
    try:
        path.mkdir(mode)
    except FileExistsError:
        return
    sync_dir(path.parent)


def _synced_temp(path: Path, text: str, mode: int, owner: tuple[int, int] | None) -> Path:
    """``text`` in a new temporary file beside ``path``, its ``mode`` and ``owner``
    (uid, gid) set and all of it synced before it takes any name of its own."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if owner is not None:
                os.fchown(handle.fileno(), *owner)
            os.fchmod(handle.fileno(), mode)  # before the sync: durable with the bytes
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def replace(path: Path, text: str, mode: int = 0o600, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` whole (a reader, and a power cut, see the old file or the new
    one, never half): synced under a temporary name, renamed, the folder synced."""
    temp = _synced_temp(path, text, mode, owner)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    sync_dir(path.parent)


def create_new(
    path: Path, text: str, mode: int = 0o600, owner: tuple[int, int] | None = None
) -> bool:
    """Write ``text`` as a new file ``path``, only where none is (an existing file is
    never replaced): synced under a temporary name, then given its name, and the
    folder synced. Answer whether it was made (False: one was there)."""
    temp = _synced_temp(path, text, mode, owner)
    try:
        try:
            os.link(temp, path)  # fails, atomically, where a file is already there
        except FileExistsError:
            return False
        except OSError as exc:  # a filesystem without hard links (vfat)
            if exc.errno not in _NO_LINKS or path.exists():
                raise
            os.rename(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    sync_dir(path.parent)
    return True
