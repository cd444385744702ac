"""Per-terminal lockout after wrong codes, and the brute-force floor it guarantees.

Two rules work together:

* the short rule of the issue: ``max_wrong`` wrong codes within ``window_s``
  lock the terminal for ``lockout_s``; every further lockout lasts
  ``escalation`` times longer (capped), and the level decays by one for each
  ``level_decay_s`` without a lockout;
* a leaky bucket of *strikes*: each wrong code adds one, ``forgive_per_day``
  leak away per day, and reaching ``strike_limit`` locks the terminal until
  one strike has leaked away. An attacker who paces guesses to dodge the
  short rule is held to ``forgive_per_day`` guesses a day in the long run,
  which is what the floor is computed from (tests/reliability checks the
  bound against a simulated attacker for many policies).

A code one slip away from a live code (one digit changed, two neighbours
swapped) is an honest typo: it counts toward the short rule only, so the
residents sharing one kiosk do not add up to a lockout over the days. A
random guess is such a near miss with a chance of 79 * k / 10^8, which the
floor computation takes into account.

A resident who mistypes twice is never locked out by either rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from locker.domain.codes import TYPO_VARIANTS

DAY_S = 86_400.0
YEAR_DAYS = 365.25
CODE_SPACE = 10**8  # 8-digit codes
FLOOR_YEARS = 10_000.0


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_wrong: int = 5
    window_s: float = 300.0
    lockout_s: float = 300.0
    escalation: float = 2.0
    max_lockout_s: float = DAY_S
    level_decay_s: float = DAY_S
    strike_limit: float = 10.0
    forgive_per_day: float = 1.0

    def duration(self, level: int) -> float:
        """Length of the ``level``-th lockout in a row (level 1 is the first)."""
        raw = self.lockout_s * self.escalation ** max(0, level - 1)
        return min(raw, max(self.max_lockout_s, self.lockout_s))

    def expected_years_to_open(self, live_codes: int, code_space: int = CODE_SPACE) -> float:
        """Expected years for an attacker at one terminal to hit any of ``live_codes``.

        Guessing distinct codes, the expected number of tries to hit one of k
        live codes among N is (N + 1) / (k + 1). In the long run the strike
        bucket lets ``forgive_per_day`` wrong codes through a day, after an
        initial burst of ``strike_limit``.
        """
        if live_codes <= 0:
            return math.inf
        tries = (code_space + 1) / (live_codes + 1)
        paced = max(0.0, tries - self.strike_limit)
        if self.forgive_per_day <= 0:
            return math.inf
        # Near misses of a live code are not counted in the bucket: an attacker
        # gets that many guesses "for free".
        counted = max(0.0, 1.0 - TYPO_VARIANTS * live_codes / code_space)
        return paced * counted / self.forgive_per_day / YEAR_DAYS


@dataclass(frozen=True, slots=True)
class TerminalState:
    """What is remembered of one terminal (API credential + client address)."""

    recent: tuple[float, ...] = ()  # times of wrong codes inside the short window
    strikes: float = 0.0
    strikes_at: float = 0.0
    level: int = 0
    last_lockout_at: float | None = None
    locked_until: float | None = None

    def retry_after(self, now: float) -> int | None:
        """Seconds to wait, rounded up, or None when the terminal may try."""
        if self.locked_until is None or now >= self.locked_until:
            return None
        return max(1, math.ceil(self.locked_until - now))

    def is_idle(self, policy: LockoutPolicy, now: float) -> bool:
        """True when forgetting this terminal changes nothing."""
        return (
            self.retry_after(now) is None
            and not [t for t in self.recent if now - t < policy.window_s]
            and _drained(policy, self, now) <= 0.0
            and _decayed_level(policy, self, now) == 0
        )


def _drained(policy: LockoutPolicy, state: TerminalState, now: float) -> float:
    elapsed = max(0.0, now - state.strikes_at)
    return max(0.0, state.strikes - elapsed * policy.forgive_per_day / DAY_S)


def _decayed_level(policy: LockoutPolicy, state: TerminalState, now: float) -> int:
    if state.last_lockout_at is None or state.level == 0:
        return state.level
    quiet = max(0.0, now - state.last_lockout_at)
    steps = int(quiet // policy.level_decay_s) if policy.level_decay_s > 0 else state.level
    return max(0, state.level - steps)


def register_wrong(
    policy: LockoutPolicy, state: TerminalState, now: float, near_miss: bool = False
) -> tuple[TerminalState, bool]:
    """Count one wrong code at ``now``; answer the new state and whether a lockout began.

    ``near_miss``: the code is one slip away from a live code (an honest typo).
    """
    recent = (*(t for t in state.recent if now - t < policy.window_s), now)
    strikes = _drained(policy, state, now) + (0.0 if near_miss else 1.0)
    level = _decayed_level(policy, state, now)
    if len(recent) >= policy.max_wrong or strikes >= policy.strike_limit:
        level += 1
        wait = policy.duration(level)
        if strikes >= policy.strike_limit:
            # NOTE: a full bucket stays shut until one strike has leaked away, so that
            # in the long run no more than forgive_per_day guesses get through.
            excess = strikes - (policy.strike_limit - 1.0)
            rate = policy.forgive_per_day / DAY_S
            wait = max(wait, excess / rate if rate > 0 else math.inf)
        return (
            TerminalState(
                recent=(),
                strikes=strikes,
                strikes_at=now,
                level=level,
                last_lockout_at=now,
                locked_until=now + min(wait, 10 * 365 * DAY_S),
            ),
            True,
        )
    return replace(state, recent=recent, strikes=strikes, strikes_at=now, level=level), False
