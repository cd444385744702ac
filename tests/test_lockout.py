"""Lockout after wrong codes: the short rule, escalation, the strike bucket, the floor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from locker.domain.errors import LockedOut, WrongCode
from locker.domain.lockout import FLOOR_YEARS, LockoutPolicy, TerminalState, register_wrong
from tests.conftest import Harness
from tests.test_lifecycle import deposit_and_close, types, upsert

WRONG = "00000000"


def wrong(h: Harness, terminal: str = "kiosk-0@127.0.0.1") -> type[Exception]:
    try:
        h.service.pickup(terminal, WRONG)
    except (WrongCode, LockedOut) as exc:
        return type(exc)
    raise AssertionError("a wrong code opened something")


def test_five_wrong_codes_lock_the_terminal_five_minutes(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    assert [wrong(harness) for _ in range(4)] == [WrongCode] * 4
    assert wrong(harness) is LockedOut
    assert types(harness)[-1] == "code.lockout"
    with pytest.raises(LockedOut) as err:
        harness.service.pickup("kiosk-0@127.0.0.1", code)  # even the right code waits
    assert 290 <= err.value.retry_after_s <= 300
    assert harness.service.pickup("kiosk-0@10.0.0.9", code) == "A3"  # another terminal


def test_lockout_ends_then_escalates(harness: Harness) -> None:
    for _ in range(5):
        wrong(harness)
    harness.clock.advance(301)
    for _ in range(4):
        assert wrong(harness) is WrongCode
    assert wrong(harness) is LockedOut
    with pytest.raises(LockedOut) as err:
        harness.service.pickup("kiosk-0@127.0.0.1", WRONG)
    assert err.value.retry_after_s > 300  # the second lockout lasts longer


def test_two_mistypes_never_lock(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    wrong(harness)
    wrong(harness)
    assert harness.service.pickup("kiosk-0@127.0.0.1", code) == "A3"


def test_malformed_input_does_not_count(harness: Harness) -> None:
    from locker.domain.errors import Invalid

    for _ in range(10):
        with pytest.raises(Invalid):
            harness.service.pickup("t", "12ab")
    assert harness.service.lockouts() == {}


def test_lockout_survives_a_restart(harness: Harness) -> None:
    for _ in range(5):
        wrong(harness)
    harness.reopen()
    with pytest.raises(LockedOut):
        harness.service.pickup("kiosk-0@127.0.0.1", WRONG)


def test_staff_lift_a_lockout(harness: Harness) -> None:
    for _ in range(5):
        wrong(harness)
    harness.service.lift_lockout("kiosk-0@127.0.0.1")
    assert wrong(harness) is WrongCode
    assert "command.done" in types(harness)


def test_paced_guessing_is_held_by_the_strike_bucket() -> None:
    policy = LockoutPolicy()
    state, now, guesses = TerminalState(), 0.0, 0
    locked = False
    while not locked:  # 4 guesses per window: the short rule never fires
        for _ in range(4):
            state, locked = register_wrong(policy, state, now)
            guesses += 1
            if locked:
                break
        now += policy.window_s + 1
    assert guesses <= policy.strike_limit + 1  # a little drains between windows
    # in the long run an attacker gets about forgive_per_day guesses a day
    day_start, day_guesses = now, 0
    while now < day_start + 30 * 86400:
        retry = state.retry_after(now)
        if retry:
            now += retry
            continue
        state, _ = register_wrong(policy, state, now)
        day_guesses += 1
    assert day_guesses <= 30 * policy.forgive_per_day + policy.strike_limit


def test_honest_typos_at_a_shared_kiosk_never_add_up(harness: Harness) -> None:
    upsert(harness, expires_at=harness.clock.now() + timedelta(days=60))
    code = deposit_and_close(harness)
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)  # one digit off
    swap = code[1] + code[0] + code[2:] if code[0] != code[1] else typo
    for _ in range(30):  # four residents' slips a day, for a month
        for slip in (typo, swap, typo, swap):
            assert wrong_with(harness, slip) is WrongCode
            harness.clock.advance(3600)
        harness.clock.advance(20 * 3600)
    assert harness.service.pickup("kiosk-0@127.0.0.1", code) == "A3"


def test_random_guesses_still_add_up(harness: Harness) -> None:
    upsert(harness)
    deposit_and_close(harness)
    results = []
    for i in range(12):  # paced: never 5 within 5 minutes
        results.append(wrong_with(harness, f"{31_415_926 + i * 7_777:08d}"))
        harness.clock.advance(3600)
    assert LockedOut in results


def wrong_with(h: Harness, code: str) -> type[Exception]:
    try:
        h.service.pickup("kiosk-0@127.0.0.1", code)
    except (WrongCode, LockedOut) as exc:
        return type(exc)
    raise AssertionError("a wrong code opened something")


def test_floor_of_the_default_policy() -> None:
    assert LockoutPolicy().expected_years_to_open(12) >= FLOOR_YEARS
    assert LockoutPolicy(forgive_per_day=5).expected_years_to_open(12) < FLOOR_YEARS
