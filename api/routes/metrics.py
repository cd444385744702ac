"""``GET /metrics``: the Prometheus exposition.

Secure by default: a scrape from the box itself (a loopback client, as a local
Prometheus agent or an SSH tunnel) needs no token; from anywhere else it needs
a bearer token of the ``metrics`` role (which may read nothing else) or
``admin``. The numbers hold no code or token, but they tell when doors open.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import TokenTable, bearer
from api.metrics import LockerMetrics
from api.routes.page import is_loopback

router = APIRouter(include_in_schema=False)
SCRAPERS = ("metrics", "admin")


def check_scraper(request: Request) -> None:
    if is_loopback(request.client.host if request.client else None):
        return
    token = bearer(request)
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "/metrics from another host needs a 'metrics' or 'admin' bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tokens: TokenTable = request.app.state.tokens
    found = tokens.identify(token)
    if found is None or found[0] not in SCRAPERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token may not read /metrics")


@router.get("/metrics")
def metrics(request: Request) -> Response:
    check_scraper(request)
    registry: LockerMetrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
