"""Bearer tokens per role, compared in constant time and never logged."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

ROLES = ("admin", "courier", "kiosk")
STAFF = "staff"  # given only by a staff PIN at the kiosk (decision 28)


@dataclass(frozen=True)
class Principal:
    role: str
    credential: str  # "kiosk-0": role and token index, never the token itself
    client: str
    home: str | None = None  # staff: the kiosk terminal the session was opened at

    @property
    def terminal(self) -> str:
        """A terminal is the pair (API credential, client address) (decision 8)."""
        return f"{self.credential}@{self.client}"


class TokenTable:
    def __init__(self, tokens: Mapping[str, Sequence[str]] | Mapping[Any, list[str]]) -> None:
        self._entries = [
            (hashlib.sha256(token.encode()).digest(), role, f"{role}-{i}")
            for role, role_tokens in tokens.items()
            for i, token in enumerate(role_tokens)
            if token
        ]

    def identify(self, token: str) -> tuple[str, str] | None:
        probe = hashlib.sha256(token.encode()).digest()
        found: tuple[str, str] | None = None
        for digest, role, credential in self._entries:  # no early exit: constant time
            if hmac.compare_digest(digest, probe):
                found = (role, credential)
        return found


@dataclass
class _Session:
    credential: str
    expires: float
    home: str | None  # staff: the kiosk terminal it signed in at


class Sessions:
    """Short-lived tokens handed out at the kiosk for a PIN: couriers' (decision 7) and
    staff's (decision 28). A session ends after ``idle_s`` without use; each use
    extends it."""

    def __init__(self, role: str, idle_s: float) -> None:
        self.role = role
        self.idle_s = idle_s
        self._sessions: dict[bytes, _Session] = {}
        self._lock = threading.Lock()
        self._count = 0

    def open(self, home: str | None = None) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._count += 1
            key = hashlib.sha256(token.encode()).digest()
            credential = f"{self.role}-session-{self._count}"
            self._sessions[key] = _Session(credential, time.monotonic() + self.idle_s, home)
        return token

    def identify(self, token: str) -> _Session | None:
        key = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        with self._lock:
            for stale in [k for k, s in self._sessions.items() if s.expires <= now]:
                del self._sessions[stale]
            session = self._sessions.get(key)
            if session is None:
                return None
            session.expires = now + self.idle_s
            return session

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(hashlib.sha256(token.encode()).digest(), None)


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


async def principal(request: Request) -> Principal:
    # NOTE: dependencies are async (in-memory work only): FastAPI runs a plain one on
    # a worker thread, a hand-over per dependency and request.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("missing bearer token: send 'Authorization: Bearer <token>'")
    table: TokenTable = request.app.state.tokens
    found = table.identify(token.strip())
    client = request.client.host if request.client else "unknown"
    if found is not None:
        return Principal(found[0], found[1], client)
    for sessions, role in (
        (request.app.state.courier_sessions, "courier_session"),
        (request.app.state.staff_sessions, STAFF),
    ):
        session = sessions.identify(token.strip())
        if session is not None:
            return Principal(role, session.credential, client, session.home)
    raise _unauthorised("unknown or expired bearer token")


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the {who.role} role may not do this (needs {' or '.join(roles)})",
            )
        return who

    return check


def bearer(request: Request) -> str:
    return request.headers.get("authorization", "").partition(" ")[2].strip()


Admin = Annotated[Principal, Depends(require("admin"))]
AdminOrCourier = Annotated[Principal, Depends(require("admin", "courier"))]
# staff at the box (decision 28): what it may do besides admin
Operator = Annotated[Principal, Depends(require("admin", STAFF))]
Returner = Annotated[Principal, Depends(require("admin", "courier", STAFF))]
Reader = Annotated[Principal, Depends(require(*ROLES, STAFF))]
StaffSession = Annotated[Principal, Depends(require(STAFF))]
AnyRole = Annotated[Principal, Depends(require(*ROLES))]
Depositor = Annotated[Principal, Depends(require(*ROLES, "courier_session"))]
Kiosk = Annotated[Principal, Depends(require("kiosk", "admin"))]
KioskUser = Annotated[Principal, Depends(require("kiosk", "courier_session", "admin"))]
CourierUser = Annotated[Principal, Depends(require("courier", "courier_session", "admin"))]
CourierSession = Annotated[Principal, Depends(require("courier_session"))]
