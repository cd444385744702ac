"""Un problème ? in real Chromium: each kind of problem, what the person is told, and what
becomes of the item and the compartment (decision 32). Its own box: compartments go out
of service here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.helpers import wait_for
from tests.kioskkit import SLOW, Box, snap, type_code, visible

pytestmark = pytest.mark.usefixtures("no_lockout")
PHONE = "Conciergerie : 04 75 00 00 00"


def violations(page: Page, axe: Axe) -> list[tuple[str, str]]:
    return [(v["id"], v["impact"]) for v in axe.run(page).response["violations"]]


def compartment(box: Box, cid: str) -> dict[str, Any]:
    comps: list[dict[str, Any]] = box.admin.get("/api/v1/compartments").json()
    return next(c for c in comps if c["id"] == cid)


def open_with_code(box: Box, page: Page, size: str = "S") -> tuple[str, str]:
    rid, cid, code = box.deliver(size=size)
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, code)
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    return rid, cid


def report(page: Page, kind: str) -> None:
    page.click(
        "#door-problem"
        if page.locator("#screen-door").is_visible()
        else "#screen-thanks [data-action=problem]"
    )
    visible(page, "problem")
    page.click(f"[data-problem={kind}]")


def reported(page: Page, text: str) -> None:
    visible(page, "reported")
    expect(page.locator("#reported-heading")).to_have_text("Merci de nous l'avoir dit")
    expect(page.locator("#reported-text")).to_have_text(text)
    expect(page.locator("#reported-phone")).to_have_text(PHONE)


HELD = "Merci. L'article reste dans la consigne : la conciergerie vérifie et vous recontacte."
KEPT = "Merci. Le problème est noté : la conciergerie vous recontacte."
RECORDED = "Merci. Le problème est transmis à la conciergerie."


def test_empty_holds_and_shuts_the_compartment(box: Box, page: Page, tmp_path: Path) -> None:
    rid, cid = open_with_code(box, page)
    page.click("#aid-speak")
    box.move(cid, True)
    page.click("#door-problem")
    visible(page, "problem")
    snap(page, tmp_path, "problem")
    page.click("[data-problem=empty]")
    reported(page, HELD)
    snap(page, tmp_path, "problem-reported")
    spoken = wait_for(
        lambda: next(
            (s for s in page.evaluate("window.kioskSounds") if s["name"] == "problem_held"), None
        )
    )
    assert spoken["text"].endswith("Vous pouvez l'appeler au 04 75 00 00 00.")
    box.move(cid, False)  # the door shut on the empty compartment: nothing was collected
    wait_for(lambda: box.reservation(rid)["state"] == "held")
    assert compartment(box, cid)["in_service"] is False
    page.click("#screen-reported [data-action=home]")
    visible(page, "start")


def test_damaged_kept_or_left(box: Box, page: Page, tmp_path: Path) -> None:
    kept, cid = open_with_code(box, page)
    box.move(cid, True)
    report(page, "damaged")
    visible(page, "damaged")
    snap(page, tmp_path, "problem-damaged")
    page.click("[data-action=keep]")
    reported(page, KEPT)
    box.move(cid, False)
    wait_for(lambda: box.reservation(kept)["state"] == "collected")
    assert compartment(box, cid)["in_service"] is True

    left, cid2 = open_with_code(box, page)
    box.move(cid2, True)
    report(page, "damaged")
    page.click("[data-action=leave]")
    reported(page, HELD)
    box.move(cid2, False)
    wait_for(lambda: box.reservation(left)["state"] == "held")


def test_not_mine_while_open_and_after_the_door_shut(box: Box, page: Page) -> None:
    rid, cid = open_with_code(box, page)
    box.move(cid, True)
    report(page, "wrong_item")
    reported(page, HELD)
    box.move(cid, False)
    wait_for(lambda: box.reservation(rid)["state"] == "held")
    assert compartment(box, cid)["in_service"] is False
    # shut first, then noticed on the thanks screen: collected is final, the report is passed on
    rid2, cid2 = open_with_code(box, page)
    box.cycle(cid2)
    visible(page, "thanks")
    report(page, "wrong_item")
    reported(page, RECORDED)
    assert box.reservation(rid2)["state"] == "collected"


def test_a_door_that_would_not_open_and_another_problem(box: Box, page: Page) -> None:
    rid, cid = open_with_code(box, page, size="M")
    report(page, "door")
    reported(page, RECORDED)
    wait_for(lambda: compartment(box, cid)["in_service"] is False)
    assert box.reservation(rid)["state"] == "deposited"  # still inside, for staff
    rid2, cid2 = open_with_code(box, page, size="M")
    box.move(cid2, True)
    report(page, "other")
    reported(page, RECORDED)
    box.move(cid2, False)
    wait_for(lambda: box.reservation(rid2)["state"] == "collected")
    events = box.admin.get("/api/v1/events?after_seq=0&limit=1000").json()
    problems = [
        (e["reservation_id"], e["problem"]) for e in events if e["type"] == "parcel.problem"
    ]
    assert (rid, "door") in problems and (rid2, "other") in problems


def test_after_two_codes_either_door_can_be_reported(box: Box, page: Page, tmp_path: Path) -> None:
    axe = Axe()
    found: dict[str, list[tuple[str, str]]] = {}
    first, cid1, code1 = box.deliver(size="M", recipient="apt-81")
    _, cid2, code2 = box.deliver(size="M", recipient="apt-82")
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, code1)
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid1} ouverte", timeout=SLOW)
    page.keyboard.type("11110000", delay=120)  # wrong: told on the door screen
    expect(page.locator("#door-notice")).to_be_visible(timeout=SLOW)
    found["door + notice"] = violations(page, axe)
    page.keyboard.type(f"LKR1:demo:{code2}")
    page.keyboard.press("Enter")
    expect(page.locator("#door-heading")).to_have_text(
        f"Portes {cid1}, {cid2} ouvertes", timeout=SLOW
    )
    page.click("#door-problem")
    visible(page, "problem")
    expect(page.locator("#problem-doors")).to_be_visible()
    expect(page.locator(f"[data-problem-door='{cid2}']")).to_have_attribute("aria-pressed", "true")
    found["problem, two doors"] = violations(page, axe)
    snap(page, tmp_path, "problem-two-doors")
    page.click(f"[data-problem-door='{cid1}']")  # the first door, opened by the first code
    expect(page.locator(f"[data-problem-door='{cid1}']")).to_have_attribute("aria-pressed", "true")
    page.click("#aid-large")
    found["problem, large"] = violations(page, axe)
    page.click("[data-problem=empty]")
    reported(page, HELD)
    found["reported, large"] = violations(page, axe)
    page.click("#aid-large")
    found["reported"] = violations(page, axe)
    box.cycle(cid1)
    box.cycle(cid2)
    wait_for(lambda: box.reservation(first)["state"] == "held")
    assert compartment(box, cid1)["in_service"] is False
    assert found == {key: [] for key in found}
