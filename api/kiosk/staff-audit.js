/* Audit de la consigne: the compartments one after the other. Each is opened for the
   audit (POST /staff/audit/{id}/open: door.opened, reason audit), staff say what they
   found (POST /staff/audit/{id}: compartment.audited with what the locker expected), a
   mismatch is shown at once; once its door is shut the next one opens. At the end, the
   summary with the mismatches (they stay among the alarms until a later audit agrees). */
"use strict";

export function createAudit(ctx) {
  // ctx: { t, layout, comps(), call(method, path, body, once), show(name), grid(id, current) }
  const $ = (id) => document.getElementById(id);
  let run = null; // { order, index, phase, results, mismatch, failure, stopped }

  function current() {
    return run ? run.order[run.index] : null;
  }

  function start() {
    run = { order: ctx.layout.map((c) => c.id), index: 0, phase: "opening", results: [], mismatch: null, failure: null, stopped: false };
    ctx.show("staff-audit");
    openCurrent();
  }

  async function openCurrent() {
    const id = current();
    run.phase = "opening";
    run.failure = null;
    render();
    const result = await ctx.call("POST", `/staff/audit/${encodeURIComponent(id)}/open`, null, true);
    if (!run || current() !== id) return;
    if (!result) return;
    if (!result.ok) {
      run.phase = "failed";
      run.failure = result.body.detail || String(result.status);
    } else run.phase = "question";
    render();
    focus(run.phase === "question" ? "au-empty" : "au-next");
  }

  async function answer(found) {
    if (!run || run.phase !== "question") return;
    const id = current();
    const result = await ctx.call("POST", `/staff/audit/${encodeURIComponent(id)}`, { found }, true);
    if (!run || current() !== id || !result) return;
    if (!result.ok) {
      run.phase = "failed";
      run.failure = result.body.detail || String(result.status);
      return render();
    }
    run.results.push(result.body);
    run.mismatch = result.body.mismatch ? result.body : null; // shown at once, until the next answer
    const comp = ctx.comps()[id];
    if (comp && comp.door_open) {
      run.phase = "closing"; // the next door opens once this one is shut
      render();
      return focus("au-next");
    }
    next();
  }

  function next() {
    if (!run || run.phase === "done") return;
    run.index += 1;
    if (run.index >= run.order.length) return finish(false);
    openCurrent();
  }

  function stop() {
    if (run) finish(true);
  }

  function finish(stopped) {
    run.phase = "done";
    run.stopped = stopped;
    render();
    focus("au-back");
  }

  function onDoor(id, open) {
    if (run && run.phase === "closing" && id === current() && !open) next();
  }

  function focus(id) {
    const el = $(id);
    if (el && !el.hidden) el.focus({ preventScroll: true });
  }

  function words(r) {
    return { door: r.compartment, found: ctx.t(`found_${r.found}`), expected: ctx.t(`found_${r.expected}`) };
  }

  function render() {
    if (!run) return;
    const t = ctx.t;
    const id = current();
    const done = run.phase === "done";
    ctx.grid("au-cabinet", done ? null : id, null);
    $("au-heading").textContent = done
      ? t(run.stopped ? "audit_stopped" : "audit_done")
      : t("audit_title", { n: run.index + 1, total: run.order.length });
    const misses = run.results.filter((r) => r.mismatch);
    let question = "";
    if (done) {
      const n = run.results.length;
      question = misses.length ? t("audit_summary", { n, m: misses.length }) : t("audit_summary_none", { n });
    } else if (run.phase === "opening") question = t("audit_opening", { door: id });
    else if (run.phase === "question") question = t("audit_question", { door: id });
    else if (run.phase === "closing") question = t("audit_close", { door: id });
    else if (run.phase === "failed") question = t("audit_failed", { door: id, status: run.failure });
    if ($("au-question").textContent !== question) $("au-question").textContent = question;
    const miss = !done && run.mismatch ? t("audit_mismatch", words(run.mismatch)) : "";
    $("au-mismatch").hidden = !miss;
    if ($("au-mismatch").textContent !== miss) $("au-mismatch").textContent = miss;
    const list = $("au-list");
    list.hidden = !done || !misses.length;
    list.replaceChildren(
      ...(done ? misses : []).map((r) => {
        const li = document.createElement("li");
        li.textContent = t("audit_line", words(r));
        return li;
      }),
    );
    $("au-empty").hidden = $("au-occupied").hidden = run.phase !== "question";
    $("au-next").hidden = !["closing", "failed"].includes(run.phase);
    $("au-stop").hidden = done;
    $("au-back").hidden = !done;
  }

  function reset() {
    run = null;
  }

  return { start, answer, next, stop, onDoor, render, reset };
}
