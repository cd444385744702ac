"""The cold chain's operations of the service: samples, holds released, zone views.

:class:`ColdChainService` is the part of :class:`locker.domain.service.LockerService`
that the probes and staff drive; the rules themselves are in
:mod:`locker.domain.coldchain` and :mod:`locker.domain.zones`.
"""

from __future__ import annotations

from dataclasses import replace

from locker.domain import coldchain
from locker.domain.errors import Conflict, NotFound
from locker.domain.model import Reservation, State
from locker.domain.problems import reported_reasons
from locker.domain.service_hours import HoursService
from locker.domain.state import LockerState, Txn
from locker.domain.zones import ZoneState, healthy

REPORTED = reported_reasons()


class ColdChainService(HoursService):
    def temperature_sampled(self, zone: str, celsius: float | None, fault: str | None) -> None:
        """One sample of a zone's probe: a temperature, or the fault that stood for it."""
        spec = self.rules.zone(zone)
        if spec is None:
            raise NotFound(f"no chilled zone {zone!r}")
        trusted = self.clock_trusted()
        self._run(
            lambda txn: coldchain.zone_sampled(txn, self.rules, spec, celsius, fault, trusted)
        )

    def release(self, reservation_id: str) -> Reservation:
        """Staff checked a held item: back to deposited, its codes valid again (decision 32)."""

        def work(txn: Txn) -> Reservation:
            res = txn.reservation(reservation_id)
            if res is None:
                raise NotFound(f"no reservation {reservation_id!r}")
            if res.state is not State.HELD:
                raise Conflict(f"reservation {res.id} is {res.state}, not held")
            released = res.with_(state=State.DEPOSITED, held_reason=None, updated_at=txn.now)
            if released.pickup_code is not None:  # its codes valid again (decision 32)
                carer = released.delegate_code
                released = released.with_(
                    pickup_code=replace(released.pickup_code, used=False),
                    delegate_code=None if carer is None else replace(carer, used=False),
                    collected_by=None,
                )
            if released.cold is not None:
                rec = released.cold  # checked by staff: the allowance starts again
                fresh = rec.with_(until=txn.now, spikes=0, spike_at=None, broken_at=None)
                released = released.with_(cold=fresh.with_(baseline=rec.minutes_above))
            txn.put(released)
            comp = txn.compartment(res.compartment) if res.compartment else None
            if comp is not None and not comp.in_service and comp.service_reason in REPORTED:
                # out only for the report staff have now checked: its codes open again
                txn.put_compartment(comp.with_(in_service=True, service_reason=None))
            txn.emit(
                "reservation.released",
                reservation_id=res.id,
                compartment=res.compartment,
                reason=res.held_reason or "cold_chain",
            )
            return released

        return self._run(work)

    def zones(self) -> list[tuple[str, ZoneState | None, str | None]]:
        """Each configured zone: its state, and why chilled items may not go in (or None)."""
        now = self._clock.now()
        stale = coldchain.stale_s(self.rules)

        def read(state: LockerState) -> list[tuple[str, ZoneState | None, str | None]]:
            return [
                (
                    spec.id,
                    state.zones.get(spec.id),
                    healthy(spec, state.zones.get(spec.id), now, stale),
                )
                for spec in self.rules.zones
            ]

        return self._view(read)

    def cold_warning(self, cid: str) -> bool:
        """The item in ``cid`` opens although its cold chain broke (``on_broken = "warn"``)."""
        if self.rules.zone_of(cid) is None:
            return False  # not chilled: nothing to look up

        def read(state: LockerState) -> bool:
            res = state.reservations.get(state.holders.get(cid, ""))
            return res is not None and res.cold is not None and res.cold.broken_at is not None

        return self._view(read)

    def temperatures(self) -> dict[str, float | None]:
        """Each zone's temperature to report, to 0.1 °C; None while its probe is faulty."""
        out: dict[str, float | None] = {}
        for zone, state, _ in self.zones():
            value = None if state is None else state.current()
            out[zone] = None if value is None else round(value, 1)
        return out
