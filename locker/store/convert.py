"""Rows to domain objects and back."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from locker.domain.lockout import TerminalState
from locker.domain.model import (
    ColdRecord,
    Compartment,
    Event,
    Kind,
    Opening,
    Purpose,
    Reservation,
    SealedCode,
    Size,
    State,
)
from locker.domain.zones import Reading, ZoneState
from locker.store.tables import CompartmentRow, EventRow, OpeningRow, ReservationRow

MASK = "********"


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _d(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dd(value: str) -> datetime:
    return datetime.fromisoformat(value)


def compartment_row(comp: Compartment) -> dict[str, object]:
    return {
        "id": comp.id,
        "in_service": comp.in_service,
        "service_reason": comp.service_reason,
        "door_open": comp.door_open,
        "door_open_since": _t(comp.door_open_since),
        "left_open_reported": comp.left_open_reported,
        "out_since": _t(comp.out_since),
        "commission": comp.commission,
        "commissioned_at": _t(comp.commissioned_at),
    }


def compartment_from(row: CompartmentRow, base: Compartment) -> Compartment:
    return base.with_(
        in_service=row.in_service,
        service_reason=row.service_reason,
        door_open=row.door_open,
        door_open_since=_d(row.door_open_since),
        left_open_reported=row.left_open_reported,
        out_since=_d(row.out_since),
        commission=row.commission,
        commissioned_at=_d(row.commissioned_at),
    )


def reservation_row(res: Reservation) -> dict[str, object]:
    dep, pick, carer = res.deposit_code, res.pickup_code, res.delegate_code
    live = res.holds_compartment
    return {
        "id": res.id,
        "version": res.version,
        "kind": res.kind.value,
        "size": res.size.value,
        "chilled": res.chilled,
        "accessible": res.accessible,
        "recipient": res.recipient,
        "reference": res.reference,
        "expires_at": res.expires_at.isoformat(),
        "state": res.state.value,
        "compartment": res.compartment,
        "created_at": res.created_at.isoformat(),
        "updated_at": res.updated_at.isoformat(),
        "deposit_digest": dep and dep.digest,
        # NOTE: ciphertexts go once the reservation is over: nothing left to show.
        "deposit_sealed": dep.sealed if dep and live else None,
        "deposit_used": bool(dep and dep.used),
        "pickup_digest": pick and pick.digest,
        "pickup_sealed": pick.sealed if pick and live else None,
        "pickup_used": bool(pick and pick.used),
        "deposited_at": _t(res.deposited_at),
        "closed_at": _t(res.closed_at),
        "held_reason": res.held_reason,
        "cold": None if res.cold is None else cold_json(res.cold),
        "dwell_until": _t(res.dwell_until),
        "delegate": res.delegate,
        "delegate_digest": carer and carer.digest,
        "delegate_sealed": carer.sealed if carer and live else None,
        "delegate_used": bool(carer and carer.used),
        "collected_by": res.collected_by,
        "due_at": _t(res.due_at),
        "credit_s": res.credit_s,
        "reminded_at": _t(res.reminded_at),
    }


def _code(digest: str | None, sealed: str | None, used: bool) -> SealedCode | None:
    return None if digest is None else SealedCode(digest, sealed or "", used)


def reservation_from(row: ReservationRow) -> Reservation:
    return Reservation(
        id=row.id,
        version=row.version,
        kind=Kind(row.kind),
        size=Size(row.size),
        chilled=row.chilled,
        accessible=row.accessible,
        recipient=row.recipient,
        reference=row.reference,
        expires_at=_dd(row.expires_at),
        state=State(row.state),
        compartment=row.compartment,
        created_at=_dd(row.created_at),
        updated_at=_dd(row.updated_at),
        deposit_code=_code(row.deposit_digest, row.deposit_sealed, row.deposit_used),
        pickup_code=_code(row.pickup_digest, row.pickup_sealed, row.pickup_used),
        deposited_at=_d(row.deposited_at),
        closed_at=_d(row.closed_at),
        held_reason=row.held_reason,
        cold=None if row.cold is None else cold_from(row.cold),
        dwell_until=_d(row.dwell_until),
        delegate=row.delegate,
        delegate_code=_code(row.delegate_digest, row.delegate_sealed, row.delegate_used),
        collected_by=row.collected_by,
        due_at=_d(row.due_at),
        credit_s=row.credit_s,
        reminded_at=_d(row.reminded_at),
    )


_COLD_TIMES = ("until", "broken_at", "spike_at")
_ZONE_TIMES = ("read_at", "fault_since", "same_since", "above_since", "alarm_since")


def _times_json(data: dict[str, Any], times: tuple[str, ...]) -> str:
    """A dataclass's fields as JSON, its ``times`` as ISO text."""
    return json.dumps({**data, **{name: _t(data[name]) for name in times}})


def _times_from(text: str, times: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return {**data, **{name: _d(data.get(name)) for name in times}}


def cold_json(rec: ColdRecord) -> str:
    return _times_json(asdict(rec), _COLD_TIMES)


def cold_from(text: str) -> ColdRecord:
    return ColdRecord(**_times_from(text, _COLD_TIMES))


def zone_json(zone: ZoneState) -> str:
    return _times_json(asdict(zone), _ZONE_TIMES)


def zone_from(text: str) -> ZoneState:
    return ZoneState(**_times_from(text, _ZONE_TIMES))


def utc_text(at: datetime) -> str:
    """A reading's time as kept: UTC, so that text order is time order."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def reading_row(reading: Reading) -> dict[str, object]:
    return {
        "zone": reading.zone,
        "at": utc_text(reading.at),
        "celsius": reading.celsius,
        "fault": reading.fault,
        "min_c": None,
        "max_c": None,
        "samples": 1,
        "bucket_s": 0,
    }


def opening_row(opening: Opening) -> dict[str, object]:
    return {
        "compartment": opening.compartment,
        "purpose": opening.purpose.value,
        "reservation_id": opening.reservation_id,
        "pulsed_at": opening.pulsed_at.isoformat(),
        "attempts": opening.attempts,
        "door_seen_open": opening.door_seen_open,
    }


def opening_from(row: OpeningRow) -> Opening:
    return Opening(
        compartment=row.compartment,
        purpose=Purpose(row.purpose),
        reservation_id=row.reservation_id,
        pulsed_at=_dd(row.pulsed_at),
        attempts=row.attempts,
        door_seen_open=row.door_seen_open,
    )


def terminal_json(state: TerminalState) -> str:
    return json.dumps(asdict(state))


def terminal_from(text: str) -> TerminalState:
    raw = json.loads(text)
    raw["recent"] = tuple(raw.get("recent", ()))
    return TerminalState(**raw)


def event_row(event: Event, sealed_secrets: str | None) -> dict[str, object]:
    return {
        "seq": event.seq,
        "event_id": event.event_id,
        "type": event.type,
        "at": event.at.isoformat(),
        "reservation_id": event.reservation_id,
        "compartment": event.compartment,
        "data": json.dumps(event.data, separators=(",", ":")),
        "secret_fields": ",".join(event.secrets),
        "sealed_secrets": sealed_secrets,
        "sent_at": None,
    }


def event_from(row: EventRow, secrets: dict[str, str] | None = None) -> Event:
    names = [n for n in row.secret_fields.split(",") if n]
    return Event(
        seq=row.seq,
        event_id=row.event_id,
        type=row.type,
        at=_dd(row.at),
        reservation_id=row.reservation_id,
        compartment=row.compartment,
        data=json.loads(row.data),
        secrets=secrets if secrets is not None else dict.fromkeys(names, MASK),
    )
