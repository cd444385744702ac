/* The cabinet drawing, from the configured layout: the doors open for this person stand out. */
"use strict";

export function drawCabinet(svg, layout, openIds) {
  const ns = "http://www.w3.org/2000/svg";
  const cols = Math.max(...layout.map((c) => c.column)) + 1;
  const rows = Math.max(...layout.map((c) => c.row)) + 1;
  const w = 110;
  const h = 90;
  svg.setAttribute("viewBox", `0 0 ${cols * w + 8} ${rows * h + 8}`);
  svg.replaceChildren();
  for (const c of layout) {
    const x = 4 + c.column * w;
    const y = 4 + (rows - 1 - c.row) * h; // row 0 is the lowest
    const open = openIds.includes(c.id);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", x + 3);
    rect.setAttribute("y", y + 3);
    rect.setAttribute("width", w - 6);
    rect.setAttribute("height", h - 6);
    rect.setAttribute("rx", 6);
    rect.setAttribute("class", open ? "cell open" : "cell");
    rect.dataset.door = c.id;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", x + w / 2);
    label.setAttribute("y", y + h / 2);
    label.setAttribute("class", open ? "open" : "");
    label.textContent = c.id;
    if (c.id.length > (open ? 3 : 5)) {
      // long ids are squeezed into their cell rather than spilling over the next one
      label.setAttribute("textLength", w - 18);
      label.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
    svg.append(rect, label);
  }
}

/* The same cabinet for staff: one cell per compartment in its place (row 0 the lowest),
   a button when `onPick` is given; `describe(c)` answers { lines, cls, current }. */
export function drawGrid(box, layout, describe, onPick) {
  const cols = Math.max(...layout.map((c) => c.column)) + 1;
  const rows = Math.max(...layout.map((c) => c.row)) + 1;
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.door : null;
  box.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
  box.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
  box.replaceChildren();
  for (const c of layout) {
    const { lines, cls, current } = describe(c);
    const cell = document.createElement(onPick ? "button" : "div");
    if (onPick) {
      cell.type = "button";
      cell.addEventListener("click", () => onPick(c.id));
    }
    cell.className = `cell ${cls || ""}`;
    cell.dataset.door = c.id;
    cell.style.gridColumn = String(c.column + 1);
    cell.style.gridRow = String(rows - c.row);
    if (current) cell.setAttribute("aria-current", "true");
    const name = document.createElement("strong");
    name.textContent = c.id;
    cell.append(name);
    for (const line of lines) {
      const span = document.createElement("span");
      span.textContent = line;
      cell.append(" ", span);
    }
    box.append(cell);
  }
  if (focused) box.querySelector(`[data-door="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
}
