"""What a ``recipient`` must not look like (CONTRACT v1.1, *Privacy*).

``recipient`` and ``reference`` are opaque ids chosen by the server (``apt-12``,
``COLIS 88412``). An e-mail address or a phone number in ``recipient`` names a
person at a box where everybody knows everybody: the upsert is rejected, with a
reason that says why. Standard library only: the domain calls it.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")
# a run of digits with the separators people type between them: spaces, dots, dashes,
# slashes, parentheses; an international one starts with + or 00
_NUMBER = re.compile(r"(?:\+|\b)[\d(][\d\s.\-/()]{6,}\d")
_FRENCH = re.compile(r"0[1-9]\d{8}")  # 06 12 34 56 78, 01.23.45.67.89


def personal_data(recipient: str | None) -> str | None:
    """Why ``recipient`` looks like personal data (None: it does not)."""
    if not recipient:
        return None
    if _EMAIL.search(recipient):
        return "recipient looks like an e-mail address"
    for match in _NUMBER.finditer(recipient):
        raw = match.group(0)
        digits = re.sub(r"\D", "", raw)
        if raw.startswith("+") or digits.startswith("00"):  # +33 6 …, 0033 6 …, +1 …
            national = digits[2:] if digits.startswith("00") else digits
            if national.startswith("330"):  # +33 (0)6 12 34 56 78
                national = "33" + national[3:]
            if 8 <= len(national) <= 15 and national[0] != "0":  # E.164
                return "recipient looks like a phone number"
        elif _FRENCH.fullmatch(digits):
            return "recipient looks like a phone number"
    return None


REASON = (
    ": the locker holds no personal data, send an opaque id instead (a household id "
    "such as apt-12; CONTRACT v1.1, Privacy)"
)
