"""A minimal SVG writer with deterministic output, and the Raspberry Pi's 40-pin header.

Standard library only: the wiring diagram is drawn by ``tools/wiring_svg.py``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

# The 40-pin header (J8) of every Pi since the B+ (Pi 4 and Pi 5 included), in
# physical order: pin 1 (3V3, the square pad) first. An int is a BCM GPIO number.
HEADER: tuple[int | str, ...] = (
    "3V3", "5V", 2, "5V", 3, "GND", 4, 14, "GND", 15,
    17, 18, 27, "GND", 22, 23, "3V3", 24, 10, "GND",
    9, 25, 11, 8, "GND", 7, 0, 1, 5, "GND",
    6, 12, 13, "GND", 19, 16, 26, 20, "GND", 21,
)  # fmt: skip


def physical_pin(bcm: int) -> int:
    """The header pin (1..40) that carries BCM GPIO ``bcm``."""
    return HEADER.index(bcm) + 1


def pins_named(name: str) -> list[int]:
    """The header pins named ``name`` ("3V3", "GND", "5V"), lowest first."""
    return [i + 1 for i, what in enumerate(HEADER) if what == name]


class Svg:
    """Elements appended in drawing order; :meth:`text` gives the same bytes for the same calls."""

    def __init__(self, width: int, height: int, font: str) -> None:
        self.width = width
        self.height = height
        self.font = font
        self.parts: list[str] = []

    def _add(self, tag: str, attrs: dict[str, object], body: str | None = None) -> None:
        text = " ".join(f"{k.replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items())
        self.parts.append(f"<{tag} {text}/>" if body is None else f"<{tag} {text}>{body}</{tag}>")

    def line(self, x1: int, y1: int, x2: int, y2: int, color: str, width: int = 2) -> None:
        self._add(
            "line", {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "stroke": color, "stroke_width": width}
        )

    def path(self, d: str, color: str, width: int = 2, fill: str = "none") -> None:
        self._add("path", {"d": d, "stroke": color, "stroke_width": width, "fill": fill})

    def rect(
        self, x: int, y: int, w: int, h: int, fill: str, stroke: str = "none", r: int = 0
    ) -> None:
        attrs: dict[str, object] = {"x": x, "y": y, "width": w, "height": h, "rx": r}
        self._add("rect", {**attrs, "fill": fill, "stroke": stroke, "stroke_width": 1.5})

    def circle(self, x: int, y: int, r: int, fill: str, stroke: str = "none") -> None:
        self._add("circle", {"cx": x, "cy": y, "r": r, "fill": fill, "stroke": stroke})

    def label(
        self,
        x: int,
        y: int,
        content: str,
        size: int = 13,
        color: str = "#222",
        anchor: str = "start",
        weight: str = "normal",
    ) -> None:
        attrs = {"x": x, "y": y, "font_size": size, "fill": color, "text_anchor": anchor}
        self._add("text", {**attrs, "font_weight": weight}, escape(content))

    def pill(self, x: int, y: int, w: int, content: str, color: str, anchor: str = "start") -> None:
        """A net label: white text on a coloured rounded box, centred on ``y``."""
        left = x - w if anchor == "end" else x
        self.rect(left, y - 10, w, 20, color, r=10)
        self.label(left + w // 2, y + 4, content, 12, "#fff", "middle", "bold")

    def text(self, title: str) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            f"font-family={quoteattr(self.font)}>"
        )
        body = "\n".join(self.parts)
        return f"{head}\n<title>{escape(title)}</title>\n{body}\n</svg>\n"
