"""Choosing a compartment for a new reservation."""

from __future__ import annotations

from collections.abc import Iterable

from locker.domain.model import Compartment, Size


def choose(
    candidates: Iterable[Compartment], size: Size, chilled: bool, accessible: bool
) -> Compartment | None:
    """The compartment a reservation should get, or None when nothing fits.

    ``candidates`` are the free, in-service compartments. The rules:

    * the compartment is at least as large as asked;
    * a chilled item only goes to a chilled compartment; a plain item goes to a
      chilled one only when no plain one fits;
    * an accessible compartment is only given to a reservation that asks for
      one, unless nothing else fits; a reservation that asks for one gets one
      or nothing;
    * among the rest, the smallest one wins (then the lowest id, for a stable
      choice).
    """
    best: tuple[tuple[int, int, int, str], Compartment] | None = None
    for comp in candidates:
        spec = comp.spec
        if spec.size.rank < size.rank:
            continue
        if chilled and not spec.chilled:
            continue
        if accessible and not spec.accessible:
            continue
        key = (
            int(spec.accessible and not accessible),
            int(spec.chilled and not chilled),
            spec.size.rank,
            spec.id,
        )
        if best is None or key < best[0]:
            best = (key, comp)
    return None if best is None else best[1]
