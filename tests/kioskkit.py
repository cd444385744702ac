"""What the Chromium tests of the kiosk share: Debian's Chromium, the service seen from
outside (staff, courier and a hand at the doors over HTTP), a page, screenshots.

Screenshots of each main screen go to the test's tmp dir; with
KIOSK_SCREENSHOTS=docs/screenshots they are also written there (the README
shows those).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers import ROOT, wait_for
from tests.procs import ServiceProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # a kiosk plays its tones and phrases without a click first (README, "The kiosk screen")
    "--autoplay-policy=no-user-gesture-required",
]
SLOW = 20_000  # ms: generous deadlines for a loaded 2-core machine


class Box:
    """The service seen from outside: staff, courier and a hand at the doors, over HTTP."""

    def __init__(self, svc: ServiceProcess) -> None:
        self.svc = svc
        self.url = svc.url + "/"
        self.admin = svc.client("demo-admin")
        self.courier = svc.client("demo-courier")
        self.hand = svc.client()
        self.count = 0

    def book(
        self, kind: str = "delivery", size: str = "S", expires_s: float = 86_400, **extra: Any
    ) -> str:
        self.count += 1
        rid = f"K-{self.count}-{time.monotonic_ns()}"
        body = {
            **extra,
            "reservation_id": rid,
            "version": 1,
            "kind": kind,
            "size": size,
            "reference": f"COLIS-{rid}",
            "expires_at": (datetime.now(UTC) + timedelta(seconds=expires_s)).isoformat(),
        }
        r = self.admin.post("/api/v1/reservations", json=body)
        assert r.status_code == 200, r.text
        return rid

    def reservation(self, rid: str) -> dict[str, Any]:
        body: dict[str, Any] = self.admin.get(f"/api/v1/reservations/{rid}").json()
        return body

    def deliver(self, expires_s: float = 86_400, **extra: Any) -> tuple[str, str, str]:
        """A parcel in its compartment: answers (reservation id, compartment, pickup code)."""
        rid = self.book(expires_s=expires_s, **extra)
        cid = self.courier.post("/api/v1/deposits", json={"reservation_id": rid}).json()
        cid = cid["compartment"]
        self.cycle(cid)
        wait_for(lambda: self.reservation(rid)["state"] == "deposited", what="deposited")
        return rid, cid, str(self.reservation(rid)["pickup_code"])

    def door_open(self, cid: str) -> bool:
        comps = self.admin.get("/api/v1/compartments").json()
        return bool(next(c["door_open"] for c in comps if c["id"] == cid))

    def move(self, cid: str, open_: bool) -> None:
        self.hand.post(f"/api/v1/sim/doors/{cid}/{'open' if open_ else 'close'}")
        wait_for(lambda: self.door_open(cid) == open_, what=f"door {cid} open={open_}")

    def cycle(self, cid: str) -> None:
        self.move(cid, True)
        self.move(cid, False)

    def pulses(self, cid: str) -> int:
        doors = self.hand.get("/api/v1/sim/doors").json()
        return int(next(d["relay_pulses"] for d in doors if d["id"] == cid))


def snap(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"))
    target = os.environ.get("KIOSK_SCREENSHOTS")
    if target:
        folder = ROOT / target
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def type_code(page: Page, code: str, by_click: bool = True) -> None:
    for digit in code:
        if by_click:
            page.click(f"#keypad [data-key='{digit}']")
        else:
            page.keyboard.press(digit)


def visible(page: Page, screen: str) -> None:
    expect(page.locator(f"#screen-{screen}")).to_be_visible(timeout=SLOW)


def count_posts(page: Page, path: str) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith(path) else None)
    return sent
