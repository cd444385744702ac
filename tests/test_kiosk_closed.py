"""The kiosk while the host site is closed, in real Chromium against the real service on
a simulated clock (LOCKER_SIM_CLOCK): the closed screen in place of the code entry
(``closed_blocks_pickups``), the notice beside it otherwise, and the page following the
site as it opens and closes (the server's closures over a real Mosquitto)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from locker.clock import SIM_CLOCK_ENV
from tests.broker import Broker
from tests.helpers import EXAMPLE, wait_for
from tests.kioskkit import SLOW, Box, count_posts, snap, type_code, visible
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.test_kiosk_access import said, violations

SATURDAY_EVENING = "2027-03-13T19:00:00+01:00"  # weekly hours Mon-Fri: back on Monday 9:00
MONDAY_MORNING = "2027-03-15T10:00:00+01:00"  # open
WEEK = '{mon = ["09:00-12:00", "14:00-18:00"], tue = ["09:00-12:00", "14:00-18:00"], ' + (
    'wed = ["09:00-12:00"], thu = ["09:00-12:00", "14:00-18:00"], fri = ["09:00-18:00"]}'
)
CLOSED_FR = "Fermé — réouverture lundi à 9 h 00"
CLOSED_EN = "Closed — reopens Monday at 9:00"


def config_with_hours(folder: Path, blocks: bool) -> Path:
    """The example cabinet with weekly hours (Monday to Friday)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^weekly = "always"$', f"weekly = {WEEK}", text)
    text, m = re.subn(
        r"(?m)^closed_blocks_pickups = false",
        f"closed_blocks_pickups = {'true' if blocks else 'false'}",
        text,
    )
    assert n == m == 1, "the example config's [hours] changed: update this test"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "locker.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start(folder: Path, blocks: bool, at: str, mqtt_port: int | None = None) -> ServiceProcess:
    svc = ServiceProcess(
        folder,
        config=config_with_hours(folder, blocks),
        extra_env={SIM_CLOCK_ENV: at},
        mqtt_port=mqtt_port,
    )
    return svc.start()


def days_ahead(at: str, days: float) -> float:
    """``expires_s`` for Box.book, which counts from the real time: ``days`` after ``at``."""
    return (datetime.fromisoformat(at) - datetime.now(UTC)).total_seconds() + days * 86_400


@pytest.fixture(scope="module")
def closed_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    svc = start(tmp_path_factory.mktemp("closed"), blocks=True, at=SATURDAY_EVENING)
    yield Box(svc)
    svc.stop()


@pytest.fixture(scope="module")
def notice_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    svc = start(tmp_path_factory.mktemp("notice"), blocks=False, at=SATURDAY_EVENING)
    yield Box(svc)
    svc.stop()


def healthz(box: Box) -> dict[str, Any]:
    body: dict[str, Any] = box.hand.get("/healthz").json()
    return body


def scan(page: Page, text: str) -> None:
    """A USB scanner's keys, all in one go (Playwright's typing may be slower than a
    scanner on a loaded machine, and the page would take it for a person's)."""
    page.evaluate(
        """(text) => {
          for (const key of [...text, "Enter"]) {
            document.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
          }
        }""",
        text,
    )


def on_screen(page: Page) -> list[str]:
    """The start screen's buttons that are not wholly inside the main area (above the aids)."""
    out: list[str] = page.evaluate(
        """() => {
          const main = document.querySelector("main").getBoundingClientRect();
          const aids = document.querySelector("nav.aids").getBoundingClientRect();
          return [...document.querySelectorAll("#screen-start button")]
            .filter((b) => b.offsetParent !== null)
            .filter((b) => {
              const r = b.getBoundingClientRect();
              return r.top < main.top || r.bottom > Math.min(main.bottom, aids.top) + 0.5;
            })
            .map((b) => b.dataset.action);
        }"""
    )
    return out


