"""The kiosk screen in real Chromium (Debian's), against the real service in simulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.helpers import ROOT, wait_for
from tests.kioskkit import SLOW, Box, count_posts, snap, type_code, visible
from tests.procs import ServiceProcess

pytestmark = pytest.mark.usefixtures("no_lockout")


def test_resident_collects_with_the_keypad(box: Box, page: Page, tmp_path: Path) -> None:
    _, cid, code = box.deliver()
    before = box.pulses(cid)
    page.goto(box.url)
    visible(page, "start")
    expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=SLOW)
    snap(page, tmp_path, "start")
    page.click("[data-action=collect]")
    visible(page, "code")
    type_code(page, code[:7])
    expect(page.locator("#digits span.filled")).to_have_count(7)
    snap(page, tmp_path, "code")
    type_code(page, code[7:])  # the eighth digit sends it

    visible(page, "door")
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    expect(page.locator("#door-instruction")).to_have_text(
        "Prenez votre article, puis refermez la porte."
    )
    expect(page.locator("#cabinet rect.open")).to_have_attribute("data-door", cid)
    expect(page.locator("#cabinet rect.open")).to_have_count(1)
    wait_for(lambda: box.pulses(cid) == before + 1, what="the relay pulse")
    snap(page, tmp_path, "door-open")

    box.move(cid, True)
    expect(page.locator("#door-instruction")).to_have_text(
        "Refermez la porte, s'il vous plaît.", timeout=SLOW
    )
    box.move(cid, False)
    visible(page, "thanks")
    expect(page.locator("#thanks-heading")).to_have_text("Merci !")
    snap(page, tmp_path, "thanks")
    visible(page, "start")  # and back to the start by itself


def test_qr_scanner_typing_on_any_screen(box: Box, page: Page) -> None:
    _, cid, code = box.deliver()
    page.goto(box.url)
    visible(page, "start")
    page.keyboard.type(f"LKR1:demo:{code}")
    page.keyboard.press("Enter")
    visible(page, "door")
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    box.cycle(cid)
    visible(page, "thanks")
    # on the code screen too, without the scan's digits landing in the boxes
    _, cid2, code2 = box.deliver()
    page.goto(box.url)
    page.click("[data-action=collect]")
    page.keyboard.type(f"LKR1:demo:{code2}")
    page.keyboard.press("Enter")
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid2} ouverte", timeout=SLOW)
    box.cycle(cid2)
    visible(page, "thanks")


def test_resident_drops_off_with_a_deposit_code(box: Box, page: Page) -> None:
    rid = box.book(kind="dropoff", size="M")
    code = box.reservation(rid)["deposit_code"]
    page.goto(box.url)
    page.click("[data-action=dropoff]")
    expect(page.locator("#code-heading")).to_have_text("Votre code de dépôt")
    type_code(page, code, by_click=False)  # a keyboard works as well as the touchscreen
    visible(page, "door")
    expect(page.locator("#door-instruction")).to_have_text(
        "Déposez votre article, puis refermez la porte.", timeout=SLOW
    )
    cid = box.reservation(rid)["compartment"]
    box.cycle(cid)
    expect(page.locator("#thanks-text")).to_have_text(
        "Votre article est bien déposé. Bonne journée.", timeout=SLOW
    )
    wait_for(lambda: box.reservation(rid)["state"] == "deposited")


def test_courier_round(box: Box, page: Page, tmp_path: Path) -> None:
    first, second = box.book(size="M"), box.book(size="M")
    page.goto(box.url)
    page.click("[data-action=courier]")
    expect(page.locator("#code-heading")).to_have_text("Code livreur")
    type_code(page, "2468")
    expect(page.locator("#digits span")).to_have_text("••••")  # never the digits
    page.click("#keypad [data-key='ok']")
    visible(page, "courier")
    expect(page.locator(f"[data-reservation='{first}']")).to_be_visible()
    snap(page, tmp_path, "courier-list")
    page.click(f"[data-reservation='{first}']")
    visible(page, "door")
    cid = box.reservation(first)["compartment"]
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    box.cycle(cid)
    visible(page, "courier")  # the next parcel
    expect(page.locator(f"[data-reservation='{first}']")).to_have_count(0, timeout=SLOW)
    wait_for(lambda: box.reservation(first)["state"] == "deposited")

    page.fill("#reference", f"COLIS-{second}")  # a scanned parcel label
    page.keyboard.press("Enter")
    cid2 = box.reservation(second)["compartment"]
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid2} ouverte", timeout=SLOW)
    box.cycle(cid2)
    visible(page, "courier")
    page.click("[data-action=courier-done]")
    visible(page, "start")


def test_error_screens(box: Box, page: Page, tmp_path: Path) -> None:
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, "11223344")
    visible(page, "error")
    expect(page.locator("#error-heading")).to_have_text("Code inconnu")
    expect(page.locator("#error-text")).to_contain_text("Vérifiez les 8 chiffres")
    snap(page, tmp_path, "error-unknown")

    rid, cid, code = box.deliver()
    page.click("#screen-error [data-action=home]")
    page.click("[data-action=collect]")
    type_code(page, code)
    visible(page, "door")
    box.cycle(cid)
    visible(page, "thanks")
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, code)  # back for the bag left behind: the same door, once more
    visible(page, "door")
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    expect(page.locator("#door-instruction")).to_contain_text("Prenez")
    box.cycle(cid)
    visible(page, "thanks")
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, code)
    expect(page.locator("#error-heading")).to_have_text("Code déjà utilisé", timeout=SLOW)

    rid, cid, code = box.deliver(expires_s=4)
    wait_for(lambda: box.reservation(rid)["state"] == "expired", timeout=30, what="expiry")
    page.goto(box.url)
    page.click("[data-action=collect]")
    type_code(page, code)
    expect(page.locator("#error-heading")).to_have_text("Code expiré", timeout=SLOW)
    expect(page.locator("#error-text")).to_contain_text("04 75 00 00 00")
    body = page.locator("body").inner_text()
    assert "{" not in body and "Traceback" not in body and "detail" not in body


def test_locked_out_screen_shows_the_wait(tmp_path: Path, browser: Browser) -> None:
    (tmp_path / "svc").mkdir()
    svc = ServiceProcess(tmp_path / "svc").start()  # its own: the lockout would hit others
    try:
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(svc.url + "/")
        for i in range(5):
            if i:
                page.click("#screen-error [data-action=home]")
            page.click("[data-action=collect]")
            type_code(page, f"9{i}345678")
            visible(page, "error")
        expect(page.locator("#error-heading")).to_have_text("Trop d'essais")
        expect(page.locator("#error-text")).to_contain_text("Réessayez dans 4 min")
        snap(page, tmp_path, "error-locked")
        page.close()
    finally:
        svc.stop()


def test_jammed_door_screen(tmp_path: Path, browser: Browser) -> None:
    (tmp_path / "svc").mkdir()
    svc = ServiceProcess(tmp_path / "svc", extra_env={"LOCKER_DOORS__OPEN_TIMEOUT_S": "2"}).start()
    try:
        box = Box(svc)
        _, cid, code = box.deliver()
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(box.url)
        page.click("[data-action=collect]")
        type_code(page, code)
        visible(page, "door")
        # nobody opens the door: one more pulse, then door.jammed
        expect(page.locator("#error-heading")).to_have_text("Porte bloquée", timeout=SLOW)
        expect(page.locator("#error-text")).to_contain_text(f"La porte {cid}")
        expect(page.locator("#error-text")).to_contain_text("04 75 00 00 00")
        snap(page, tmp_path, "error-jammed")
        page.close()
    finally:
        svc.stop()


def test_held_basket_screen(tmp_path: Path, browser: Browser) -> None:
    """A basket whose cold chain broke: the right code opens nothing, says why, and does
    not count toward the lockout (decision 32)."""
    (tmp_path / "svc").mkdir()
    svc = ServiceProcess(tmp_path / "svc", extra_env={"LOCKER_COLD_CHAIN__SAMPLE_S": "1"}).start()
    try:
        box = Box(svc)
        body = {
            "reservation_id": "P-1",
            "version": 1,
            "kind": "delivery",
            "size": "M",
            "chilled": True,
            "expires_at": (datetime.now(UTC) + timedelta(hours=4)).isoformat(),
        }
        assert box.admin.post("/api/v1/reservations", json=body).status_code == 200
        cid = box.courier.post("/api/v1/deposits", json={"reservation_id": "P-1"}).json()
        box.cycle(cid["compartment"])
        code = wait_for(lambda: box.reservation("P-1").get("pickup_code"), what="deposited")
        assert box.hand.post("/api/v1/sim/zones/Z1", json={"celsius": 12.0}).status_code == 200
        wait_for(lambda: box.reservation("P-1")["state"] == "held", timeout=30, what="held")
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(box.url)
        for _ in range(6):  # more than a lockout's worth: the right code never locks out
            page.click("[data-action=collect]")
            type_code(page, str(code))
            visible(page, "error")
            expect(page.locator("#error-heading")).to_have_text("Panier retenu")
            page.click("#screen-error [data-action=home]")
        page.click("[data-action=collect]")
        type_code(page, str(code))
        expect(page.locator("#error-text")).to_contain_text(
            "Ce panier n'a pas pu être conservé au froid : la conciergerie vous recontacte"
        )
        snap(page, tmp_path, "error-held")
        assert box.pulses(cid["compartment"]) == 1  # the deposit's only
        page.close()
    finally:
        svc.stop()


def test_service_offline_screen(tmp_path: Path, browser: Browser) -> None:
    (tmp_path / "svc").mkdir()
    svc = ServiceProcess(tmp_path / "svc").start()
    try:
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(svc.url + "/")
        visible(page, "start")
        svc.stop()
        expect(page.locator("#offline")).to_be_visible(timeout=SLOW)
        page.click("[data-action=collect]")
        type_code(page, "12345678")
        expect(page.locator("#error-heading")).to_have_text("Service indisponible", timeout=SLOW)
        snap(page, tmp_path, "error-offline")
        page.close()
    finally:
        svc.stop()


def test_language_switch_on_every_screen(box: Box, page: Page) -> None:
    page.goto(box.url)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-action=collect]")).to_contain_text("Collect a parcel")
    page.click("[data-action=collect]")
    expect(page.locator("#code-heading")).to_have_text("Your pickup code")
    type_code(page, "55667788")
    expect(page.locator("#error-heading")).to_have_text("Unknown code", timeout=SLOW)
    page.click("#lang")  # the switch is on the error screen too
    expect(page.locator("#error-heading")).to_have_text("Code inconnu")
    expect(page.locator("#lang")).to_have_text("English")


def test_keyboard_only_and_large_type(box: Box, page: Page) -> None:
    page.goto(box.url)
    visible(page, "start")
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 24
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.action || document.activeElement.id")
    assert focused in ("collect", "dropoff", "courier", "lang")
    page.focus("[data-action=collect]")
    page.keyboard.press("Enter")
    visible(page, "code")
    page.keyboard.press("Escape")
    visible(page, "start")


def test_accessibility_with_axe(box: Box, page: Page) -> None:
    axe = Axe()
    page.goto(box.url)
    visible(page, "start")
    screens = {"start": axe.run(page)}
    page.click("[data-action=collect]")
    screens["code"] = axe.run(page)
    type_code(page, "10203040")
    visible(page, "error")
    screens["error"] = axe.run(page)
    problems = {
        name: [(v["id"], v["impact"]) for v in result.response["violations"]]
        for name, result in screens.items()
    }
    assert problems == {"start": [], "code": [], "error": []}


def test_one_entry_is_sent_once(box: Box, page: Page) -> None:
    _, cid, code = box.deliver()
    page.goto(box.url)
    sent = count_posts(page, "/api/v1/kiosk/codes")
    page.click("[data-action=collect]")
    type_code(page, code)
    page.keyboard.press("Enter")  # a habit: Enter after the 8th digit
    page.keyboard.press("Enter")
    expect(page.locator("#door-heading")).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
    page.keyboard.type(f"LKR1:demo:{code}")  # the same QR scanned again, door still open
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    expect(page.locator("#screen-door")).to_be_visible()  # not "already used"
    assert len(sent) == 1
    box.cycle(cid)
    visible(page, "thanks")


def test_a_wrong_code_counts_once(box: Box, page: Page) -> None:
    page.goto(box.url)
    sent = count_posts(page, "/api/v1/kiosk/codes")
    page.click("[data-action=collect]")
    type_code(page, "76543210")
    page.keyboard.press("Enter")
    expect(page.locator("#error-heading")).to_have_text("Code inconnu", timeout=SLOW)
    page.wait_for_timeout(300)
    assert len(sent) == 1


def test_a_parcel_barcode_is_never_taken_for_a_code(box: Box, page: Page) -> None:
    rid = box.book(size="M")
    page.goto(box.url)
    visible(page, "start")
    sent = count_posts(page, "/api/v1/kiosk/codes")
    page.keyboard.type("3760123456789")  # an EAN-13 on a parcel, scanned at the start screen
    page.keyboard.press("Enter")
    expect(page.locator("#error-heading")).to_have_text("Code-barres non reconnu", timeout=SLOW)
    assert sent == []  # nothing counted toward the lockout
    # a courier scans the same kind of label with the focus anywhere: it deposits
    page.click("#screen-error [data-action=home]")
    page.click("[data-action=courier]")
    type_code(page, "2468")
    page.click("#keypad [data-key='ok']")
    visible(page, "courier")
    page.click("#lang")  # the focus leaves the reference field
    page.keyboard.type(f"COLIS-{rid}")
    page.keyboard.press("Enter")
    cid = box.reservation(rid)["compartment"]
    expect(page.locator("#door-heading")).to_contain_text(cid, timeout=SLOW)
    box.cycle(cid)
    visible(page, "courier")
    page.fill("#reference", "NO-SUCH-PARCEL")
    page.keyboard.press("Enter")
    expect(page.locator("#error-heading")).to_have_text("Unknown parcel", timeout=SLOW)


def test_enter_on_a_focused_button_presses_it_and_english_does_not_stick(
    box: Box, page: Page
) -> None:
    page.goto(box.url)
    page.click("#lang")
    page.click("[data-action=collect]")
    page.focus("#screen-code [data-action=home]")
    page.keyboard.press("Enter")
    visible(page, "start")
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # the next person: French


def wide_layout(tmp_path: Path) -> Path:
    """A long, low cabinet with long compartment ids."""
    text = (ROOT / "config" / "locker.example.toml").read_text().split("[[compartments]]")[0]
    for col in range(6):
        for row in range(2):
            n = col * 2 + row
            text += (
                f'[[compartments]]\nid = "HALL-EAST-{col}{row}"\nsize = "M"\n'
                f"column = {col}\nrow = {row}\nrelay_pin = {4 + n}\nreed_pin = {16 + n}\n"
            )
    path = tmp_path / "wide.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("viewport", [(800, 480), (1024, 600)])
def test_the_door_answer_fits_any_layout_and_screen(
    tmp_path: Path, browser: Browser, viewport: tuple[int, int]
) -> None:
    (tmp_path / "svc").mkdir()
    svc = ServiceProcess(tmp_path / "svc", config=wide_layout(tmp_path)).start()
    try:
        box = Box(svc)
        _, cid, code = box.deliver()
        width, height = viewport
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(box.url)
        page.click("[data-action=collect]")
        type_code(page, code)
        heading = page.locator("#door-heading")
        expect(heading).to_have_text(f"Porte {cid} ouverte", timeout=SLOW)
        for selector in ("#door-heading", "#door-instruction", "#cabinet"):
            b = page.locator(selector).bounding_box()
            assert b is not None and b["x"] >= 0 and b["y"] >= 0
            assert b["x"] + b["width"] <= width + 1 and b["y"] + b["height"] <= height + 1, selector
        snap(page, tmp_path, f"door-wide-{width}")
        box.cycle(cid)
        page.close()
    finally:
        svc.stop()
