"""An SVG chart of one zone's readings, with its limit: readable on the kiosk and in print."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from locker.store.temperatures import Row

W, H = 800, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 40
GAP = timedelta(minutes=5)  # readings further apart than this are not joined


def chart_svg(
    zone: str,
    limit_c: float,
    critical_c: float,
    start: datetime,
    end: datetime,
    rows: list[Row],
) -> str:
    values = [v for r in rows for v in (r.celsius, r.min_c, r.max_c) if v is not None]
    low = min([*values, limit_c - 4.0, 0.0])
    high = max([*values, critical_c + 1.0])
    span_s = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(max((at - start).total_seconds() / span_s, 0.0), 1.0)

    def y(celsius: float) -> float:
        return TOP + plot_h * (high - celsius) / (high - low)

    days = "24 h" if span_s <= 86_400 else f"{round(span_s / 86_400)} jours"
    title = f"Zone {zone} : température, dernières {days} (limite {limit_c:g} °C)"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{W}" height="{H}" fill="#fff"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    out += _grid(low, high, start, end, x, y)
    out.append(
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(limit_c):.1f}" y2="{y(limit_c):.1f}" '
        'stroke="#c0392b" stroke-width="2" stroke-dasharray="8 5"/>'
    )
    out.append(
        f'<text x="{W - RIGHT - 4}" y="{y(limit_c) - 6:.1f}" font-size="12" fill="#c0392b" '
        f'text-anchor="end">limite {limit_c:g} °C</text>'
    )
    for segment in _segments(rows):
        points = " ".join(f"{x(r.at):.1f},{y(r.celsius or 0):.1f}" for r in segment)
        out.append(
            f'<polyline points="{points}" fill="none" stroke="#1f5fbf" stroke-width="2"/>'
            if len(segment) > 1
            else f'<circle cx="{x(segment[0].at):.1f}" cy="{y(segment[0].celsius or 0):.1f}" '
            'r="2.5" fill="#1f5fbf"/>'
        )
    faults = [r for r in rows if r.celsius is None]
    for r in faults:
        out.append(
            f'<rect x="{x(r.at) - 1:.1f}" y="{H - BOTTOM - 8}" width="3" height="8" '
            'fill="#e67e22"><title>sonde en défaut</title></rect>'
        )
    if not rows:
        out.append(
            f'<text x="{W / 2}" y="{H / 2}" font-size="14" text-anchor="middle" fill="#555">'
            "aucune mesure sur cette période</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _segments(rows: list[Row]) -> list[list[Row]]:
    """Runs of trustworthy readings, broken where a fault or a gap lies between them."""
    runs: list[list[Row]] = []
    last: Row | None = None
    for r in rows:
        if r.celsius is None:
            last = None
            continue
        if last is None or r.at - last.at > GAP:
            runs.append([])
        runs[-1].append(r)
        last = r
    return runs


def _grid(
    low: float,
    high: float,
    start: datetime,
    end: datetime,
    x: Callable[[datetime], float],
    y: Callable[[float], float],
) -> list[str]:
    out = []
    step = 2 if high - low <= 20 else 5
    value = int(low // step * step)
    while value <= high:
        if value >= low:
            out.append(
                f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                'stroke="#e5e5e5"/>'
                f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" '
                f'text-anchor="end">{value} °C</text>'
            )
        value += step
    hours = 3 if (end - start) <= timedelta(days=1) else 24
    tick = start.replace(minute=0, second=0, microsecond=0)
    while tick <= end:
        if tick >= start and tick.hour % hours == 0:
            label = f"{tick:%H} h" if hours < 24 else f"{tick:%d/%m}"
            out.append(
                f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP}" y2="{H - BOTTOM}" '
                'stroke="#f0f0f0"/>'
                f'<text x="{x(tick):.1f}" y="{H - BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle">{label}</text>'
            )
        tick += timedelta(hours=1)
    return out
