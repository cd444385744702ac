"""What setup cannot know, each answer checked by the rules the config will be held to.

A check returns the value it keeps (normalised) or raises ``ValueError`` with a
sentence for the person installing the cabinet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from locker.config import Settings

HARDWARE = ("gpio", "kerong")
SIZES = ("S", "M", "L")
DEFAULT_BROKER = "127.0.0.1:1883"
PASSWORD_ENV = "LOCKER_SETUP_MQTT_PASSWORD"  # noqa: S105 - a variable's name
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?)$")


@dataclass
class Answers:
    """Each field None: not told (kept as it is, or the default on a first install)."""

    locker_id: str | None = None
    phone: str | None = None
    broker: str | None = None  # "host:port", or "none" for no broker
    password: str | None = None
    tls: bool | None = None
    ca_file: str | None = None
    hardware: str | None = None
    serial_port: str | None = None
    layout: str | None = None  # "example" or "CxR"
    sizes: str | None = None  # "L,M,S", one a row from the bottom


def _pattern(field: str) -> str:
    for meta in Settings.model_fields[field].metadata:
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            return pattern
    raise LookupError(field)


def check_locker_id(text: str) -> str:
    text = text.strip()
    if text == "demo":
        raise ValueError(
            "'demo' is the example's id: give this cabinet's own (e.g. mairie-chambeon)"
        )
    if not re.fullmatch(_pattern("locker_id"), text):
        raise ValueError(
            "a locker id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
            "or a digit (e.g. mairie-chambeon)"
        )
    return text


def check_phone(text: str) -> str:
    text = " ".join(text.split())
    digits = sum(c.isdigit() for c in text)
    if not re.fullmatch(r"\+?[0-9 .()-]+", text) or not 4 <= digits <= 15:
        raise ValueError(
            "a phone number is 4 to 15 digits, with spaces, dots or dashes if you like"
        )
    return text


def parse_broker(text: str) -> tuple[str, int] | None:
    """``host[:port]`` (port 1883, or 8883 written out for TLS), or None for 'none'."""
    text = text.strip()
    if text.lower() == "none":
        return None
    host, port = text, 1883
    match = re.fullmatch(r"(.+):(\d{1,5})", text)
    if match and not text.endswith("]"):
        host, port = match[1], int(match[2])
    if not _HOST.fullmatch(host) or not 1 <= port <= 65535:
        raise ValueError(
            "the broker is a host name or address, with ':port' if not 1883 "
            "(e.g. broker.example.org:8883), or 'none' for a cabinet without a server"
        )
    return host, port


def check_broker(text: str) -> str:
    broker = parse_broker(text)
    return "none" if broker is None else f"{broker[0]}:{broker[1]}"


def check_hardware(text: str) -> str:
    text = text.strip().lower()
    if text not in HARDWARE:
        raise ValueError(
            "the door hardware is 'gpio' (relays on the Pi) or 'kerong' (RS-485 boards)"
        )
    return text


def check_serial_port(text: str) -> str:
    text = text.strip()
    if not (text.startswith("/dev/") or re.match(r"^(socket|rfc2217)://\S+$", text)):
        raise ValueError(
            "the serial port is a device (e.g. /dev/ttyUSB0, /dev/serial/by-id/…) or a "
            "network gateway (socket://192.168.1.50:4001)"
        )
    return text


def parse_layout(text: str) -> tuple[int, int] | None:
    """None for the example's layout, else ``(columns, rows)``."""
    text = text.strip().lower()
    if text == "example":
        return None
    match = re.fullmatch(r"(\d+)\s*[x×*]\s*(\d+)", text)
    if not match or not (1 <= int(match[1]) <= 26 and 1 <= int(match[2]) <= 99):
        raise ValueError(
            "the layout is 'example' (the 12 doors of config/locker.example.toml) or "
            "COLUMNSxROWS, e.g. 3x4 (1 to 26 columns, 1 to 99 rows)"
        )
    return int(match[1]), int(match[2])


def check_layout(text: str) -> str:
    shape = parse_layout(text)
    return "example" if shape is None else f"{shape[0]}x{shape[1]}"


def default_sizes(rows: int) -> str:
    """Large doors at the bottom, small ones at the top, medium between."""
    if rows == 1:
        return "M"
    return ",".join(["L", *["M"] * (rows - 2), "S"])


def parse_sizes(text: str, rows: int) -> list[str]:
    sizes = [s.strip().upper() for s in text.split(",") if s.strip()]
    if len(sizes) != rows or any(s not in SIZES for s in sizes):
        raise ValueError(
            f"give {rows} size(s), one a row from the bottom, each S, M or L, separated by "
            f"commas (e.g. {default_sizes(rows)})"
        )
    return sizes
