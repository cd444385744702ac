"""The staff mode on the kiosk page (issue 17, decision 28) in real Chromium against the
real service: the staff PIN (a wrong one refused, the idle time-out), the cabinet at a
glance, a door opened with a reason and followed until shut, service off and on, an
expired item taken back and a held one released, this kiosk's lockout lifted, an audit
with one mismatch then listed among the alarms, the temperatures; axe on each screen.
Its own box: compartments go out of service and audits are recorded here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from locker.pins import DEMO_STAFF_PIN
from tests.helpers import wait_for
from tests.kioskkit import SLOW, Box, snap, type_code, visible
from tests.procs import ServiceProcess

QUESTION = re.compile(r"^Porte (\w+) ouverte — vide ou occupé \?$")
INSIDE = ("deposited", "held", "expired")


@pytest.fixture(scope="module")
def staffbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    svc = ServiceProcess(tmp_path_factory.mktemp("staff")).start()
    yield Box(svc)
    svc.stop()


@pytest.fixture
def box(staffbox: Box) -> Box:
    """This module's box, with no lockout left by an earlier test."""
    for terminal in staffbox.admin.get("/api/v1/lockouts").json():
        r = staffbox.admin.delete(f"/api/v1/lockouts/{quote(terminal, safe='')}")
        assert r.status_code == 204, r.text
    return staffbox


def violations(page: Page, axe: Axe) -> list[tuple[str, str]]:
    return [(v["id"], v["impact"]) for v in axe.run(page).response["violations"]]


def comps(box: Box) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in box.admin.get("/api/v1/compartments").json()}


def a_free(box: Box) -> str:
    return next(cid for cid, c in comps(box).items() if c["status"] == "free" and c["in_service"])


def kiosk(box: Box) -> httpx.Client:
    """The kiosk's own token from the box itself: the same terminal as the page."""
    return box.svc.client("demo-kiosk")


def sign_in(page: Page, box: Box) -> None:
    page.goto(box.url)
    visible(page, "start")
    page.click("[data-action=staff]")
    expect(page.locator("#code-heading")).to_have_text("Code personnel")
    type_code(page, DEMO_STAFF_PIN)
    page.click("#keypad [data-key='ok']")
    visible(page, "staff")


def cell(page: Page, screen: str, cid: str) -> Any:
    return page.locator(f"#{screen} [data-door='{cid}']")


def test_sign_in_a_wrong_pin_and_sign_out(box: Box, page: Page, tmp_path: Path) -> None:
    axe = Axe()
    found: dict[str, list[tuple[str, str]]] = {}
    rid, cid, code = box.deliver()
    page.goto(box.url)
    visible(page, "start")
    found["start"] = violations(page, axe)
    page.click("[data-action=staff]")
    type_code(page, "12345678")
    page.click("#keypad [data-key='ok']")
    visible(page, "error")
    expect(page.locator("#error-heading")).to_have_text("Code personnel incorrect")
    page.click("#screen-error [data-action=home]")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.method + " " + r.url))
    page.click("[data-action=staff]")
    type_code(page, "1234")
    page.click("#keypad [data-key='ok']")
    expect(page.locator("#error-heading")).to_have_text("Code trop court", timeout=SLOW)
    assert not [s for s in sent if "/staff/session" in s]  # never sent
    page.click("#screen-error [data-action=home]")
    page.click("[data-action=staff]")
    type_code(page, DEMO_STAFF_PIN)
    expect(page.locator("#digits span")).to_have_text("•" * 8)  # never the digits
    found["pin"] = violations(page, axe)
    snap(page, tmp_path, "staff-sign-in")
    page.click("#keypad [data-key='ok']")
    visible(page, "staff")
    expect(cell(page, "staff-cabinet", cid)).to_contain_text("occupé", timeout=SLOW)
    expect(page.locator("#staff-alarms")).to_be_visible()
    found["cabinet"] = violations(page, axe)
    snap(page, tmp_path, "staff-cabinet")
    assert code not in page.content()  # staff never see a code
    kept = page.evaluate("localStorage.length + sessionStorage.length + document.cookie.length")
    assert kept == 0  # the staff token lives in memory only
    page.click("#aid-large")
    found["cabinet large"] = violations(page, axe)
    page.click("#aid-large")
    page.click("#lang")
    expect(page.locator("#staff-heading")).to_have_text("Staff")
    expect(cell(page, "staff-cabinet", cid)).to_contain_text("occupied")
    page.click("#lang")
    page.click("[data-action=staff-end]")
    visible(page, "start")
    wait_for(lambda: any(s.startswith("DELETE") and "/staff/session" in s for s in sent))
    assert found == {key: [] for key in found}
    assert box.reservation(rid)["state"] == "deposited"


