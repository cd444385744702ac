"""One-time codes: generation, the keypad and QR forms, parsing."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Container

from locker.domain.errors import Invalid

CODE_DIGITS = 8
QR_PREFIX = "LKR1"
_CODE_RE = re.compile(r"^[0-9]{8}$")
_QR_RE = re.compile(r"^LKR1:([A-Za-z0-9][A-Za-z0-9._-]{0,63}):([0-9]{8})$")


def new_code(
    digest: Callable[[str], str],
    taken: Container[str],
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> tuple[str, str]:
    """Draw a code from a cryptographic source until its digest is not live already.

    Returns ``(code, digest)``.
    """
    for _ in range(1000):
        code = f"{randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        key = digest(code)
        if key not in taken:
            return code, key
    raise RuntimeError("could not draw a free code")  # pragma: no cover - 10^8 space


def typo_variants(code: str) -> list[str]:
    """Codes one slip away from ``code``: one digit changed, or two neighbours swapped.

    These are the mistakes people make at a keypad; a random guess lands on one
    of them for some live code with a chance of about 79 * k / 10^8.
    """
    out: list[str] = []
    for i, digit in enumerate(code):
        out.extend(code[:i] + d + code[i + 1 :] for d in "0123456789" if d != digit)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            out.append(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    return out


TYPO_VARIANTS = 9 * CODE_DIGITS + CODE_DIGITS - 1  # 79 at most


def qr_payload(locker_id: str, code: str) -> str:
    return f"{QR_PREFIX}:{locker_id}:{code}"


def is_code(text: str) -> bool:
    return bool(_CODE_RE.match(text))


def parse_credential(code: str | None, qr: str | None) -> tuple[str | None, str]:
    """Answer ``(locker_id or None, code)`` from a keypad code or a QR payload.

    Malformed input raises :class:`Invalid` (it never counts as a wrong code).
    """
    if (code is None) == (qr is None):
        raise Invalid("give exactly one of 'code' or 'qr_payload'")
    if code is not None:
        text = code.strip()
        if not _CODE_RE.match(text):
            raise Invalid("a code is 8 digits")
        return None, text
    assert qr is not None
    match = _QR_RE.match(qr.strip())
    if match is None:
        raise Invalid("a QR payload reads LKR1:<locker id>:<8 digits>")
    return match.group(1), match.group(2)