def test_the_closed_screen_replaces_the_code_entry(
    closed_box: Box, page: Page, tmp_path: Path
) -> None:
    box = closed_box
    health = healthz(box)
    assert health["open"] is False and health["clock_trusted"] is True
    assert health["closed_until"] == "2027-03-15T09:00:00+01:00"
    posts = count_posts(page, "/kiosk/codes")
    page.goto(box.url)
    visible(page, "start")
    expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=SLOW)
    region = page.locator("#site")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region.locator(".closed-main")).to_have_text(CLOSED_FR)
    expect(region.locator(".closed-main")).to_have_attribute("lang", "fr")
    expect(region.locator(".closed-other")).to_have_text(CLOSED_EN)
    expect(region.locator(".closed-other")).to_have_attribute("lang", "en")
    expect(page.locator("[data-action=collect]")).to_be_hidden()
    expect(page.locator("[data-action=dropoff]")).to_be_hidden()
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#site .closed-main')).fontSize)"
    )
    assert size >= 34  # large text, as the screen's headings
    assert on_screen(page) == []  # the courier's button among them
    snap(page, tmp_path, "kiosk-closed")
    axe = Axe()
    found = {"closed": violations(page, axe)}
    # digits typed on a physical keypad open no code entry
    page.keyboard.type("12345678", delay=120)
    page.wait_for_timeout(400)
    visible(page, "start")
    assert posts == []
    # in English, French second
    page.click("#lang")
    expect(region.locator(".closed-main")).to_have_text(CLOSED_EN)
    expect(region.locator(".closed-other")).to_have_text(CLOSED_FR)
    page.click("#lang")
    page.click("#aid-large")
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge\b"))
    assert on_screen(page) == []
    found["closed, large"] = violations(page, axe)
    page.click("#aid-large")
    # the courier's entry point stays: couriers always work
    page.click("[data-action=courier]")
    visible(page, "code")
    expect(page.locator("#code-heading")).to_have_text("Code livreur")
    type_code(page, "2468")
    page.click("#keypad [data-key=ok]")
    visible(page, "courier")
    page.click("[data-action=courier-done]")
    visible(page, "start")
    expect(region.locator(".closed-main")).to_have_text(CLOSED_FR)
    assert found == {"closed": [], "closed, large": []}


def test_a_code_scanned_while_closed_shows_the_reopening(closed_box: Box, page: Page) -> None:
    box = closed_box
    _, cid, code = box.deliver(expires_s=days_ahead(SATURDAY_EVENING, 3))  # couriers work
    before = box.pulses(cid)
    page.goto(box.url)
    visible(page, "start")
    expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=SLOW)
    scan(page, f"LKR1:demo:{code}")  # the service answers 423
    visible(page, "error")
    expect(page.locator("#error-heading")).to_have_text("Site fermé")
    expect(page.locator("#error-text")).to_have_text(
        f"{CLOSED_FR}. Votre code n'a pas servi : réessayez à l'ouverture du site."
    )
    assert violations(page, Axe()) == []
    assert box.pulses(cid) == before
    assert box.admin.get("/api/v1/lockouts").json() == {}  # nothing counted
    page.click("#screen-error [data-action=home]")
    visible(page, "start")
    expect(page.locator("#site .closed-main")).to_have_text(CLOSED_FR)


def test_the_closed_screen_is_said_without_a_code(closed_box: Box, page: Page) -> None:
    page.goto(closed_box.url)
    visible(page, "start")
    page.click("#aid-speak")
    phrase = said(page, "closed")
    assert phrase["voice"] == "fr"
    assert phrase["text"].startswith(
        "Consigne fermée : le site est fermé. Réouverture lundi à 9 heures."
    )
    assert not re.search(r"[0-9]{4}", phrase["text"])


def test_the_notice_when_the_locker_stays_open(notice_box: Box, page: Page, tmp_path: Path) -> None:
    box = notice_box
    _, cid, code = box.deliver(expires_s=days_ahead(SATURDAY_EVENING, 3))
    before = box.pulses(cid)
    page.goto(box.url)
    visible(page, "start")
    expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=SLOW)
    note = page.locator("#site .site-note")
    expect(note).to_have_text(
        "Le site est fermé — la consigne reste accessible. Réouverture lundi à 9 h 00."
    )
    expect(page.locator("[data-action=collect]")).to_be_visible()
    assert on_screen(page) == []  # the notice pushes nothing out
    axe = Axe()
    found = {"notice": violations(page, axe)}
    snap(page, tmp_path, "kiosk-closed-notice")
    page.click("#lang")
    expect(note).to_have_text(
        "The site is closed — the locker is still open to you. Reopens Monday at 9:00."
    )
    page.click("#aid-large")
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge\b"))
    assert on_screen(page) == []
    found["notice, large"] = violations(page, axe)
    page.click("#aid-large")
    page.click("#lang")
    assert found == {"notice": [], "notice, large": []}
    page.click("[data-action=collect]")
    visible(page, "code")
    type_code(page, code)
    visible(page, "door")
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    wait_for(lambda: box.pulses(cid) == before + 1, what="the relay pulse")
    box.cycle(cid)
    visible(page, "thanks")


