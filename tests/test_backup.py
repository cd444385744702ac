"""``locker backup PATH`` while the real service writes, and its errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from tests.helpers import EXAMPLE, ROOT
from tests.procs import ServiceProcess


def run_backup(target: Path | str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCKER_STORAGE__PATH": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "locker.cli", "backup", str(target), "--config", str(EXAMPLE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def booking(i: int) -> dict[str, object]:
    return {
        "reservation_id": f"R-{i}",
        "version": 1,
        "kind": "delivery",
        "size": "S",
        "reference": f"COLIS-{i}",
        "expires_at": "2030-12-01T18:00:00+01:00",
    }


def test_backup_while_the_service_writes(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:  # book and cancel without pause: the WAL keeps growing
        with svc.client("demo-admin") as admin:
            i = 0
            while not stop.is_set() and i < 5000:
                i += 1
                if admin.post("/api/v1/reservations", json=booking(i)).status_code == 200:
                    admin.delete(f"/api/v1/reservations/R-{i}")
                written.append(i)

    writer = threading.Thread(target=write)
    writer.start()
    copies = []
    try:
        for n in range(3):
            while len(written) < 20 * (n + 1):
                stop.wait(0.05)
            before = len(written)
            target = tmp_path / "backups" / f"copy-{n}.db"
            target.parent.mkdir(exist_ok=True)
            done = run_backup(target, tmp_path / "locker.db")
            assert done.returncode == 0, done.stderr
            copies.append((target, before, len(written), done.stdout))
    finally:
        stop.set()
        writer.join(60)
        svc.stop()
    assert any(after > before for _, before, after, _ in copies)  # writes went on meanwhile
    for target, before, _, out in copies:
        assert f"backup written: {target}" in out and "integrity ok" in out
        assert "key that seals the codes" in out and "NOT in this backup" in out
        assert (tmp_path / "locker.key").read_text().strip() not in out
        assert not Path(f"{target}-wal").exists()  # one self-contained file
        assert target.stat().st_mode & 0o777 == 0o600
        with sqlite3.connect(target) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            reservations = db.execute("SELECT count(*) FROM reservation").fetchone()[0]
            seqs = [row[0] for row in db.execute("SELECT seq FROM event ORDER BY seq")]
        assert reservations >= before  # everything answered before the backup started
        assert seqs == list(range(1, len(seqs) + 1))  # one consistent state, no gap
    assert len(list((tmp_path / "backups").iterdir())) == 3  # no temporary file left


def test_backup_errors_are_clear_and_leave_the_last_backup(tmp_path: Path) -> None:
    missing = run_backup(tmp_path / "b.db", tmp_path / "none" / "locker.db")
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert not (tmp_path / "none").exists()  # no empty database made on the way

    db = tmp_path / "locker.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE reservation (id TEXT)")
        conn.execute("CREATE TABLE event (seq INTEGER)")
    good = tmp_path / "good.db"
    assert run_backup(good, db).returncode == 0
    kept = good.read_bytes()

    nowhere = run_backup(tmp_path / "no" / "dir" / "b.db", db)
    assert nowhere.returncode == 1 and "no directory" in nowhere.stderr
    unwritable = run_backup("/proc/locker-backup.db", db)
    assert unwritable.returncode == 1 and "cannot write in /proc" in unwritable.stderr
    folder = run_backup(tmp_path, db)
    assert folder.returncode == 1 and "is a directory" in folder.stderr

    db.write_bytes(b"not a database at all, " * 100)
    broken = run_backup(good, db)
    assert broken.returncode == 1 and "backup failed" in broken.stderr
    assert good.read_bytes() == kept  # the last good backup is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.db", "locker.db"]


def test_the_backup_never_replaces_a_file_of_the_live_database(tmp_path: Path) -> None:
    db = tmp_path / "locker.db"
    live = sqlite3.connect(db)  # the service: WAL mode, its last commits not checkpointed
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("PRAGMA wal_autocheckpoint=0")
    with live:
        live.execute("CREATE TABLE reservation (id TEXT)")
        live.execute("CREATE TABLE event (seq INTEGER)")
        live.executemany("INSERT INTO event VALUES (?)", [(i,) for i in range(1, 51)])
    try:
        for suffix in ("-wal", "-shm", "-journal"):
            done = run_backup(f"{db}{suffix}", db)
            assert done.returncode == 1 and "the database's own files" in done.stderr, suffix
        with sqlite3.connect(db) as reader:
            assert reader.execute("SELECT count(*) FROM event").fetchone() == (50,)
    finally:
        live.close()
