"""A fleet on one broker (issue 20; the 1,000-locker figures are make bench's): lockers
with their own credentials under the shipped conf and ACL, the server as two instances
on one MQTT 5 shared subscription; every QoS 1 event reaches exactly one instance, none
lost; after a broker restart every locker comes back, spread over the jitter of the
real client's back-off rather than in one instant (docs/fleet.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from locker.config import MqttConfig
from tests.bench import fleet
from tests.reliability.scale import sized

LOCKERS = sized(200)
EVENTS = 10  # each, all at once; then fleet.PACED_ROUNDS more at a steady rate


@pytest.mark.timeout(sized(600))
def test_a_fleet_on_one_broker_loses_nothing_and_comes_back_spread(tmp_path: Path) -> None:
    r = fleet.run(tmp_path, LOCKERS, EVENTS)
    figures = fleet.summary(r)
    print("FLEET REPORT " + json.dumps(figures))
    assert r.events == LOCKERS * EVENTS and r.lost == 0 and r.lost_after == 0, figures
    assert set(r.by_instance) == set(fleet.SERVERS)  # the broker shares them out
    assert all(n > 0 for n in r.by_instance.values()), r.by_instance
    assert len(r.back_s) == LOCKERS  # every locker back after the restart
    jitter = MqttConfig().reconnect_jitter_s
    assert max(r.back_s) - min(r.back_s) >= jitter / 2, figures  # spread out...
    assert r.busiest_second <= LOCKERS / 3, figures  # ...not in one instant
    assert max(r.back_s) <= 4 * (1 + jitter), figures  # and all soon


@pytest.mark.timeout(sized(600))
def test_without_the_jitter_the_fleet_comes_back_in_one_herd(tmp_path: Path) -> None:
    """The same back-off with no jitter (paho's alone): the check above would fail."""
    r = fleet.run(tmp_path, LOCKERS // 2, 1, jitter_s=0.0)
    print("FLEET REPORT (no jitter) " + json.dumps(fleet.summary(r)))
    assert r.busiest_second > LOCKERS // 2 / 3, fleet.summary(r)