def test_open_a_door_with_a_reason_and_follow_it(box: Box, page: Page, tmp_path: Path) -> None:
    axe = Axe()
    found: dict[str, list[tuple[str, str]]] = {}
    cid = a_free(box)
    sign_in(page, box)
    cell(page, "staff-cabinet", cid).click()
    visible(page, "staff-door")
    expect(page.locator("#sd-heading")).to_have_text(f"Casier {cid}")
    expect(page.locator("#sd-state")).to_contain_text("Libre")
    found["detail"] = violations(page, axe)
    page.click("[data-action=sd-open]")
    expect(page.locator("#sd-choice-label")).to_have_text("Pourquoi ouvrir ?")
    expect(page.locator("#sd-choices button")).to_have_text(
        ["Colis coincé", "Vérification", "Autre", "Annuler"]
    )
    found["open: why"] = violations(page, axe)
    page.click("#sd-choices [data-reason=stuck]")
    follow = page.locator("#sd-follow")
    expect(follow).to_have_text(f"La porte {cid} s'ouvre…", timeout=SLOW)
    box.move(cid, True)
    shown = f"Porte {cid} ouverte : refermez-la quand vous avez fini."
    expect(follow).to_have_text(shown, timeout=SLOW)
    expect(cell(page, "sd-cabinet", cid)).to_contain_text("porte ouverte")
    found["door open"] = violations(page, axe)
    snap(page, tmp_path, "staff-door")
    box.move(cid, False)
    expect(follow).to_have_text(f"Porte {cid} refermée.", timeout=SLOW)
    events = box.admin.get("/api/v1/events").json()
    opened = [e for e in events if e["type"] == "door.opened" and e.get("by") == "staff"]
    assert [(e["compartment"], e["note"]) for e in opened][-1] == (cid, "stuck")
    assert found == {key: [] for key in found}


def test_service_off_and_on(box: Box, page: Page) -> None:
    cid = a_free(box)
    sign_in(page, box)
    cell(page, "staff-cabinet", cid).click()
    expect(page.locator("#sd-service")).to_have_text("Mettre hors service…")
    page.click("#sd-service")
    expect(page.locator("#sd-choice-label")).to_have_text("Pourquoi hors service ?")
    page.click("#sd-choices [data-reason='damaged door']")
    expect(page.locator("#sd-follow")).to_have_text(f"Casier {cid} mis hors service.", timeout=SLOW)
    assert comps(box)[cid]["in_service"] is False
    assert comps(box)[cid]["service_reason"] == "damaged door"
    expect(cell(page, "sd-cabinet", cid)).to_contain_text("hors service")
    expect(page.locator("#sd-state")).to_contain_text("Hors service : porte abîmée.")
    page.click("#screen-staff-door [data-action=staff-back]")
    visible(page, "staff")
    alarm = page.locator("#staff-alarms li", has_text=f"{cid} hors service : porte abîmée")
    expect(alarm).to_have_count(1, timeout=SLOW)
    cell(page, "staff-cabinet", cid).click()
    expect(page.locator("#sd-service")).to_have_text("Remettre en service")
    page.click("#sd-service")
    expect(page.locator("#sd-follow")).to_have_text(f"Casier {cid} remis en service.", timeout=SLOW)
    assert comps(box)[cid]["in_service"] is True


