"""Choosing a compartment for a new reservation."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from locker.domain.model import Compartment, CompartmentSpec, Size


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


_Kind = tuple[Size, bool, bool]  # size, chilled, accessible


class FreeIndex:
    """The free compartments by kind, each kind's ids kept sorted.

    :func:`choose` over every free compartment costs a pass over the layout; the
    index answers the same question in a few lookups (a layout of 10,000
    simulated compartments books 10,000 reservations without slowing down).
    """

    def __init__(self) -> None:
        self._ids: dict[_Kind, list[str]] = {}

    def set_free(self, spec: CompartmentSpec, free: bool) -> None:
        ids = self._ids.setdefault((spec.size, spec.chilled, spec.accessible), [])
        at = bisect.bisect_left(ids, spec.id)
        present = at < len(ids) and ids[at] == spec.id
        if free and not present:
            ids.insert(at, spec.id)
        elif not free and present:
            del ids[at]

    def choose(self, size: Size, chilled: bool, accessible: bool, skip: set[str]) -> str | None:
        """The id :func:`choose` would pick among the indexed compartments not in ``skip``."""
        best: tuple[tuple[int, int, int, str], str] | None = None
        for (c_size, c_chilled, c_accessible), ids in self._ids.items():
            if c_size.rank < size.rank or (chilled and not c_chilled):
                continue
            if accessible and not c_accessible:
                continue
            first = next((cid for cid in ids if cid not in skip), None)
            if first is None:
                continue
            key = (
                int(c_accessible and not accessible),
                int(c_chilled and not chilled),
                c_size.rank,
                first,
            )
            if best is None or key < best[0]:
                best = (key, first)
        return None if best is None else best[1]
