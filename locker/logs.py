"""Log lines: JSON objects (one a line) on a real cabinet, text in simulation.

Every line passes a redaction filter first, as a defence in depth: the code
never logs a pickup code, a QR payload or a token on purpose, and should one
slip into a message or a traceback anyway, it is replaced before any handler
writes it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PATTERNS = (
    # QR payloads first: they hold a code. LKR1:<locker id>:<digits>, or what is left of one.
    (re.compile(r"LKR1:[^\s\"'<>,;]*"), "LKR1:" + REDACTED),
    (re.compile(r"(?i)\b(bearer)(\s+|%20)[^\s\"'<>,;]+"), r"\1 " + REDACTED),
    (re.compile(r"(?<![0-9])[0-9]{8}(?![0-9])"), REDACTED),  # one-time codes: 8 digits
)


class Redactor:
    """Replaces codes, QR payloads, bearer tokens and the configured secrets in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        # longest first, so a secret that contains another is replaced whole
        known = {*self._secrets, *(s for s in secrets if len(s) >= 4)}
        self._secrets = sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class RedactFilter(logging.Filter):
    """Redacts a record's message, arguments included, and its traceback, in place."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # wrong arguments for the format: keep the format alone
            message = f"{record.msg} (unformattable log arguments)"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, exc_info when present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(json_lines: bool, level: str, secrets: Iterable[str] = ()) -> Redactor:
    """Send every log record (uvicorn's too) to stderr, redacted, as JSON or text.

    Answers the redactor, to which secrets known later (the key file's) are added."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler()
    handler.addFilter(RedactFilter(redactor))
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return redactor
