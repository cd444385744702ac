"""Settings: a TOML file (``--config`` or ``LOCKER_CONFIG``) overlaid by ``LOCKER_*`` variables.

Unknown keys are errors everywhere, so a typo in a cabinet's config fails
loudly with its location instead of being ignored.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from locker.coldchain.config import ColdChainConfig, ZoneConfig, zone_problems
from locker.domain.lockout import FLOOR_YEARS, LockoutPolicy
from locker.domain.model import Size
from locker.hours.config import HoursConfig
from locker.layout import layout_problems, lock_addresses
from locker.pins import DEMO_PIN, DEMO_STAFF_PIN, is_pin_hash, verify_pin
from locker.privacy.config import PrivacyConfig
from locker.secrets import key_problem

DEMO_TOKENS = {"admin": "demo-admin", "courier": "demo-courier", "kiosk": "demo-kiosk"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompartmentConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
    size: Size
    chilled: bool = False
    accessible: bool = False
    column: int = Field(default=0, ge=0, description="0 = first column from the left")
    row: int = Field(default=0, ge=0, description="0 = lowest row")
    relay_pin: int | None = Field(default=None, ge=0, le=27, description="BCM number")
    reed_pin: int | None = Field(default=None, ge=0, le=27, description="BCM number")
    led_pin: int | None = Field(
        default=None, ge=0, le=27, description="BCM number of an optional light on the door"
    )
    board: int | None = Field(default=None, ge=0, le=15, description="Kerong board (DIP switches)")
    lock: int | None = Field(default=None, ge=1, le=16, description="lock on that Kerong board")


class DoorsConfig(_Strict):
    hardware: Literal["gpio", "kerong"] = Field(
        default="gpio", description="Pi relays and reed switches, or Kerong RS-485 lock boards"
    )
    active_high: bool = Field(default=False, description="False for the usual active-low boards")
    pulse_ms: int = Field(default=500, ge=20, le=2000)
    debounce_ms: int = Field(default=50, ge=0, le=100)
    open_timeout_s: float = Field(default=10.0, gt=0)
    max_pulses: int = Field(default=2, ge=1, le=5)
    left_open_s: float = Field(default=120.0, gt=0)
    max_concurrent_pulses: int = Field(default=2, ge=1)
    reed_closed_when_active: bool = Field(
        default=True, description="reed switch to ground with pull-up: closed door reads active"
    )
    share_mock_pins: bool = Field(
        default=False,
        description="benchmark layouts only: simulated compartments may share mock pins "
        "(decision 21); refused on real hardware",
    )


class KerongConfig(_Strict):
    port: str = Field(default="/dev/ttyUSB0", description="device or pyserial URL (socket://…)")
    baudrate: int = Field(default=19200, gt=0)
    poll_interval_ms: int = Field(default=250, ge=20, le=10_000)
    timeout_ms: int = Field(default=200, ge=20, le=5000, description="wait for one reply")
    retries: int = Field(default=2, ge=0, le=10, description="then the board is unreachable")


class ScannerConfig(_Strict):
    enabled: bool = False
    port: str = Field(default="/dev/ttyACM0", description="device or pyserial URL")
    baudrate: int = Field(default=9600, gt=0)
    max_line: int = Field(default=256, ge=16, le=4096, description="longer lines are dropped")


class LockoutConfig(_Strict):
    max_wrong: int = Field(default=5, ge=1)
    window_s: float = Field(default=300.0, gt=0)
    lockout_s: float = Field(default=300.0, gt=0)
    escalation: float = Field(default=2.0, ge=1.0)
    max_lockout_s: float = Field(default=86_400.0, gt=0)
    level_decay_s: float = Field(default=86_400.0, gt=0)
    strike_limit: float = Field(default=10.0, ge=1)
    forgive_per_day: float = Field(default=1.0, ge=0)

    def policy(self) -> LockoutPolicy:
        return LockoutPolicy(**self.model_dump())


class ApiConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=65_536, ge=1024)
    tokens: dict[Literal["admin", "courier", "kiosk", "metrics"], list[str]] = Field(
        default_factory=dict, description="'metrics' tokens may only read /metrics"
    )


class SecurityConfig(_Strict):
    secret_key: str = ""
    key_file: Path | None = None


class StorageConfig(_Strict):
    path: Path = Path("var/locker.db")


class ClockConfig(_Strict):
    trust: Literal["always", "ntp"] = Field(
        default="ntp",
        description="'ntp': expire only while the kernel says the clock is synchronised",
    )


def either_first(a: float, b: float) -> float:
    """The expected time until the first of two independent ways in succeeds."""
    if a <= 0 or b <= 0:
        return 0.0
    return 1 / (1 / a + 1 / b)  # 1 / inf is 0: a way that never succeeds adds nothing


class KioskConfig(_Strict):
    courier_pin_hashes: list[str] = Field(
        default_factory=list, description="scrypt hashes of courier PINs: `locker hash-pin`"
    )
    courier_idle_s: float = Field(default=600.0, gt=0, le=3600)
    staff_pin_hashes: list[str] = Field(
        default_factory=list,
        description="scrypt hashes of staff PINs (8 digits or more): `locker hash-pin --staff`",
    )
    staff_idle_s: float = Field(default=300.0, gt=0, le=3600)
    group_pickup: bool = Field(
        default=True, description="after a pickup, offer to open the person's other items"
    )
    speech: bool = Field(
        default=True, description="spoken guidance on request (needs Debian's espeak-ng)"
    )
    speech_key: str = Field(
        default="*",
        min_length=1,
        max_length=16,
        description="the key of a physical keypad that starts speech (a KeyboardEvent.key)",
    )

    @field_validator("speech_key")
    @classmethod
    def _speech_key(cls, key: str) -> str:
        # a letter or a digit would be taken from a scanner's burst or a typed code
        if (len(key) == 1 and (key.isalnum() or key in ":._- ")) or key in (
            "Enter",
            "Backspace",
            "Escape",
            "Tab",
        ):
            raise ValueError(f"{key!r} is used to type codes: choose another key (e.g. '*')")
        return key

    @model_validator(mode="after")
    def _hashes(self) -> KioskConfig:
        for name in ("courier_pin_hashes", "staff_pin_hashes"):
            for i, text in enumerate(getattr(self, name)):
                if not is_pin_hash(text):
                    raise ValueError(f"kiosk.{name}.{i}: not a hash from `locker hash-pin`")
        return self


class MqttConfig(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str = Field(
        default="",
        description="default: the locker id (the shipped broker setup uses the username)",
    )
    username: str = Field(
        default="", description="with config/mosquitto.example.conf: the locker id (ACL %u)"
    )
    password: str = ""
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    session_expiry_s: int = Field(
        default=7 * 86_400, ge=60, description="how long the broker keeps our queued messages"
    )
    topic_prefix: str = Field(default="conciergerie", pattern=r"^[^#+]+$")
    max_message_bytes: int = Field(default=65_536, ge=1024)
    inflight: int = Field(default=100, ge=1, le=65_535)
    reconnect_min_s: int = Field(default=1, ge=1)
    reconnect_max_s: int = Field(default=60, ge=1)
    reconnect_jitter_s: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="after a lost connection, the first reconnect waits reconnect_min_s "
        "plus up to this, at random (locker.sync.backoff): a fleet that lost its broker "
        "at once does not come back at once",
    )

    @model_validator(mode="after")
    def _tls_files(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("mqtt: cert_file and key_file go together")
        return self


class LoggingConfig(_Strict):
    format: Literal["json", "text"] | None = Field(
        default=None, description="default: json on a real cabinet, text in --simulate"
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOCKER_", env_nested_delimiter="__", extra="forbid"
    )

    locker_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    phone: str = Field(default="", description="the conciergerie's number, shown on errors")
    compartments: list[CompartmentConfig] = Field(min_length=1)
    doors: DoorsConfig = Field(default_factory=DoorsConfig)
    kerong: KerongConfig = Field(default_factory=KerongConfig)
    scanner: ScannerConfig = Field(default_factory=ScannerConfig)
    lockout: LockoutConfig = Field(default_factory=LockoutConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    kiosk: KioskConfig = Field(default_factory=KioskConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    cold_chain: ColdChainConfig = Field(default_factory=ColdChainConfig)
    zones: list[ZoneConfig] = Field(default_factory=list, description="chilled zones (fridges)")
    hours: HoursConfig = Field(default_factory=HoursConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    tick_s: float = Field(default=0.25, gt=0, le=5)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        errors = layout_problems(
            [c.model_dump() for c in self.compartments],
            self.doors.hardware,
            self.doors.share_mock_pins,
        )
        errors += zone_problems(
            self.zones,
            self.cold_chain,
            {c.id for c in self.compartments if c.chilled},
            {c.id for c in self.compartments},
            self.gpio_pins(),
        )
        # NOTE: every compartment may hold a reservation with a carer's code: twice the
        # live codes in the worst case (decision 27).
        live = 2 * len(self.compartments)
        policy = self.lockout.policy()
        years = policy.expected_years_to_open(live)
        staff = len(self.kiosk.staff_pin_hashes)
        if staff:  # staff PINs have their own lockout: a second way in (decision 28)
            years = either_first(years, policy.expected_years_to_open(staff))
        if years < FLOOR_YEARS:
            errors.append(
                f"lockout: with {live} live codes and {staff} staff PINs an attacker at "
                f"one terminal would open a door in {years:,.0f} years on average; the "
                f"floor is {FLOOR_YEARS:,.0f}: lower forgive_per_day"
            )
        if errors:
            raise ValueError("\n".join(errors))
        return self

    def gpio_pins(self) -> dict[int, str]:
        """The BCM pins the doors use, each with what it is for (door lights whatever the
        hardware: a Kerong cabinet leaves the Pi's pins free)."""
        kinds = (
            ("relay_pin", "reed_pin", "led_pin") if self.doors.hardware == "gpio" else ("led_pin",)
        )
        pins: dict[int, str] = {}
        for comp in self.compartments:
            for kind in kinds:
                pin = getattr(comp, kind)
                if pin is not None:
                    pins.setdefault(pin, f"compartment {comp.id}'s {kind}")
        return pins

    def file_problems(self) -> list[str]:
        """Files the config names that are not there (reported by check-config; at run
        time a missing TLS file is treated like an unreachable broker)."""
        m = self.mqtt
        named = (
            [
                ("mqtt.ca_file", m.ca_file),
                ("mqtt.cert_file", m.cert_file),
                ("mqtt.key_file", m.key_file),
            ]
            if m.enabled and m.tls
            else []
        )
        return [
            f"{where}: no such file {path}"
            for where, path in named
            if path is not None and not Path(path).is_file()
        ]

    def secrets(self) -> list[str]:
        """The configured secrets, for the log redaction filter."""
        tokens = [t for role_tokens in self.api.tokens.values() for t in role_tokens]
        return [*tokens, self.mqtt.password, self.security.secret_key]

    def hardware_problems(self) -> list[str]:
        """What is acceptable in simulation but not on a real cabinet (decision 11)."""
        problems: list[str] = []
        for role, tokens in self.api.tokens.items():
            for token in tokens:
                if token in DEMO_TOKENS.values():
                    problems.append(f"api.tokens.{role}: the demo token {token!r} is not allowed")
                elif len(token) < 16:
                    problems.append(f"api.tokens.{role}: tokens need at least 16 characters")
        if verify_pin(DEMO_PIN, self.kiosk.courier_pin_hashes):
            problems.append(f"kiosk.courier_pin_hashes: the demo PIN {DEMO_PIN} is not allowed")
        if verify_pin(DEMO_STAFF_PIN, self.kiosk.staff_pin_hashes):
            problems.append(f"kiosk.staff_pin_hashes: the demo PIN {DEMO_STAFF_PIN} is not allowed")
        key_file = self.security.key_file
        key = key_problem(self.security.secret_key, key_file)
        if not self.security.secret_key and key_file is not None and not key_file.is_absolute():
            # NOTE: the unit's working directory is the database's: the key would sit beside it
            problems.append(
                f"security.key_file: {key_file} is a relative path: give an absolute one, out "
                "of the database's directory (/etc/locker/locker.key)"
            )
        elif key is not None:
            problems.append(f"security: {key}")
        if self.doors.share_mock_pins:
            problems.append("doors.share_mock_pins: mock pins only exist in simulation")
        if self.doors.hardware == "gpio":
            for comp in self.compartments:
                if comp.relay_pin is None or comp.reed_pin is None:
                    problems.append(f"compartment {comp.id}: relay_pin and reed_pin are required")
        return problems

    def kerong_locks(self) -> dict[str, tuple[int, int]]:
        """``(board, lock)`` of each compartment: as configured, or by its order in the layout."""
        return lock_addresses([c.model_dump() for c in self.compartments])[0]


def config_path(explicit: str | Path | None) -> Path | None:
    raw = explicit if explicit is not None else os.environ.get("LOCKER_CONFIG")
    return Path(raw) if raw else None


def load_settings(path: Path | None, **overrides: Any) -> Settings:
    """Load settings from ``path`` (TOML) and the environment.

    Raises :class:`ConfigError` listing every problem with its location.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError([f"{path}: no such file"])
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
        except OSError as exc:  # e.g. 0640 root:locker, read by a user outside the group
            raise ConfigError([f"{path}: cannot be read: {exc.strerror or exc}"]) from exc

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return _FromFile(**overrides)
    except ValidationError as exc:
        problems = format_errors(exc)
        if not any(p.startswith("(top level)") for p in problems):  # cross-checks did not run
            comps = overrides.get("compartments", raw.get("compartments"))
            doors = raw.get("doors")
            share = isinstance(doors, dict) and doors.get("share_mock_pins") is True
            if isinstance(comps, list):
                hardware = _hardware(overrides) or _hardware(raw)
                problems += [f"(top level): {p}" for p in layout_problems(comps, hardware, share)]
        raise ConfigError(problems) from exc


def _hardware(values: dict[str, Any]) -> object:
    doors = values.get("doors")
    return doors.get("hardware") if isinstance(doors, dict) else None


def format_errors(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        lines.extend(f"{where}: {part}" for part in message.split("\n"))
    return lines


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def report(self, heading: str) -> None:
        """Print ``heading`` and every problem on its own line, to stderr."""
        print(heading, file=sys.stderr)
        for line in self.problems:
            print(f"  {line}", file=sys.stderr)
