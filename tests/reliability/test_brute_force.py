"""Brute force at one terminal: the expected time to open any door, given the live codes
of a full locker, is a property of the configuration, and configs under the floor are
refused."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locker.config import ConfigError, load_settings
from locker.domain.errors import LockedOut, WrongCode
from locker.domain.lockout import (
    CODE_SPACE,
    DAY_S,
    FLOOR_YEARS,
    YEAR_DAYS,
    LockoutPolicy,
    TerminalState,
    register_wrong,
)
from locker.domain.rules import Rules
from tests.conftest import Harness
from tests.helpers import EXAMPLE
from tests.reliability.scale import sized
from tests.test_lifecycle import deposit_and_close, upsert

policies = st.builds(
    LockoutPolicy,
    max_wrong=st.integers(2, 10),
    window_s=st.sampled_from([60.0, 300.0, 900.0]),
    lockout_s=st.sampled_from([60.0, 300.0, 900.0]),
    escalation=st.sampled_from([1.0, 1.5, 2.0, 4.0]),
    max_lockout_s=st.sampled_from([3600.0, DAY_S, 7 * DAY_S]),
    strike_limit=st.sampled_from([5.0, 10.0, 20.0]),
    forgive_per_day=st.sampled_from([0.5, 1.0, 2.0, 3.0, 10.0]),
)


def attacker_guesses(policy: LockoutPolicy, days: float) -> int:
    """The most wrong codes a patient attacker gets through at one terminal in ``days``:
    a guess as soon as the terminal takes one, spaced to dodge the short rule."""
    state, now, guesses = TerminalState(), 0.0, 0
    spacing = policy.window_s / max(1, policy.max_wrong - 1) + 0.001
    while now < days * DAY_S:
        wait = state.retry_after(now)
        if wait:
            now += wait
            continue
        state, _ = register_wrong(policy, state, now)
        guesses += 1
        now += spacing
    return guesses


def guesses_through_the_service(tmp: Path, policy: LockoutPolicy, days: float) -> int:
    """The same attacker at the real service (its stored lockouts, its clock): wrong codes
    that it took as guesses, at one terminal over ``days``."""
    h = Harness(tmp, Rules(locker_id="demo", lockout=policy))
    try:
        upsert(h, "LIVE")
        live = deposit_and_close(h, "LIVE")
        rng = random.Random(policy.max_wrong)
        spacing = policy.window_s / max(1, policy.max_wrong - 1) + 0.001
        end, guesses = h.clock.now() + timedelta(days=days), 0
        while h.clock.now() < end:
            code = f"{rng.randrange(CODE_SPACE):08d}"
            if sum(a != b for a, b in zip(code, live, strict=True)) <= 2:
                continue  # a near miss is forgiven: this attacker makes none
            try:
                h.service.pickup("kiosk@198.51.100.7", code)
            except LockedOut as out:
                h.clock.advance(out.retry_after_s)
                continue
            except WrongCode:
                guesses += 1
            h.clock.advance(spacing)
        assert h.doors.unlocked == [h.service.reservation("LIVE").compartment]  # type: ignore[union-attr]
        return guesses
    finally:
        h.engine.dispose()


@settings(max_examples=sized(40), deadline=None)
@given(policy=policies)
def test_the_formula_bounds_a_simulated_attacker(policy: LockoutPolicy) -> None:
    days = 20.0
    got = attacker_guesses(policy, days)
    assert got <= policy.strike_limit + 1 + days * policy.forgive_per_day


@settings(max_examples=sized(8), deadline=None)
@given(policy=policies)
def test_the_bound_holds_at_the_real_service(
    tmp_path_factory: pytest.TempPathFactory, policy: LockoutPolicy
) -> None:
    days = 5.0
    got = guesses_through_the_service(tmp_path_factory.mktemp("attack"), policy, days)
    assert min(policy.strike_limit, policy.max_wrong) - 1 <= got  # the attacker did try
    assert got <= policy.strike_limit + 1 + days * policy.forgive_per_day


def test_expected_time_for_the_example_config() -> None:
    settings_ = load_settings(EXAMPLE)
    # a full locker, a carer's code beside every resident's: two live codes a compartment
    live = 2 * len(settings_.compartments)  # (decision 27)
    years = settings_.lockout.policy().expected_years_to_open(live)
    assert years >= FLOOR_YEARS
    days = years * YEAR_DAYS
    assert round(days) == 3_999_914  # the figure in docs/reliability.md
    # cross-check by hand: tries needed over guesses let through a day
    tries = (CODE_SPACE + 1) / (live + 1) - settings_.lockout.strike_limit
    assert abs(days - tries * (1 - 79 * live / CODE_SPACE) / settings_.lockout.forgive_per_day) < 1


@settings(max_examples=sized(60), deadline=None)
@given(policy=policies, compartments=st.integers(1, 60))
def test_configs_under_the_floor_are_refused(
    tmp_path_factory: object, policy: LockoutPolicy, compartments: int
) -> None:
    years = policy.expected_years_to_open(2 * compartments)  # carers' codes (decision 27)
    lines = [
        'locker_id = "t"',
        "[lockout]",
        *(f"{k} = {v!r}" for k, v in vars_of(policy).items()),
    ]
    for i in range(compartments):
        lines += ["[[compartments]]", f'id = "X{i}"', 'size = "S"', f"row = {i}"]
    path = Path(str(tmp_path_factory.mktemp("bf"))) / "c.toml"  # type: ignore[attr-defined]
    path.write_text("\n".join(lines))
    try:
        load_settings(path)
        accepted = True
    except ConfigError as err:
        accepted = False
        assert any("floor" in p for p in err.problems)
    assert accepted == (years >= FLOOR_YEARS)


def vars_of(policy: LockoutPolicy) -> dict[str, float]:
    return {name: getattr(policy, name) for name in LockoutPolicy.__dataclass_fields__}
