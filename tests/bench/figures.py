"""Figures as results.json holds them, and the table printed from them."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass


@dataclass
class Figure:
    name: str
    unit: str
    n: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    value: float | None = None
    target: float | None = None
    met: bool | None = None
    note: str = ""

    def as_json(self) -> dict[str, object]:
        out = asdict(self)
        for key in ("p50", "p95", "p99", "value"):
            if out[key] is None:
                del out[key]
        return out


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(
    name: str, unit: str, samples: list[float], most: float | None, note: str = ""
) -> Figure:
    """p50/p95/p99 of ``samples``; met when p99 <= ``most``."""
    ordered = sorted(samples)
    fig = Figure(
        name,
        unit,
        len(ordered),
        p50=round(statistics.median(ordered), 3),
        p95=round(_quantile(ordered, 0.95), 3),
        p99=round(_quantile(ordered, 0.99), 3),
        target=most,
        note=note,
    )
    if most is not None and fig.p99 is not None:
        fig.met = fig.p99 <= most
    return fig


def value(
    name: str,
    unit: str,
    n: int,
    measured: float,
    target: float | None = None,
    higher_is_better: bool = False,
    note: str = "",
) -> Figure:
    fig = Figure(name, unit, n, value=round(measured, 3), target=target, note=note)
    if target is not None:
        fig.met = measured >= target if higher_is_better else measured <= target
    return fig


def table(figures: list[Figure]) -> str:
    head = ("figure", "unit", "n", "p50", "p95", "p99 / value", "target", "met")
    rows = [head]
    for f in figures:
        main = f.p99 if f.value is None else f.value
        rows.append(
            (
                f.name,
                f.unit,
                str(f.n),
                "" if f.p50 is None else f"{f.p50:g}",
                "" if f.p95 is None else f"{f.p95:g}",
                f"{main:g}",
                "" if f.target is None else f"{f.target:g}",
                {True: "yes", False: "NO", None: "-"}[f.met],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


_MET = {True: "yes", False: "**no**", None: "-"}


def markdown(results: dict[str, object]) -> str:
    """The README's table, from a ``results.json``."""
    rows = [
        "| figure | n | p50 | p95 | p99 / value | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    figures = results["figures"]
    assert isinstance(figures, list)
    for f in figures:
        main = f.get("p99", f.get("value"))
        target = f.get("target")
        rows.append(
            f"| `{f['name']}` ({f['unit']}) | {f['n']} | {f.get('p50', '')} | {f.get('p95', '')} "
            f"| {main} | {'' if target is None else target} "
            f"| {_MET[f['met']]} |"
        )
    return "\n".join(rows)
