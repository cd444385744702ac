"""``[cold_chain]`` and ``[[zones]]``: the chilled zones, their probes and their limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from locker.domain.zones import ColdRules, ZoneSpec

SENSOR_ID = r"^(28-)?[0-9a-f]{12}$"
STRICT_LIMIT_C = 4.0  # at or below: very perishable food, a broken chain is never just a warning


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColdChainConfig(_Strict):
    sample_s: float = Field(default=30.0, ge=1, le=60, description="one read of every probe")
    w1_pin: int = Field(
        default=4, ge=0, le=27, description="BCM pin of the 1-Wire data line (dtoverlay=w1-gpio)"
    )
    w1_devices: Path = Field(
        default=Path("/sys/bus/w1/devices"), description="where the kernel lists the probes"
    )
    read_timeout_s: float = Field(
        default=5.0, gt=0, le=30, description="a read that hangs longer is a missing probe"
    )
    chilled_max_dwell_h: float = Field(
        default=24.0, gt=0, le=168, description="a chilled item's longest stay in the box"
    )
    default_max_c: float = Field(
        default=4.0, ge=-30, le=20, description="an item's limit when the upsert gives no max_c"
    )

    def rules(self) -> ColdRules:
        return ColdRules(
            sample_s=self.sample_s,
            chilled_max_dwell_h=self.chilled_max_dwell_h,
            default_max_c=self.default_max_c,
        )


class ZoneConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
    sensor: str = Field(pattern=SENSOR_ID, description="the DS18B20's id, as in 28-0316a2b4c5d6")
    compartments: list[str] = Field(min_length=1)
    limit_c: float = Field(default=4.0, ge=-30, le=20)
    critical_c: float | None = Field(default=None, description="default: limit_c + 4")
    hysteresis_c: float = Field(default=0.5, ge=0, le=5)
    grace_min: float = Field(default=15.0, ge=0, le=240)
    stuck_s: float = Field(default=14_400.0, ge=600)
    max_minutes_above: float = Field(default=30.0, ge=0, le=1440)
    on_broken: Literal["hold", "warn"] = "hold"

    @model_validator(mode="after")
    def _limits(self) -> ZoneConfig:
        if self.critical_c is not None and self.critical_c <= self.limit_c:
            raise ValueError("critical_c must be above limit_c")
        if self.on_broken == "warn" and self.limit_c <= STRICT_LIMIT_C:
            raise ValueError(
                f"on_broken = 'warn' is refused for a zone at or below {STRICT_LIMIT_C:g} °C "
                "(very perishable food is held, decision 34)"
            )
        return self

    @property
    def device(self) -> str:
        """The probe's directory name under the kernel's 1-Wire devices."""
        return self.sensor if self.sensor.startswith("28-") else f"28-{self.sensor}"

    def spec(self) -> ZoneSpec:
        return ZoneSpec(
            id=self.id,
            compartments=tuple(self.compartments),
            limit_c=self.limit_c,
            critical_c=self.critical_c if self.critical_c is not None else self.limit_c + 4,
            hysteresis_c=self.hysteresis_c,
            grace_min=self.grace_min,
            stuck_s=self.stuck_s,
            max_minutes_above=self.max_minutes_above,
            on_broken=self.on_broken,
        )


def zone_problems(
    zones: list[ZoneConfig],
    cold: ColdChainConfig,
    chilled: set[str],
    known: set[str],
    pins: dict[int, str],
) -> list[str]:
    """What is wrong between the zones and the layout: each chilled compartment in one
    zone, zones naming chilled compartments, and the 1-Wire pin free of the door pins."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    seen_ids: set[str] = set()
    seen_sensors: dict[str, str] = {}
    for i, zone in enumerate(zones):
        where = f"zones.{i} ({zone.id})"
        if zone.id in seen_ids:
            problems.append(f"{where}: zone id used twice")
        seen_ids.add(zone.id)
        if zone.device in seen_sensors:
            problems.append(f"{where}: sensor already used by zone {seen_sensors[zone.device]}")
        seen_sensors[zone.device] = zone.id
        for cid in zone.compartments:
            if cid not in known:
                problems.append(f"{where}: no compartment {cid}")
            elif cid not in chilled:
                problems.append(f"{where}: compartment {cid} is not chilled")
            elif cid in owner:
                problems.append(f"{where}: compartment {cid} is already in zone {owner[cid]}")
            else:
                owner[cid] = zone.id
    for cid in sorted(chilled - owner.keys()):
        problems.append(f"compartment {cid}: chilled, but in no zone (add it to a [[zones]])")
    if zones and cold.w1_pin in pins:
        problems.append(
            f"cold_chain.w1_pin: BCM {cold.w1_pin} is the 1-Wire data line and {pins[cold.w1_pin]}"
        )
    return problems
