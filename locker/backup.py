"""``locker backup PATH``: a consistent copy of the database while the service runs.

SQLite's online backup API copies the pages under a read transaction, so the
copy is one committed state even while the service writes (WAL mode lets it
go on). The copy is written beside PATH under a temporary name, turned into a
single self-contained file (no ``-wal``), checked with ``integrity_check``,
synced, and only then renamed to PATH: a failed backup never leaves a
half-written file where the last good one was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

LIVE_FILE_ENDS = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup that could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int
    reservations: int
    events: int


def backup(source: Path, target: Path) -> BackupResult:
    if not source.is_file():
        raise BackupError(f"no database at {source} (storage.path in the config)")
    target = target.expanduser()
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give the backup file's name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BackupError(f"cannot write {target}: no directory {folder}")
    # NOTE: renamed over the live -wal, the copy would hide the commits not yet
    # checkpointed; a crash of the service would then lose them.
    live = source.resolve()
    if target.resolve() in {live, *(Path(f"{live}{end}") for end in LIVE_FILE_ENDS)}:
        raise BackupError(
            f"{target} is one of the database's own files: give the backup another name"
        )
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise BackupError(f"cannot write in {folder}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        result = _copy(source, tmp)
        _sync(tmp)
        os.replace(tmp, target)
        _sync(folder)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from exc
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupResult(target, target.stat().st_size, *result)


def _copy(source: Path, tmp: Path) -> tuple[int, int, int]:
    # mode=rw: never create an empty database where the real one should be
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError("the copy fails integrity_check: " + "; ".join(problems[:5]))
            counts = [
                int(dst.execute(sql).fetchone()[0])
                for sql in (
                    "PRAGMA user_version",
                    "SELECT count(*) FROM reservation",
                    "SELECT count(*) FROM event",
                )
            ]
        finally:
            dst.close()
    finally:
        src.close()
    return counts[0], counts[1], counts[2]


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
