"""The locker's secret key and the code sealer built on it.

The key lives outside the database (config, environment or a key file), so
a copy of the database alone reveals no live code: codes are found by an
HMAC digest and re-displayed by decrypting an AES-GCM ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from locker.durable import create_new, make_dirs

MIN_KEY_BYTES = 16


class SecretKeyError(ValueError):
    """The secret key is missing or unusable."""


def derive(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, b"locker/" + purpose.encode(), hashlib.sha256).digest()


class Sealer:
    """:class:`locker.domain.ports.CodeSealer` with HMAC-SHA256 and AES-256-GCM."""

    def __init__(self, master_key: bytes, locker_id: str) -> None:
        if len(master_key) < MIN_KEY_BYTES:
            raise SecretKeyError(
                f"the secret key must have at least {MIN_KEY_BYTES} bytes of entropy"
            )
        self._digest_key = derive(master_key, "digest")
        self._seal_key = derive(master_key, "seal")
        self._locker = locker_id.encode()
        self._aead: Any = None

    def digest(self, code: str) -> str:
        # NOTE: the locker id is part of the message: a code is bound to one locker.
        msg = self._locker + b":" + code.encode()
        return hmac.new(self._digest_key, msg, hashlib.sha256).hexdigest()

    def _cipher(self) -> Any:
        if self._aead is None:
            # Imported on first use: only deposits and staff views need it.
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._seal_key)
        return self._aead

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._cipher().encrypt(nonce, plaintext.encode(), self._locker)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str) -> str:
        raw = base64.urlsafe_b64decode(sealed.encode())
        plain: bytes = self._cipher().decrypt(raw[:12], raw[12:], self._locker)
        return plain.decode()


def load_master_key(secret: str, key_file: Path | None, create: bool) -> bytes:
    """The master key from ``secret`` or ``key_file``; ``create`` makes the file if absent."""
    if secret:
        return secret.encode()
    if key_file is None:
        raise SecretKeyError("no secret key: set security.secret_key or security.key_file")
    if not key_file.exists():
        if not create:
            raise SecretKeyError(f"secret key file {key_file} does not exist")
        make_dirs(key_file.parent)
        # synced, named, its folder synced: the codes sealed with it never outlive it
        create_new(key_file, secrets.token_urlsafe(32) + "\n")
    try:
        text = key_file.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise SecretKeyError(
            f"secret key file {key_file} is not text: write one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        ) from None
    if not text:
        raise SecretKeyError(f"secret key file {key_file} is empty")
    return text.encode()


def key_problem(secret: str, key_file: Path | None) -> str | None:
    """Why the configured key cannot seal codes on a real cabinet (no file is made), or None."""
    try:
        key = load_master_key(secret, key_file, create=False)
    except SecretKeyError as exc:
        return str(exc)
    except OSError as exc:  # unreadable by this user, a directory …
        return f"secret key file {key_file}: {exc.strerror or exc}"
    if len(key) < MIN_KEY_BYTES:
        where = f"secret key file {key_file}" if not secret else "security.secret_key"
        return f"{where}: a key has at least {MIN_KEY_BYTES} characters"
    return None
