"""Spoken guidance: the phrases (never a code), espeak-ng's WAVs (fr voice, cached), tones."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import wave
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from locker.domain.model import CompartmentSpec, Size
from locker.runtime import Runtime
from locker.speech.phrases import (
    CATALOGUE,
    LANGS,
    NotSpeakable,
    Request,
    compose,
    reopens,
    spoken_phone,
)
from locker.speech.voice import RATE_WPM, Voice
from tests.conftest import COURIER, KIOSK
from tests.helpers import wait_for
from tests.test_api import book, door_cycle, state_of

App = tuple[TestClient, Runtime]
LAYOUT = {
    "A1": CompartmentSpec("A1", Size.L, column=0, row=0),
    "B3": CompartmentSpec("B3", Size.M, column=1, row=2),
}


def wav_of(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data), "rb") as w:
        frames = w.getnframes()
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), frames / w.getframerate()


def espeak(voice: str, text: str, tmp: Path) -> bytes:
    out = tmp / f"direct-{voice}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(RATE_WPM), "-w", str(out), "--stdin"],
        input=text.encode(),
        check=True,
    )
    return out.read_bytes()


def test_the_door_is_placed_from_the_layout() -> None:
    fr = compose(Request("door_pickup", "fr", ("B3",)), LAYOUT, "05 55 12 34 56")
    assert fr.startswith(
        "Porte B3 ouverte : deuxième colonne, troisième casier en partant du bas. Prenez"
    )
    en = compose(Request("door_deposit", "en", ("A1",)), LAYOUT, "")
    assert en.startswith("Door A1 is open: first column from the left, first compartment")
    two = compose(Request("door_pickup", "fr", ("B3", "A1")), LAYOUT, "")
    assert two == (
        "Porte B3 ouverte : deuxième colonne, troisième casier en partant du bas. "
        "Porte A1 ouverte : première colonne, premier casier en partant du bas. "
        "Prenez vos articles, puis refermez les portes."
    )
    warm = compose(Request("door_pickup", "fr", ("B3",), warning=True), LAYOUT, "")
    assert warm.startswith("Attention : ce panier") and "Porte B3" in warm


def test_no_phrase_holds_a_run_of_digits_and_every_one_is_in_both_languages() -> None:
    assert set(CATALOGUE["fr"]) == set(CATALOGUE["en"])
    for phrase, lang, phone in itertools.product(CATALOGUE["fr"], LANGS, ["0555123456", ""]):
        later = reopens(datetime(2027, 3, 15, 9, 30), date(2027, 3, 13), lang)
        text = compose(Request(phrase, lang, ("B3", "A1"), 3, 4000), LAYOUT, phone, later)
        assert not re.search(r"[0-9]{4}", text), (phrase, text)
        assert "{" not in text and text.strip() == text
    assert spoken_phone("+33 5 55 12 34 56") == "05 55 12 34 56"
    assert spoken_phone("0555123456") == "05 55 12 34 56"


def test_the_reopening_of_a_closed_site_as_it_is_said() -> None:
    saturday = date(2027, 3, 13)
    monday_9 = datetime(2027, 3, 15, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert reopens(monday_9, saturday, "fr") == "Réouverture lundi à 9 heures."
    assert reopens(monday_9, saturday, "en") == "It reopens Monday at 9 AM."
    sunday = date(2027, 3, 14)
    assert reopens(monday_9.replace(hour=14, minute=30), sunday, "fr") == (
        "Réouverture demain à 14 heures 30."
    )
    assert reopens(monday_9.replace(hour=14, minute=30), sunday, "en") == (
        "It reopens tomorrow at 2:30 PM."
    )
    assert reopens(monday_9.replace(hour=12), monday_9.date(), "fr") == (
        "Réouverture aujourd'hui à midi."
    )
    assert reopens(monday_9.replace(hour=1), monday_9.date(), "fr") == (
        "Réouverture aujourd'hui à 1 heure."
    )
    far = datetime(2027, 4, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert reopens(far, saturday, "fr") == "Réouverture le jeudi 1er avril à 9 heures."
    assert reopens(far, saturday, "en") == "It reopens on Thursday 1 April at 9 AM."
    assert reopens(None, saturday, "fr") == "La date de réouverture n'est pas connue."
    with pytest.raises(NotSpeakable, match="reopening"):
        compose(Request("closed"), LAYOUT, "")


def test_nothing_outside_the_catalogue_and_the_layout_is_spoken() -> None:
    for bad in (
        Request("hello"),
        Request("door_pickup"),  # needs a door
        Request("door_pickup", doors=("48213377",)),  # a code is no door
        Request("others"),  # needs a count
        Request("start", lang="de"),
    ):
        with pytest.raises(NotSpeakable):
            compose(bad, LAYOUT, "")


def test_a_phrase_is_spoken_by_espeak_ng_in_french_and_cached(
    app_client: App, tmp_path: Path
) -> None:
    client, _ = app_client
    r = client.get("/api/v1/kiosk/speech.wav?phrase=door_pickup&door=B3", headers=KIOSK)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    text = unquote(r.headers["x-phrase-text"])
    assert text.startswith("Porte B3 ouverte : deuxième colonne, troisième casier")
    assert r.headers["x-voice"] == "fr" and float(r.headers["x-synthesis-ms"]) > 0
    channels, width, rate, seconds = wav_of(r.content)
    assert (channels, width, rate) == (1, 2, 22050)
    # about 13 characters a second at 150 words a minute: a plausible length for the text
    assert len(text) / 25 < seconds < len(text) / 6, (len(text), seconds)
    # the very sound espeak-ng makes of this text with the French voice, not the English
    assert r.content == espeak("fr", text, tmp_path)
    assert r.content != espeak("en", text, tmp_path)
    again = client.get("/api/v1/kiosk/speech.wav?phrase=door_pickup&door=B3", headers=KIOSK)
    assert again.content == r.content and "x-synthesis-ms" not in again.headers
    voice: Voice = client.app.state.voice  # type: ignore[attr-defined]
    assert (voice.synthesised, voice.cached) == (1, 1)
    en = client.get("/api/v1/kiosk/speech.wav?phrase=door_pickup&door=B3&lang=en", headers=KIOSK)
    assert en.headers["x-voice"] == "en" and unquote(en.headers["x-phrase-text"]).startswith(
        "Door B3 is open"
    )


def test_speech_never_says_the_code_of_a_live_reservation(app_client: App) -> None:
    client, runtime = app_client
    book(client, reservation_id="P-1", size="M", recipient="Mme Durand")
    r = client.post("/api/v1/deposits", json={"reservation_id": "P-1"}, headers=COURIER)
    door_cycle(client, runtime, r.json()["compartment"])
    code = wait_for(lambda: state_of(client, "P-1")["pickup_code"])
    said = []
    for phrase in CATALOGUE["fr"]:
        q = f"phrase={phrase}&door={r.json()['compartment']}&count=2&wait_s=300"
        got = client.get(f"/api/v1/kiosk/speech.wav?{q}", headers=KIOSK)
        assert got.status_code == 200, (phrase, got.text)
        said.append(unquote(got.headers["x-phrase-text"]))
    assert all(code not in s and "Durand" not in s for s in said)
    # a code passed where a door goes is refused, not spoken
    bad = client.get(f"/api/v1/kiosk/speech.wav?phrase=err_jammed&door={code}", headers=KIOSK)
    assert bad.status_code == 422 and code not in bad.text  # nor echoed back


def test_speech_is_for_the_kiosk_and_says_when_there_is_no_voice(app_client: App) -> None:
    client, _ = app_client
    assert client.get("/api/v1/kiosk/speech.wav?phrase=start").status_code == 401
    r = client.get("/api/v1/kiosk/speech.wav?phrase=start", headers=COURIER)
    assert r.status_code == 403
    assert client.get("/api/v1/kiosk/speech.wav?phrase=nope", headers=KIOSK).status_code == 422
    voice: Voice = client.app.state.voice  # type: ignore[attr-defined]
    voice.binary = None  # as on a box without espeak-ng
    r = client.get("/api/v1/kiosk/speech.wav?phrase=start", headers=KIOSK)
    assert r.status_code == 503 and r.json()["error"] == "no_speech"


def test_the_unlock_and_key_tones(app_client: App) -> None:
    client, _ = app_client
    unlock = client.get("/api/v1/kiosk/sounds/unlock.wav")
    key = client.get("/api/v1/kiosk/sounds/key.wav")
    assert unlock.status_code == key.status_code == 200
    assert wav_of(unlock.content)[:3] == (1, 2, 22050) and 0.2 < wav_of(unlock.content)[3] < 0.6
    assert wav_of(key.content)[3] < 0.1
    assert client.get("/api/v1/kiosk/sounds/other.wav").status_code == 404
