"""``[privacy]``: how long the locker keeps what it holds (issue 19, docs/privacy.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TEMPERATURE_FLOOR_DAYS = 365  # cold-chain evidence: a year at least (decision 29)
EVENT_LOG_FLOOR_DAYS = 7  # the broker's week: the server can still ask for a resync


class PrivacyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personal_data_days: int = Field(
        default=30,
        ge=1,
        description="a final reservation's recipient and reference are blanked this long "
        "after it ended (reservation.erased)",
    )
    event_log_days: int = Field(
        default=365,
        ge=EVENT_LOG_FLOOR_DAYS,
        description="events older than this are deleted, once the broker has them (never "
        "an unsent one)",
    )
    door_log_days: int = Field(
        default=90,
        ge=EVENT_LOG_FLOOR_DAYS,
        description="door events (which door opened, when, for what: an access log) are "
        "deleted this long after, once the broker has them (CNIL: about three months)",
    )
    temperature_days: int = Field(
        default=400,
        ge=TEMPERATURE_FLOOR_DAYS,
        description="temperature readings, and the cold chain's events, are kept this "
        "long: a year at least (cold-chain proof)",
    )
