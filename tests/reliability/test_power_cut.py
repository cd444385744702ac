"""Power cuts (issue 20): the real ``locker serve`` keeps its database, key and backups
on the power-cut filesystem (cutfs.py), under the crash test's random REST and MQTT
load, with ``locker backup`` run now and then; at random moments, first start-up
included, the power goes: the service is SIGKILLed and what was not made durable is
lost, all of it or a random part (torn, reordered pages; a journal cut short). After
each cut the disk as it is must hold the crash test's invariants (crashcheck.py), the
key on it must open every sealed code, and the last backup reported written must be
there, whole. Then the service starts again on it: spent codes refused, kept ones
opening their door. At the end the outbox drains to the subscriber, in order.

Unlike a SIGKILL, which leaves the page cache to the kernel, this loses exactly what a
Pi loses: the writes nobody synced, and the names whose directory nobody synced."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from locker.secrets import Sealer
from tests.broker import Broker
from tests.helpers import EXAMPLE, ROOT, wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.reliability import cutmount
from tests.reliability.crashcheck import check
from tests.reliability.scale import sized
from tests.reliability.test_crash import (
    FAST,
    Driver,
    _backlog,
    _event_ids,
    _known,
    kill_during_startup,
)

CUTS = int(os.environ.get("LOCKER_POWER_CUTS", sized(100)))
STARTUP_EVERY = 10  # every tenth cut lands during start-up (the first one too)
BACKUP_EVERY = 4  # a `locker backup` during one run in four
LOCKER_ID = "demo"  # the example config's


def _sealed_codes(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT pickup_sealed, deposit_sealed, delegate_sealed FROM reservation"
        ).fetchall()
        events = conn.execute("SELECT sealed_secrets FROM event WHERE sealed_secrets IS NOT NULL")
        return [s for row in rows for s in row if s] + [sealed for (sealed,) in events]


def _on_the_disk(disk: Path, into: Path) -> Path:
    """A copy of what survived (SQLite recovers a copy, not the disk the next start reads)."""
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(disk, into)
    return into


def _check_key(copy: Path) -> int:
    """Every sealed code on the disk opens with the key on the disk; answer how many."""
    db = copy / "var" / "lib" / "locker.db"
    sealed = _sealed_codes(db) if db.exists() else []
    if not sealed:
        return 0
    key = (copy / "etc" / "locker.key").read_text(encoding="utf-8").strip()
    assert key, "the key file is empty while sealed codes are on the disk"
    sealer = Sealer(key.encode(), LOCKER_ID)
    for code in sealed:
        sealer.unseal(code)  # raises on a code sealed by a key that was lost
    return len(sealed)


class Backups:
    """``locker backup`` as cron would run it, to one name (each backup replaces the one
    before), in the background while the load runs: a cut may land in the middle. Once
    one was reported written, the name must always hold a whole backup, old or new."""

    NAME = "backup.db"

    def __init__(self, env: dict[str, str], point: Path) -> None:
        self.env, self.point = env, point
        self.written = 0  # reported written
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        argv = [sys.executable, "-m", "locker.cli", "backup", str(self.point / self.NAME)]
        done = subprocess.run(
            [*argv, "--config", str(EXAMPLE)], cwd=ROOT, env=self.env, capture_output=True
        )
        if done.returncode == 0:
            self.written += 1

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(timeout=60)
            assert not self.thread.is_alive(), "locker backup hung"
            self.thread = None

    def check(self, copy: Path) -> None:
        if not self.written:
            return
        path = copy / self.NAME
        assert path.exists(), "the backup reported written was lost in a cut"
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT count(*) FROM event").fetchone()[0] > 0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.mark.timeout(sized(1500))
def test_power_cuts(tmp_path: Path, broker: Broker) -> None:
    if why := cutmount.unavailable():
        pytest.skip(why)
    rng = random.Random(int(os.environ.get("LOCKER_CUT_SEED", "20261206")))
    disk, point = tmp_path / "disk", tmp_path / "mnt"
    mount = cutmount.Mount(disk, point)
    # in folders of their own, made by the service at its first start
    data = {"LOCKER_STORAGE__PATH": str(point / "var" / "lib" / "locker.db")}
    data["LOCKER_SECURITY__KEY_FILE"] = str(point / "etc" / "locker.key")
    svc = ServiceProcess(tmp_path / "run", extra_env={**FAST, **data}, mqtt_port=broker.port)
    backups = Backups(svc.env, point)
    server = Server(broker.port)
    driver = Driver(svc, server, rng, point / "var" / "lib" / "locker.db")
    figures: dict[str, Any] = {"cuts": 0, "torn": 0, "mid_commit": 0, "sealed_checked": 0}
    figures |= {"start_up_aimed": 0, "start_up_hit": 0, "backups_in_flight": 0}
    lost: Counter[str] = Counter()  # dirty pages lost by kind of file, and names

    def power_goes(torn: bool) -> None:
        """The service dies with the power; what nobody synced is lost (all, or torn)."""
        svc.stop(signal.SIGKILL)
        lost.update(mount.cut(rng.randrange(1 << 30) if torn else None))

    def mid_commit(torn: bool) -> bool:
        """The power goes as the service syncs its WAL: the commit under way is lost,
        torn or whole; answer whether that happened (else: a plain cut)."""
        mount.trap(".db-wal", rng.randrange(1 << 30) if torn else None)
        deadline = time.monotonic() + 10
        while not mount.sprung() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not mount.sprung():
            power_goes(torn)
            return False
        svc.stop(signal.SIGKILL)
        lost.update(mount.lost())
        mount.stop()
        return True

    started, startup_s = time.monotonic(), 1.0
    try:
        for i in range(CUTS):
            mount.start()
            torn = rng.random() < 0.5
            if i % STARTUP_EVERY == 0:  # the first start-up, on an empty disk, too
                figures["start_up_aimed"] += 1
                driver.killing.set()
                figures["start_up_hit"] += kill_during_startup(svc, rng, startup_s)
                lost.update(mount.cut(rng.randrange(1 << 30) if torn else None))
            else:
                t0 = time.monotonic()
                svc.start()
                startup_s = time.monotonic() - t0
                driver.replay()
                driver.start()
                if i % BACKUP_EVERY == 1:
                    backups.start()
                    figures["backups_in_flight"] += 1
                time.sleep(rng.uniform(0.02, 0.6))
                driver.killing.set()
                if i % 3 == 2:
                    figures["mid_commit"] += mid_commit(torn)
                else:
                    power_goes(torn)
                driver.stopped()
                backups.join()
            figures["cuts"] += 1
            figures["torn"] += torn
            copy = _on_the_disk(disk, tmp_path / "copy")
            if (copy / "var" / "lib" / "locker.db").exists():
                check(copy / "var" / "lib" / "locker.db", driver.acked)
            else:
                assert not driver.acked.upserts, "the database vanished with acknowledged work"
            figures["sealed_checked"] += _check_key(copy)
            backups.check(copy)
        assert figures["start_up_hit"] >= figures["start_up_aimed"] // 2, figures
        assert lost[".db-wal"] > 0 and figures["mid_commit"] > 0, (figures, lost)
        mount.start()
        svc.start()
        driver.replay(every=True)
        db = point / "var" / "lib" / "locker.db"
        wait_for(lambda: all(_known(db, rid) for rid in driver.mqtt_sent), timeout=60)
        wait_for(lambda: _backlog(db) == 0, timeout=120, what="outbox drained")
        svc.stop()
        check(db, driver.acked)
        in_db = _event_ids(db)
        wait_for(lambda: len(server.unique()) >= len(in_db), timeout=60, what="all received")
        assert [e["event_id"] for e in server.unique()] == in_db
    finally:
        svc.stop(signal.SIGKILL)
        mount.stop()
        server.close()
    report = {
        **figures,
        "backups_written": backups.written,
        "lost_at_the_cuts": dict(lost),
        "operations": driver.ops,
        "acknowledged": driver.acknowledged(),
        "spent_codes_replayed_and_refused": driver.replayed,
        "codes_kept_across_a_cut_opened": driver.kept_opened,
        "events": len(in_db),
        "received_by_subscriber": len(server.unique()),
        "seconds": round(time.monotonic() - started, 1),
    }
    print("POWER CUT REPORT " + json.dumps(report))
