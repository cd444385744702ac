"""The types every contract payload shares: times, ids, codes, and the event envelope."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
)

Timestamp = Annotated[
    AwareDatetime, PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json")
]


def _iso_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("a time is ISO 8601 text with a UTC offset")
    return value


# Text only: pydantic would otherwise take a number as seconds since 1970.
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^/#+\x00]+$")]
Code = Annotated[str, Field(pattern=r"^[0-9]{8}$")]
Version = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]


class Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventBase(Msg):
    event_id: Id
    seq: Annotated[StrictInt, Field(ge=1)]
    at: Timestamp
    locker_id: Id
