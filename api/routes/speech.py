"""The kiosk's voice: a phrase of the catalogue as a WAV, and the unlock and key tones.

The page asks for a phrase by its key and parameters (a door, a count, a
wait), never by text: the text is composed here from the layout and cannot
carry a code or a recipient (locker.speech.phrases, decision 37). Synthesis
runs on a worker thread, after the unlock it describes was answered.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.auth import Kiosk
from locker.domain.errors import Invalid, NotFound
from locker.runtime import Runtime
from locker.speech.phrases import CLOSED_PHRASES, LANGS, NotSpeakable, compose, reopens
from locker.speech.phrases import Request as Phrase
from locker.speech.tones import TONES
from locker.speech.voice import NoVoice, Voice

router = APIRouter(tags=["kiosk"])


@router.get(
    "/kiosk/speech.wav",
    summary="A spoken phrase (espeak-ng, cached)",
    response_class=Response,
    responses={503: {"description": "no speech on this box (espeak-ng missing or off)"}},
)
def speech(
    who: Kiosk,
    request: Request,
    phrase: Annotated[str, Query(max_length=32)],
    lang: Annotated[str, Query(pattern="^(fr|en)$")] = "fr",
    door: Annotated[list[str] | None, Query(max_length=8)] = None,
    count: Annotated[int | None, Query(ge=1, le=99)] = None,
    wait_s: Annotated[int | None, Query(ge=0, le=86_400)] = None,
    warning: bool = False,
) -> Response:
    """The WAV of one phrase; ``X-Phrase-Text`` carries its text (percent-encoded) and
    ``X-Voice`` the espeak-ng voice; ``X-Synthesis-Ms`` says what it cost (absent when
    it came from the cache)."""
    runtime: Runtime = request.app.state.runtime
    voice: Voice = request.app.state.voice
    if not runtime.settings.kiosk.speech or not voice.available:
        return JSONResponse({"detail": "no speech on this box", "error": "no_speech"}, 503)
    layout = {cid: c.spec for cid, c in runtime.service.compartments_by_id().items()}
    want = Phrase(phrase, lang, tuple(door or ()), count, wait_s, warning)
    reopening = ""
    if phrase in CLOSED_PHRASES:  # the service's own clock and hours, as the screen shows
        service = runtime.service
        until = service.site()[1]
        today = service.clock_now().astimezone(service.rules.hours.tz).date()
        reopening = reopens(until, today, lang)
    try:
        text = compose(want, layout, runtime.settings.phone, reopening)
    except NotSpeakable as err:
        raise Invalid(str(err)) from err
    try:
        spoken = voice.say(text, lang if lang in LANGS else "fr")
    except NoVoice:
        return JSONResponse({"detail": "speech failed", "error": "no_speech"}, 503)
    headers = {
        "X-Phrase-Text": quote(spoken.text),
        "X-Voice": spoken.voice,
        "X-Duration-S": f"{spoken.duration_s:.2f}",
        "Cache-Control": "no-store",
    }
    if spoken.synthesised_s is not None:
        headers["X-Synthesis-Ms"] = f"{spoken.synthesised_s * 1000:.1f}"
    # NOTE: read on the worker thread and sent in one piece: a file streamed in chunks
    # would take turns on the event loop with the next unlock
    return Response(spoken.data, media_type="audio/wav", headers=headers)


@router.get("/kiosk/sounds/{name}.wav", summary="The unlock and key tones (no token needed)")
def sound(name: str) -> Response:
    tone = TONES.get(name)
    if tone is None:
        raise NotFound(f"no sound {name!r}")
    return Response(tone, media_type="audio/wav", headers={"Cache-Control": "max-age=86400"})