def test_the_reopening_in_words(notice_box: Box, page: Page) -> None:
    page.goto(notice_box.url)
    visible(page, "start")
    words = page.evaluate(
        """async () => {
          const { reopening } = await import("/kiosk/site.js");
          const at = (until, today, lang) => {
            const r = reopening(until, today, lang);
            return r ? `${r.when} | ${r.time}` : null;
          };
          return [
            at("2027-03-15T14:30:00+01:00", "2027-03-15", "fr"),
            at("2027-03-15T14:30:00+01:00", "2027-03-15", "en"),
            at("2027-03-16T09:00:00+01:00", "2027-03-15", "fr"),
            at("2027-03-16T09:00:00+01:00", "2027-03-15", "en"),
            at("2027-03-20T08:05:00+01:00", "2027-03-15", "fr"),
            at("2027-04-01T09:00:00+02:00", "2027-03-13", "fr"),
            at("2027-04-01T09:00:00+02:00", "2027-03-13", "en"),
            at("2027-03-28T03:00:00+02:00", "2027-03-27", "fr"),
            at(null, "2027-03-15", "fr"),
          ];
        }"""
    )
    assert [w.replace("\u00a0", " ") if w else w for w in words] == [
        "aujourd'hui | 14 h 30",
        "today | 14:30",
        "demain | 9 h 00",
        "tomorrow | 9:00",
        "samedi | 8 h 05",
        "le jeudi 1er avril | 9 h 00",
        "on Thursday 1 April | 9:00",
        "demain | 3 h 00",  # the night clocks go forward: the site's own wall time
        None,
    ]
    assert "9\u00a0h\u00a000" in words[2]  # the time is never cut across two lines


def test_the_page_follows_the_site_as_it_closes_and_opens(tmp_path: Path, page: Page) -> None:
    broker = Broker(tmp_path / "broker").start()
    svc: ServiceProcess | None = None
    server: Server | None = None
    try:
        server = Server(broker.port)
        svc = start(tmp_path / "svc", blocks=True, at=MONDAY_MORNING, mqtt_port=broker.port)
        box = Box(svc)
        wait_for(lambda: healthz(box)["mqtt"].get("connected"), timeout=30, what="the broker")
        page.goto(box.url)
        visible(page, "start")
        expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=SLOW)
        expect(page.locator("[data-action=collect]")).to_be_visible()
        expect(page.locator("#site")).to_be_empty()
        page.click("[data-action=collect]")  # someone is typing a code as the site closes
        visible(page, "code")
        closure = {
            "type": "set_closure",
            "request_id": "q-1",
            "from": "2027-03-15T09:30:00+01:00",
            "to": "2027-03-16T14:00:00+01:00",
            "reason": "fermeture de la mairie",
        }
        server.send("commands", closure)
        server.wait_event("command.done", request_id="q-1", timeout=30)
        visible(page, "start")  # no reload: the live stream said so
        expect(page.locator("#site .closed-main")).to_have_text(
            "Fermé — réouverture demain à 14 h 00", timeout=SLOW
        )
        expect(page.locator("[data-action=collect]")).to_be_hidden()
        clear = {"type": "clear_closure", "request_id": "q-2", "from": closure["from"]}
        server.send("commands", clear)
        server.wait_event("command.done", request_id="q-2", timeout=30)
        expect(page.locator("[data-action=collect]")).to_be_visible(timeout=SLOW)
        expect(page.locator("#site")).to_be_empty()
    finally:
        if server is not None:
            server.close()
        if svc is not None:
            svc.stop()
        broker.stop()
