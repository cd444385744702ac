"""The kiosk page at ``/`` and its assets at ``/kiosk/`` (no CDN, no build step).

The page carries the kiosk token only when it is served to the box itself
(a loopback client): the touchscreen never asks anyone to type it, and a
page fetched from another host gets no token and cannot act.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.live import site_state
from locker.runtime import Runtime

ASSETS = Path(__file__).resolve().parent.parent / "kiosk"
router = APIRouter(include_in_schema=False)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_config(runtime: Runtime, with_token: bool, voice_ok: bool) -> dict[str, object]:
    settings = runtime.settings
    kiosk_tokens = settings.api.tokens.get("kiosk", [])
    return {
        "locker_id": settings.locker_id,
        "phone": settings.phone,
        "token": kiosk_tokens[0] if with_token and kiosk_tokens else None,
        "courier_idle_s": settings.kiosk.courier_idle_s,
        "speech": settings.kiosk.speech and voice_ok,
        "speech_key": settings.kiosk.speech_key,
        "group_pickup": settings.kiosk.group_pickup,
        # residents' codes wait for the opening (decision 36): the closed screen replaces them
        "closed_blocks_pickups": settings.hours.closed_blocks_pickups,
        "site": site_state(runtime.service),  # then followed on the live stream
        "layout": [
            {
                "id": c.id,
                "column": c.column,
                "row": c.row,
                "size": c.size.value,
                "chilled": c.chilled,
                "accessible": c.accessible,
            }
            for c in settings.compartments
        ],
    }


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    local = is_loopback(request.client.host if request.client else None)
    voice_ok = request.app.state.voice.available
    config = json.dumps(page_config(runtime, local, voice_ok)).replace("<", "\\u003c")
    html = (ASSETS / "index.html").read_text(encoding="utf-8").replace("__KIOSK_CONFIG__", config)
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": (
                "default-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:"
            ),
            "X-Frame-Options": "DENY",
        },
    )
