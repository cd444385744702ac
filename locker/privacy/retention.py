"""The retention sweep (issue 19): what the locker no longer needs goes, in small
batches, off the requests' path (a ticker chore).

- A final reservation's ``recipient`` and ``reference`` are blanked
  ``personal_data_days`` after it ended: each through the service, as an erasure
  (``reservation.erased``), so the mirror, the event and the scrub follow.
- Events older than ``event_log_days`` are deleted once the broker has them, never an
  unsent one (the store's ``purge_events``); door events (an access log) after
  ``door_log_days``, the cold chain's after ``temperature_days`` (evidence).
- Temperature readings follow ``temperature_days`` (:mod:`locker.store.temperatures`).

Each erasure is its own transaction (the blanks and their event together), each
batch of old events another: a crash in the middle leaves nothing half done, and the
next run picks up where it stopped. Runs only on a trusted clock (a clock far
ahead would take live data for old).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from locker.domain.errors import DomainError
from locker.privacy.config import PrivacyConfig

log = logging.getLogger("locker.privacy")
BATCH = 100  # rows a transaction
BUDGET_S = 0.5  # of work a run, then the ticker goes on (the rest next time)
# the cold chain's events: evidence, kept as long as the readings (decision 29)
EVIDENCE = ("temperature.%", "sensor.%", "cold_chain.%")


class Eraser(Protocol):
    def erase_personal_data(self, reservation_id: str) -> object: ...

    def clock_now(self) -> datetime: ...

    def clock_trusted(self) -> bool: ...


class Purger(Protocol):
    def with_personal_data(self, ended_before: str, limit: int) -> list[str]: ...

    def purge_events(
        self, before: str, limit: int, ages: Sequence[tuple[str, str]] = ()
    ) -> int: ...


@dataclass
class Swept:
    erased: int = 0
    events: int = 0
    done: bool = True  # nothing left past the limits (False: the budget ran out)


class Retention:
    def __init__(self, config: PrivacyConfig, service: Eraser, store: Purger) -> None:
        self.config, self.service, self.store = config, service, store

    def sweep(self, budget_s: float = BUDGET_S, batch: int = BATCH) -> Swept:
        """One run: batches until nothing is left or ``budget_s`` is spent."""
        swept = Swept()
        if not self.service.clock_trusted():
            return swept
        now = self.service.clock_now().astimezone(UTC)
        ended = (now - timedelta(days=self.config.personal_data_days)).isoformat()
        config = self.config
        old = (now - timedelta(days=config.event_log_days)).isoformat()
        doors = (now - timedelta(days=config.door_log_days)).isoformat()
        kept = max(config.temperature_days, config.event_log_days)  # evidence (decision 29)
        evidence = (now - timedelta(days=kept)).isoformat()
        ages = [("door.%", doors), *((kind, evidence) for kind in EVIDENCE)]
        deadline = time.monotonic() + budget_s
        while True:
            ids = self.store.with_personal_data(ended, batch)
            erased = swept.erased
            for rid in ids:
                try:
                    self.service.erase_personal_data(rid)
                    swept.erased += 1
                except DomainError as exc:  # came back in use meanwhile: not final
                    log.info("retention: %s kept: %s", rid, exc.message)
            if ids and swept.erased == erased:  # none of them could go: not again now
                ids = []
            gone = self.store.purge_events(old, batch, ages)
            swept.events += gone
            if len(ids) < batch and gone < batch:
                break
            if time.monotonic() >= deadline:
                swept.done = False
                break
        if swept.erased or swept.events:
            log.info(
                "retention: %d reservations' personal data erased, %d old events deleted",
                swept.erased,
                swept.events,
            )
        return swept