def test_take_back_an_expired_item_and_release_a_held_one(box: Box, page: Page) -> None:
    rid, cid, _ = box.deliver(expires_s=4)
    wait_for(lambda: box.reservation(rid)["state"] == "expired", timeout=60, what="expired")
    held, cid2, code = box.deliver()
    with kiosk(box) as k:  # a resident opened it here and said it is not theirs
        assert k.post("/api/v1/kiosk/codes", json={"code": code}).status_code == 200
        report = {"compartment": cid2, "problem": "wrong_item"}
        assert k.post("/api/v1/kiosk/problems", json=report).status_code == 200
    box.cycle(cid2)
    wait_for(lambda: box.reservation(held)["state"] == "held", what="held")
    sign_in(page, box)
    expect(cell(page, "staff-cabinet", cid)).to_contain_text("expiré", timeout=SLOW)
    cell(page, "staff-cabinet", cid).click()
    expect(page.locator("#sd-release")).to_be_hidden()
    page.click("#sd-return")
    expect(page.locator("#sd-follow")).to_have_text(f"La porte {cid} s'ouvre…", timeout=SLOW)
    box.cycle(cid)
    expect(page.locator("#sd-follow")).to_have_text(f"Porte {cid} refermée.", timeout=SLOW)
    wait_for(lambda: box.reservation(rid)["state"] == "returned", what="returned")
    expect(cell(page, "sd-cabinet", cid)).to_contain_text("libre", timeout=SLOW)

    cell(page, "sd-cabinet", cid2).click()
    expect(page.locator("#sd-heading")).to_have_text(f"Casier {cid2}")
    expect(page.locator("#sd-state")).to_contain_text("signalé : un autre article")
    page.click("#sd-release")
    expect(page.locator("#sd-follow")).to_have_text(
        "Article libéré : ses codes fonctionnent à nouveau.", timeout=SLOW
    )
    assert box.reservation(held)["state"] == "deposited"
    assert code not in page.content()


def test_this_kiosks_lockout_lifted(box: Box, page: Page, tmp_path: Path) -> None:
    with kiosk(box) as k:
        for n in range(10):
            r = k.post("/api/v1/kiosk/codes", json={"code": f"{n:08d}"})
            if r.status_code == 429:
                break
        assert r.status_code == 429  # residents' codes wait now
        sign_in(page, box)  # staff still sign in at this kiosk
        lock = page.locator("#staff-lock")
        expect(lock).to_be_visible(timeout=SLOW)
        expect(page.locator("#staff-lock-text")).to_contain_text(
            "Ce kiosque est bloqué après trop de codes erronés (encore"
        )
        assert violations(page, Axe()) == []
        snap(page, tmp_path, "staff-lockout")
        page.click("[data-action=staff-unlock]")
        expect(lock).to_be_hidden(timeout=SLOW)
        expect(page.locator("#staff-note")).to_have_text(
            "Kiosque débloqué : les résidents peuvent de nouveau taper leur code."
        )
        r = k.post("/api/v1/kiosk/codes", json={"code": "12121212"})
        assert r.status_code == 404  # a wrong code again, no longer locked out


