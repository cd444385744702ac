"""What a ``recipient`` must not look like (CONTRACT v1.1, *Privacy*).

``recipient`` and ``reference`` are opaque ids chosen by the server (``apt-12``,
``COLIS 88412``). An e-mail address or a phone number in ``recipient`` names a
person at a box where everybody knows everybody: the upsert is rejected, with a
reason that says why. Standard library only: the domain calls it.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")  # jean@localhost too: no opaque id holds an @
_SEP = r"[\s.\-\u2010-\u2015()]*"  # what people type between digits (no slash: dates)
_PHONES = [
    # French, national: 06 12 34 56 78, 01.23.45.67.89, also inside a longer text
    re.compile(rf"(?<!\d)0{_SEP}[1-9](?:{_SEP}\d){{8}}(?!\d)"),
    # international: +33 6 12 34 56 78, +33 (0)6 …, 0033 6 …, +44 20 7946 0958
    re.compile(rf"(?:\+|(?<!\d)00){_SEP}[1-9](?:{_SEP}\d){{6,14}}(?!\d)"),
    # French without its + or its 0: 33612345678, 6 12 34 56 78
    re.compile(rf"(?<!\d)33{_SEP}[1-9](?:{_SEP}\d){{8}}(?!\d)"),
    re.compile(r"(?<!\d)[67](?:[\s.\-\u2010-\u2015]\d{2}){4}(?!\d)"),
]


def personal_data(recipient: str | None) -> str | None:
    """Why ``recipient`` looks like personal data (None: it does not)."""
    if not recipient:
        return None
    if _EMAIL.search(recipient):
        return "recipient looks like an e-mail address"
    if any(p.search(recipient) for p in _PHONES):
        return "recipient looks like a phone number"
    return None


REASON = (
    ": the locker holds no personal data, send an opaque id instead (a household id "
    "such as apt-12; CONTRACT v1.1, Privacy)"
)
