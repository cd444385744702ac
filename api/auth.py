"""Bearer tokens per role, compared in constant time and never logged."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
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


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("missing bearer token: send 'Authorization: Bearer <token>'")
    table: TokenTable = request.app.state.tokens
    found = table.identify(token.strip())
    if found is None:
        raise _unauthorised("unknown bearer token")
    role, credential = found
    client = request.client.host if request.client else "unknown"
    return Principal(role, credential, client)


def require(*roles: str) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the {who.role} role may not do this (needs {' or '.join(roles)})",
            )
        return who

    return check


Admin = Annotated[Principal, Depends(require("admin"))]
Staff = Annotated[Principal, Depends(require("admin", "courier"))]
AnyRole = Annotated[Principal, Depends(require(*ROLES))]
