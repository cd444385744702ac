/* Staff: each chilled zone's value, limit and state, and its chart of the last 24 hours.
   The chart needs the staff token, so it is fetched and shown as a data: image (the
   page's CSP allows 'self' and data: images, and an <img> cannot send the header). */
"use strict";

// ctx: { t, lang(), show(name), call(method, path), token(), end(tellService), failed(result) }
export async function showTemps(ctx) {
  const { t } = ctx;
  const result = await ctx.call("GET", "/temperatures");
  if (!result) return;
  if (!result.ok) return ctx.failed(result);
  const box = document.getElementById("temps");
  box.replaceChildren();
  if (!result.body.zones.length) box.textContent = t("temps_none");
  const fr = ctx.lang() === "fr";
  const deg = (v) => `${fr ? v.toFixed(1).replace(".", ",") : v.toFixed(1)}\u00a0°C`;
  for (const z of result.body.zones) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    let value = z.celsius === null ? t("zone_unknown") : deg(z.celsius);
    if (z.fault) value = t("zone_fault", { fault: z.fault });
    const line = t("zone_line", { zone: z.zone, doors: z.compartments.join(", "), value, limit: deg(z.limit_c) });
    cap.textContent = `${line}. ${z.healthy ? t("zone_ok") : z.problem || ""}`;
    const img = document.createElement("img");
    img.alt = t("chart_alt", { zone: z.zone });
    img.dataset.zone = z.zone;
    fig.append(cap, img);
    box.append(fig);
    chart(ctx, z.zone, img);
  }
  ctx.show("staff-temps");
}

async function chart(ctx, zone, img) {
  try {
    const r = await fetch(`/api/v1/temperatures/${encodeURIComponent(zone)}/chart.svg`, {
      headers: { Authorization: `Bearer ${ctx.token()}` },
    });
    if (r.status === 401) return ctx.end(false);
    if (r.ok) img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(await r.text())}`;
  } catch (err) {
    /* no chart: the value above stays */
  }
}
