"""The kiosk for everyone, in real Chromium: speech, the unlock tone and the door's light,
more time, large type, two codes at once, the person's other items, a carer's code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from locker.domain.model import CompartmentSpec, Size
from locker.speech.phrases import place
from tests.helpers import ROOT, wait_for
from tests.kioskkit import SLOW, Box, snap, type_code, visible
from tests.procs import ServiceProcess

pytestmark = pytest.mark.usefixtures("no_lockout")


def sounds(page: Page) -> list[dict[str, Any]]:
    played: list[dict[str, Any]] = page.evaluate("window.kioskSounds")
    return played


def said(
    page: Page, phrase: str, ended: bool = False, timeout_s: float = SLOW / 1000
) -> dict[str, Any]:
    """Wait until the page has started (and, with ``ended``, finished) playing ``phrase``."""

    def find() -> dict[str, Any] | None:
        for s in reversed(sounds(page)):
            if s["kind"] == "speech" and s["name"] == phrase and (s["ended"] or not ended):
                found: dict[str, Any] = s
                return found
        return None

    return wait_for(find, timeout=timeout_s, what=f"the phrase {phrase}")


def violations(page: Page, axe: Axe) -> list[tuple[str, str]]:
    return [(v["id"], v["impact"]) for v in axe.run(page).response["violations"]]


def test_speech_says_each_screen_in_french_and_never_the_code(box: Box, page: Page) -> None:
    _, cid, code = box.deliver()
    page.goto(box.url)
    visible(page, "start")
    expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=SLOW)
    assert sounds(page) == []  # silent until asked
    page.keyboard.press("*")  # the speech key of a physical keypad
    expect(page.locator("#aid-speak")).to_have_attribute("aria-pressed", "true")
    start = said(page, "start")
    assert start["voice"] == "fr" and start["text"].startswith("Consigne de la conciergerie.")
    page.click("[data-action=collect]")
    said(page, "code_collect")
    type_code(page, code)
    visible(page, "door")
    door = said(page, "door_pickup", ended=True)  # played to its end
    comp = next(c for c in box.admin.get("/api/v1/compartments").json() if c["id"] == cid)
    where = place(
        CompartmentSpec(cid, Size(comp["size"]), column=comp["column"], row=comp["row"]), "fr"
    )
    assert (
        door["text"]
        == f"Porte {cid} ouverte : {where}. Prenez votre article, puis refermez la porte."
    )
    played = sounds(page)
    keys = [s for s in played if s["kind"] == "tone" and s["name"] == "key"]
    assert len(keys) == 8  # a tick for every digit, which is never said
    unlock = next(s for s in played if s["name"] == "unlock")
    assert unlock["ended"] and door["at"] >= unlock["endedAt"]  # the tone to its end, then speech
    assert not any(s.get("blocked") for s in played)  # the kiosk's autoplay policy
    box.cycle(cid)
    said(page, "thanks_collect", ended=True)
    texts = [s.get("text", "") for s in sounds(page)]
    assert texts and not any(code in text or re.search(r"[0-9]{4}", text) for text in texts)


def test_speech_in_english_and_off_again_at_the_start(box: Box, page: Page) -> None:
    page.goto(box.url)
    visible(page, "start")
    page.click("#lang")
    page.click("#aid-speak")
    start = said(page, "start")
    assert start["voice"] == "en" and start["text"].startswith("Conciergerie parcel locker.")
    page.click("[data-action=collect]")
    type_code(page, "13572468")
    wrong = said(page, "err_unknown")
    assert wrong["text"] == "Unknown code. Check the eight digits and try again."
    page.click("#screen-error [data-action=home]")
    visible(page, "start")
    expect(page.locator("#aid-speak")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    heard = len(sounds(page))
    page.click("[data-action=collect]")
    page.wait_for_timeout(500)
    assert len(sounds(page)) == heard  # off: the next person hears nothing they did not ask


def test_more_time_triples_every_time_out(box: Box, page: Page) -> None:
    page.clock.install()
    page.goto(box.url)
    visible(page, "start")
    page.click("[data-action=collect]")
    expect(page.locator("body")).to_have_attribute("data-timeout", "60")
    page.clock.run_for(61_000)
    visible(page, "start")  # the usual minute
    page.click("#aid-time")
    expect(page.locator("#aid-time")).to_have_attribute("aria-pressed", "true")
    page.click("[data-action=collect]")
    expect(page.locator("body")).to_have_attribute("data-timeout", "180")
    page.clock.run_for(120_000)
    visible(page, "code")  # still there after two minutes
    page.clock.run_for(61_000)
    visible(page, "start")
    expect(page.locator("#aid-time")).to_have_attribute("aria-pressed", "false")
    page.click("#aid-speak")  # audio mode gives more time too
    page.click("[data-action=collect]")
    expect(page.locator("body")).to_have_attribute("data-timeout", "180")
    page.click("#screen-code [data-action=home]")
    _, cid, code = box.deliver()
    page.click("#aid-time")  # and every screen's time-out: the door's, the thank-you's
    page.click("[data-action=collect]")
    type_code(page, code)
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    expect(page.locator("body")).to_have_attribute("data-timeout", str(180 * 3))
    box.cycle(cid)
    visible(page, "thanks")
    expect(page.locator("body")).to_have_attribute("data-timeout", str(10 * 3))
    page.clock.run_for(29_000)
    visible(page, "thanks")
    page.clock.run_for(2_000)
    visible(page, "start")


def test_large_type_in_high_contrast_and_axe_on_the_new_screens(
    box: Box, page: Page, tmp_path: Path
) -> None:
    axe = Axe()
    found: dict[str, list[tuple[str, str]]] = {}
    rids = [box.book(size="M", recipient="apt-31") for _ in range(2)]
    opened = []
    for rid in rids:
        cid = box.courier.post("/api/v1/deposits", json={"reservation_id": rid}).json()
        box.cycle(cid["compartment"])
        opened.append(cid["compartment"])
    code = wait_for(lambda: box.reservation(rids[0]).get("pickup_code"))
    page.goto(box.url)
    visible(page, "start")
    found["start"] = violations(page, axe)
    page.click("#aid-large")
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    colours = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert size >= 32 and colours == "rgb(0, 0, 0)"
    found["start large"] = violations(page, axe)
    snap(page, tmp_path, "start-large")
    page.click("[data-action=collect]")
    found["code large"] = violations(page, axe)
    type_code(page, code)
    expect(page.locator("#door-offer")).to_be_visible(timeout=SLOW)
    found["door + offer, large"] = violations(page, axe)
    snap(page, tmp_path, "door-large")
    page.click("#aid-large")  # back to the usual view, the offer still there
    found["door + offer"] = violations(page, axe)
    snap(page, tmp_path, "door-others")
    page.click("#door-problem")
    visible(page, "problem")
    found["problem"] = violations(page, axe)
    page.click("[data-problem=damaged]")
    visible(page, "damaged")
    found["damaged"] = violations(page, axe)
    page.click("#screen-damaged [data-action=problem-back]")
    visible(page, "problem")  # one step back
    page.click("#screen-problem [data-action=problem-back]")
    visible(page, "door")
    box.cycle(opened[0])
    visible(page, "thanks")
    expect(page.locator("#thanks-offer")).to_be_visible()
    found["thanks + offer"] = violations(page, axe)
    assert found == {key: [] for key in found}


def test_two_codes_open_two_doors(box: Box, page: Page, tmp_path: Path) -> None:
    first, cid1, code1 = box.deliver(recipient="apt-41")
    second, cid2, code2 = box.deliver(recipient="apt-42")
    pulses = box.pulses(cid1), box.pulses(cid2)
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, code1)
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid1} ouverte", timeout=SLOW)
    # a wrong second code on the keypad: told, and the door stays shown
    page.keyboard.type("99887766", delay=120)
    page.keyboard.press("Enter")
    expect(page.locator("#door-notice")).to_contain_text("Code inconnu", timeout=SLOW)
    visible(page, "door")
    page.keyboard.type(f"LKR1:demo:{code2}")  # the neighbour's parcel too, scanned
    page.keyboard.press("Enter")
    expect(page.locator("#door-heading")).to_have_text(
        f"Portes {cid1}, {cid2} ouvertes", timeout=SLOW
    )
    expect(page.locator("#cabinet rect.open")).to_have_count(2)
    expect(page.locator("#door-instruction")).to_have_text(
        "Prenez vos articles, puis refermez les portes."
    )
    expect(page.locator("#door-notice")).to_be_hidden()
    snap(page, tmp_path, "two-doors")
    wait_for(lambda: (box.pulses(cid1), box.pulses(cid2)) == (pulses[0] + 1, pulses[1] + 1))
    box.cycle(cid1)
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid2} ouverte", timeout=SLOW)
    box.cycle(cid2)
    visible(page, "thanks")
    wait_for(
        lambda: [box.reservation(r)["state"] for r in (first, second)] == ["collected"] * 2,
        what="both collected",
    )


def test_the_persons_other_items_open_one_after_the_other(tmp_path: Path, browser: Browser) -> None:
    # its own box, whose doors wait long enough for every phrase to be said (no jam)
    (tmp_path / "svc").mkdir()
    env = {"LOCKER_DOORS__OPEN_TIMEOUT_S": "120"}
    svc = ServiceProcess(tmp_path / "svc", extra_env=env).start()
    page = browser.new_page(viewport={"width": 800, "height": 480})
    try:
        others_of_one_person(Box(svc), page, tmp_path)
    finally:
        page.close()
        svc.stop()


def others_of_one_person(box: Box, page: Page, tmp_path: Path) -> None:
    rids = [box.book(size="M", recipient="apt-51") for _ in range(3)]
    cids = []
    for rid in rids:
        cid = box.courier.post("/api/v1/deposits", json={"reservation_id": rid}).json()
        cids.append(cid["compartment"])
        box.cycle(cids[-1])
    # the third is out of service (a stuck door, say): skipped, and named
    r = box.admin.put(f"/api/v1/compartments/{cids[2]}/service", json={"in_service": False})
    assert r.status_code == 200, r.text
    code = wait_for(lambda: box.reservation(rids[0]).get("pickup_code"))
    page.goto(box.url)
    page.click("#aid-speak")
    page.click("[data-action=collect]")
    type_code(page, code)
    expect(page.locator("#door-offer-text")).to_have_text(
        "2 autres articles vous attendent.", timeout=SLOW
    )
    assert said(page, "others")["text"].startswith("2 autres articles vous attendent.")
    page.click("#door-offer")
    expect(page.locator("#door-heading")).to_have_text(
        f"Portes {cids[0]}, {cids[1]} ouvertes", timeout=SLOW
    )
    expect(page.locator("#door-notice")).to_have_text(
        f"La porte {cids[2]} reste fermée : la conciergerie vous recontacte."
    )
    skipped = said(page, "skipped", timeout_s=60)  # after two doors and their places
    assert skipped["text"] == f"La porte {cids[2]} reste fermée : la conciergerie vous recontacte."
    assert said(page, "door_pickup")["doors"] == cids[:2]
    expect(page.locator("#door-offer")).to_be_hidden()
    snap(page, tmp_path, "group-pickup")
    box.cycle(cids[0])
    box.cycle(cids[1])
    visible(page, "thanks")
    wait_for(lambda: box.reservation(rids[1])["state"] == "collected")
    assert box.reservation(rids[0])["state"] == "collected"
    assert box.reservation(rids[2])["state"] == "deposited"
    box.admin.put(f"/api/v1/compartments/{cids[2]}/service", json={"in_service": True})
    events = box.admin.get("/api/v1/events?after_seq=0&limit=1000").json()
    for rid in rids[:2]:
        mine = [e["type"] for e in events if e.get("reservation_id") == rid]
        assert mine.count("parcel.collected") == 1 and "door.opened" in mine


def test_a_carers_code_opens_and_offers_nothing_else(box: Box, page: Page) -> None:
    rid = box.book(size="M", recipient="apt-61", delegate=True)
    other = box.book(size="M", recipient="apt-61")
    for r in (rid, other):
        cid = box.courier.post("/api/v1/deposits", json={"reservation_id": r}).json()
        box.cycle(cid["compartment"])
    carer = wait_for(lambda: box.reservation(rid).get("delegate_code"))
    cid = box.reservation(rid)["compartment"]
    page.goto(box.url)
    page.click("[data-action=collect]")
    with page.expect_response("**/api/v1/kiosk/codes") as answer:
        type_code(page, carer)
    assert answer.value.json() == {"compartment": cid, "purpose": "pickup"}  # no "others"
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    expect(page.locator("#door-offer")).to_be_hidden()  # never with a carer's code
    box.cycle(cid)
    visible(page, "thanks")
    wait_for(lambda: box.reservation(rid)["state"] == "collected")
    events = box.admin.get("/api/v1/events?after_seq=0&limit=1000").json()
    done = [e for e in events if e["type"] == "parcel.collected" and e["reservation_id"] == rid]
    assert [e["by"] for e in done] == ["delegate"]


LIGHTS = ROOT / "tests" / "data" / "lights.toml"


def test_the_tone_and_the_light_follow_the_door(tmp_path: Path, browser: Browser) -> None:
    (tmp_path / "svc").mkdir()
    svc = ServiceProcess(tmp_path / "svc", config=LIGHTS).start()
    try:
        box = Box(svc)
        _, cid, code = box.deliver(size="M")

        def light() -> str:
            doors = box.hand.get("/api/v1/sim/doors").json()
            return str(next(d["led"] for d in doors if d["id"] == cid))

        assert light() == "off"
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(box.url)
        page.click("[data-action=collect]")
        type_code(page, code)
        expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
        assert light() == "blink"
        tone = wait_for(
            lambda: next((s for s in sounds(page) if s["name"] == "unlock" and s["ended"]), None)
        )
        assert tone["kind"] == "tone" and not tone.get("blocked")
        box.move(cid, True)
        assert light() == "blink"  # open for that person
        box.move(cid, False)
        wait_for(lambda: light() == "off", what="the light out once the door is shut")
        visible(page, "thanks")
        page.close()
    finally:
        svc.stop()
