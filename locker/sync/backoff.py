"""The reconnect back-off, with jitter (issue 20).

paho waits ``min_delay`` before its first reconnect and doubles the wait after each
failure, up to ``max_delay``: the same for every client. A fleet of lockers that lost
one broker at the same instant would come back at the same instants, again and again.
So each time a connection is lost, the first wait is drawn anew at random between
``reconnect_min_s`` and ``reconnect_min_s + reconnect_jitter_s`` (``reconnect_max_s``
at most); the doubling goes on from there, so the fleet stays spread over the whole
back-off."""

from __future__ import annotations

import random

import paho.mqtt.client as mqtt


def first_wait(min_s: float, max_s: float, jitter_s: float, rng: random.Random) -> float:
    """The wait before the first reconnect, drawn anew for each lost connection (never
    beyond ``max_s``)."""
    return min_s + rng.uniform(0.0, max(0.0, min(jitter_s, max_s - min_s)))


def arm(
    client: mqtt.Client, min_s: float, max_s: float, jitter_s: float, rng: random.Random
) -> float:
    """Set ``client``'s next back-off (paho resets it on this call); answer its first wait."""
    wait = first_wait(min_s, max_s, jitter_s, rng)
    # paho's hints say int; it adds the delay to time.time(), so seconds as a float work
    client.reconnect_delay_set(wait, max(max_s, wait))  # type: ignore[arg-type]
    return wait
