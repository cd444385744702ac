"""Allocation: smallest fit; accessible and chilled ones kept for those who need them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from locker.domain.allocation import FreeIndex, choose
from locker.domain.model import Compartment, CompartmentSpec, Size


def comp(cid: str, size: str, chilled: bool = False, accessible: bool = False) -> Compartment:
    return Compartment(CompartmentSpec(cid, Size(size), chilled, accessible))


CABINET = [
    comp("A1", "L", accessible=True),
    comp("C1", "M", accessible=True),
    comp("A2", "L"),
    comp("B2", "M", chilled=True),
    comp("C2", "M"),
    comp("C3", "S"),
]


def pick(size: str, chilled: bool = False, accessible: bool = False, free=CABINET) -> str | None:  # type: ignore[no-untyped-def]
    found = choose(free, Size(size), chilled, accessible)
    return None if found is None else found.id


def test_smallest_that_fits() -> None:
    assert pick("S") == "C3"
    assert pick("M") == "C2"
    assert pick("L") == "A2"


def test_larger_when_the_size_is_gone() -> None:
    assert pick("S", free=[c for c in CABINET if c.id != "C3"]) == "C2"


def test_accessible_only_when_asked_or_nothing_else_fits() -> None:
    assert pick("M", accessible=True) == "C1"
    assert pick("L", free=[c for c in CABINET if c.id != "A2"]) == "A1"
    assert pick("S", accessible=True, free=[c for c in CABINET if not c.spec.accessible]) is None


def test_chilled_rules() -> None:
    assert pick("S", chilled=True) == "B2"
    assert pick("L", chilled=True) is None  # a chilled item never goes to a plain one
    plain_gone = [c for c in CABINET if c.id not in ("C2", "C3", "A2")]
    assert pick("S", free=plain_gone) == "B2"  # plain item in a chilled one: last resort


def test_prefers_plain_accessible_last() -> None:
    only_special = [comp("X", "M", chilled=True), comp("Y", "M", accessible=True)]
    assert pick("M", free=only_special) == "X"


def test_nothing_free() -> None:
    assert pick("S", free=[]) is None


@given(
    layout=st.lists(
        st.tuples(st.sampled_from("SML"), st.booleans(), st.booleans(), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    size=st.sampled_from("SML"),
    chilled=st.booleans(),
    accessible=st.booleans(),
    skip=st.sets(st.integers(0, 29), max_size=5),
)
def test_the_free_index_picks_what_choose_picks(
    layout: list[tuple[str, bool, bool, bool]],
    size: str,
    chilled: bool,
    accessible: bool,
    skip: set[int],
) -> None:
    comps = [comp(f"K{i:02}", s, c, a) for i, (s, c, a, _free) in enumerate(layout)]
    index = FreeIndex()
    for _ in range(2):  # marking twice changes nothing
        for c, (*_, is_free) in zip(comps, layout, strict=True):
            index.set_free(c.spec, is_free)
    skipped = {f"K{i:02}" for i in skip}
    candidates = [c for c, (*_, f) in zip(comps, layout, strict=True) if f and c.id not in skipped]
    want = choose(candidates, Size(size), chilled, accessible)
    got = index.choose(Size(size), chilled, accessible, skipped)
    assert got == (None if want is None else want.id)
