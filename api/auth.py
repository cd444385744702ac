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


@dataclass(frozen=True)
class Principal:
    role: str
    credential: str  # "kiosk-0": role and token index, never the token itself
    client: str

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


class CourierSessions:
    """Short-lived courier tokens handed out at the kiosk for a PIN (decision 7).

    A session ends after ``idle_s`` without use; each use extends it.
    """

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self._sessions: dict[bytes, _Session] = {}
        self._lock = threading.Lock()
        self._count = 0

    def open(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._count += 1
            key = hashlib.sha256(token.encode()).digest()
            self._sessions[key] = _Session(
                f"courier-session-{self._count}", time.monotonic() + self.idle_s
            )
        return token

    def identify(self, token: str) -> str | None:
        key = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        with self._lock:
            for stale in [k for k, s in self._sessions.items() if s.expires <= now]:
                del self._sessions[stale]
            session = self._sessions.get(key)
            if session is None:
                return None
            session.expires = now + self.idle_s
            return session.credential

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
    if found is None:
        sessions: CourierSessions = request.app.state.courier_sessions
        session = sessions.identify(token.strip())
        if session is None:
            raise _unauthorised("unknown or expired bearer token")
        found = ("courier_session", session)
    role, credential = found
    client = request.client.host if request.client else "unknown"
    return Principal(role, credential, client)


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
Staff = Annotated[Principal, Depends(require("admin", "courier"))]
AnyRole = Annotated[Principal, Depends(require(*ROLES))]
Depositor = Annotated[Principal, Depends(require(*ROLES, "courier_session"))]
Kiosk = Annotated[Principal, Depends(require("kiosk", "admin"))]
KioskUser = Annotated[Principal, Depends(require("kiosk", "courier_session", "admin"))]
CourierUser = Annotated[Principal, Depends(require("courier", "courier_session", "admin"))]
CourierSession = Annotated[Principal, Depends(require("courier_session"))]