def test_an_audit_with_one_mismatch(box: Box, page: Page, tmp_path: Path) -> None:
    axe = Axe()
    found: dict[str, list[tuple[str, str]]] = {}
    rid, target, _ = box.deliver()
    inside = {
        cid
        for cid, c in comps(box).items()
        if c["reservation_id"] and box.reservation(c["reservation_id"])["state"] in INSIDE
    }
    assert target in inside
    sign_in(page, box)
    page.click("[data-action=staff-audit]")
    visible(page, "staff-audit")
    question = page.locator("#au-question")
    seen: list[str] = []
    while len(seen) < len(comps(box)):
        expect(question).to_have_text(QUESTION, timeout=SLOW)
        match = QUESTION.match(question.inner_text())
        assert match
        door = match.group(1)
        assert door not in seen
        seen.append(door)
        expect(page.locator("#au-heading")).to_have_text(
            f"Audit de la consigne ({len(seen)}/{len(comps(box))})"
        )
        if len(seen) == 1:
            found["question"] = violations(page, axe)
            snap(page, tmp_path, "staff-audit")
        box.move(door, True)  # staff pull it open and look inside
        expect(cell(page, "au-cabinet", door)).to_contain_text("porte ouverte", timeout=SLOW)
        if door == target:
            page.click("#au-empty")  # an item the locker expects is not there
            mismatch = page.locator("#au-mismatch")
            expect(mismatch).to_have_text(
                f"Écart au casier {door} : trouvé vide, la consigne attendait occupé.",
                timeout=SLOW,
            )
            expect(question).to_have_text(
                f"Refermez la porte {door} : la suivante s'ouvrira ensuite."
            )
            found["mismatch"] = violations(page, axe)
            snap(page, tmp_path, "staff-audit-mismatch")
        else:
            page.click("#au-occupied" if door in inside else "#au-empty")
            expect(question).to_have_text(
                f"Refermez la porte {door} : la suivante s'ouvrira ensuite.", timeout=SLOW
            )
        box.move(door, False)  # shut: the next one opens
    expect(page.locator("#au-heading")).to_have_text("Audit terminé", timeout=SLOW)
    expect(question).to_have_text(f"{len(seen)} casiers vérifiés, 1 écart(s).")
    expect(page.locator("#au-list li")).to_have_text([f"{target} : trouvé vide, attendu occupé"])
    found["summary"] = violations(page, axe)
    snap(page, tmp_path, "staff-audit-summary")
    page.click("#au-back")
    visible(page, "staff")
    alarm = page.locator(
        "#staff-alarms li", has_text=f"{target} écart d'audit : trouvé vide, attendu occupé"
    )
    expect(alarm).to_have_count(1, timeout=SLOW)
    events = box.admin.get("/api/v1/events").json()
    audited = [e["compartment"] for e in events if e["type"] == "compartment.audited"]
    assert sorted(audited[-len(seen) :]) == sorted(seen)
    # the item missing is held (its codes open nothing) and its compartment set aside
    assert box.reservation(rid)["state"] == "held"
    assert not comps(box)[target]["in_service"]
    released = box.admin.post(f"/api/v1/reservations/{rid}/release")  # found after all
    assert released.status_code == 200 and released.json()["state"] == "deposited"
    assert comps(box)[target]["in_service"]
    assert found == {key: [] for key in found}


def test_the_temperatures_and_their_chart(box: Box, page: Page, tmp_path: Path) -> None:
    sign_in(page, box)
    page.click("[data-action=staff-temps]")
    visible(page, "staff-temps")
    expect(page.locator("#temps figcaption")).to_contain_text("Zone Z1 (casiers B2, B3) :")
    chart = page.locator("#temps img[data-zone=Z1]")
    expect(chart).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"), timeout=SLOW)
    wait_for(lambda: chart.evaluate("img => img.complete && img.naturalWidth > 0"))
    assert violations(page, Axe()) == []
    snap(page, tmp_path, "staff-temperatures")
    page.click("#screen-staff-temps [data-action=staff-back]")
    visible(page, "staff")


def test_the_staff_screens_end_after_the_idle_time(tmp_path: Path, browser: Browser) -> None:
    svc = ServiceProcess(tmp_path / "idle", extra_env={"LOCKER_KIOSK__STAFF_IDLE_S": "3"}).start()
    context = browser.new_context(viewport={"width": 800, "height": 480}, locale="fr-FR")
    try:
        page = context.new_page()
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.method + " " + r.url))
        sign_in(page, Box(svc))
        visible(page, "start")  # nobody touched the screen: back to the start
        wait_for(lambda: any(s.startswith("DELETE") and "/staff/session" in s for s in sent))
        expect(page.locator("#screen-staff")).to_be_hidden()
    finally:
        context.close()
        svc.stop()
