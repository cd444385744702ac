/* Mise en service (issue 18): an electrician or a volunteer installing the cabinet tries
   every free compartment's door in turn. The service pulses one relay at a time (POST
   /staff/commissioning); the person pulls the door that popped and shuts it again. With
   door switches (GPIO) the switches tell which door opened and when it is shut: the step
   ends by itself. Kerong lock boards have no door switch: the person taps, on the
   drawing, the door that opened, and the step ends when the lock latches. At the end, a
   table of what each door did and the corrected wiring of a swapped pair. The run lives
   on the service: this page follows it (a poll every second while a step runs, and at
   once on a door change), so a reload or another kiosk picks it up where it is. */
"use strict";

import { drawGrid } from "/kiosk/cabinet.js";

const PATH = "/staff/commissioning";
const POLL_MS = 1000;

export function createCommission(ctx) {
  // ctx: { t, lang(), layout, comps(), call(method, path, body, once), show(name), screen(), touch(),
  //        failed(result) }
  const $ = (id) => document.getElementById(id);
  let run = null; // the service's answer: { active, hardware, step, remaining, results, … }
  let timer = null;
  let gen = 0; // bumped by each action: a poll answer older than it is dropped
  let stopped = false; // this page stopped the run
  let note = ""; // the last action's outcome (a failure, a pulse repeated) ...
  let noteStep = null; // ... said while this compartment's step lasts
  let progress = null; // what moved last: a new step or a door read open keeps the session
  const shown = {};

  const t = (key, vars) => ctx.t(key, vars);
  const kerong = () => run && run.hardware === "kerong";
  const onStep = () => ctx.screen() === "staff-cm-step";

  /* ---------- following the run ---------- */

  async function fetchRun() {
    const r = await ctx.call("GET", PATH);
    if (!r) return null;
    if (!r.ok) {
      say(t("staff_failed", { status: r.body.detail || r.status }));
      return null;
    }
    return r.body;
  }

  async function open() {
    // the staff action: the start screen, or the run going on (started here or elsewhere)
    note = "";
    stopped = false;
    const r = await ctx.call("GET", PATH);
    if (!r) return;
    if (!r.ok) return ctx.failed(r); // said on the staff screen
    run = r.body;
    if (run.active) return enterStep();
    ctx.show("staff-cm-start");
  }

  function enterStep() {
    ctx.show("staff-cm-step");
    clearInterval(timer);
    timer = setInterval(poll, POLL_MS);
  }

  async function poll() {
    if (!onStep()) {
      clearInterval(timer);
      timer = null;
      return;
    }
    const mine = gen;
    const body = await fetchRun();
    if (body && mine === gen) apply(body);
  }

  function apply(body) {
    if (run && run.active && body.started_at !== run.started_at) {
      // the service restarted (or another run began): this one is over
      say(t("cm_lost"));
      body = { ...run, active: false, step: null, stopped: "lost" };
    }
    run = body;
    if ((run.step?.compartment ?? null) !== noteStep) note = "";
    const moved = JSON.stringify([run.step?.compartment, run.step?.pulsed_at, run.step?.opened, run.results.length]);
    if (moved !== progress) {
      progress = moved;
      ctx.touch(); // the person is at work at the cabinet, even without touching the screen
    }
    if (!run.active) {
      clearInterval(timer);
      timer = null;
      ctx.show("staff-cm-results");
      return;
    }
    render();
  }

  async function act(method, path, body) {
    gen += 1;
    const r = await ctx.call(method, PATH + path, body, true);
    if (!r) return;
    if (!r.ok) {
      const fresh = await fetchRun(); // someone else may have moved it (409)
      const over = String(r.body.detail || "").includes("that step is over");
      if (fresh) apply(fresh);
      if (over || !onStep()) return; // the step ended by itself: nothing to say
      say(t("staff_failed", { status: r.body.detail || r.status }));
      if (run && !run.active && onStep()) return ctx.show("staff-cm-results");
      return render();
    }
    note = "";
    apply(r.body);
  }

  /* ---------- actions ---------- */

  function say(text) {
    note = text;
    noteStep = run?.step?.compartment ?? null;
  }

  function failures() {
    // compartments whose last commissioning failed and that may be tried now
    return Object.values(ctx.comps())
      .filter((c) => c.commission && c.commission !== "ok" && !c.reservation_id && !c.opening)
      .map((c) => c.id);
  }

  async function start(only) {
    gen += 1;
    const body = only ? { compartments: only } : {};
    const r = await ctx.call("POST", PATH, body, true);
    if (!r) return;
    if (!r.ok) {
      const fresh = await fetchRun();
      if (fresh && fresh.active) {
        run = fresh; // one is going on already (another kiosk, `locker commission`)
        return enterStep();
      }
      say(r.status === 409 ? t("cm_none_free") : t("staff_failed", { status: r.body.detail || r.status }));
      return render();
    }
    run = r.body;
    stopped = false;
    note = "";
    progress = null;
    enterStep();
  }

  const serial = () => ({ serial: run && run.step ? run.step.serial : null }); // this step's answer
  const tap = (id) => act("POST", "/tap", { compartment: id, ...serial() });
  const none = () => act("POST", "/tap", { compartment: null, ...serial() });
  const done = () => act("POST", "/done", serial());
  const repeat = async () => {
    await act("POST", "/repeat", serial());
    if (!note && run && run.step) say(t("cm_repeated", { door: run.step.compartment }));
    render();
  };
  const stop = () => {
    stopped = true;
    return act("DELETE", "");
  };

  function again() {
    note = "";
    ctx.show("staff-cm-start");
  }

  function onDoor() {
    if (onStep()) poll();
  }

  /* ---------- rendering ---------- */

  function outcome(r) {
    const hw = kerong() ? "kerong" : "gpio";
    if (r.outcome === "ok") return t("oc_ok");
    if (r.outcome === "other_door" && r.popped === r.compartment) return t("oc_other_switch", { other: r.other });
    if (r.outcome === "other_door") return t("oc_other_door", { other: r.popped || r.other });
    return t(`oc_${r.outcome}_${hw}`);
  }

  function fix(r) {
    const f = r.fix;
    if (!f) return "";
    if (f.board !== null && f.board !== undefined) return t("fix_kerong", { board: f.board, lock: f.lock, door: f.compartment });
    return t("fix_gpio", { relay: f.relay_pin, reed: f.reed_pin, door: f.compartment });
  }

  const lower = (s) => (s ? s[0].toLowerCase() + s.slice(1) : s);

  function set(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text; // a live region speaks on change only
  }

  function region(id, key, fill) {
    if (shown[id] === key) return;
    shown[id] = key;
    fill($(id));
  }

  function renderStart() {
    const free = Object.values(ctx.comps()).filter((c) => !c.reservation_id && !c.opening).length;
    const how = ["cm_how_shut", "cm_how_turn", kerong() ? "cm_how_kerong" : "cm_how_gpio", "cm_how_table"];
    region("cm-how", JSON.stringify([ctx.lang(), free, kerong()]), (list) => {
      list.replaceChildren(
        ...how.map((key) => {
          const li = document.createElement("li");
          li.textContent = t(key, { n: free });
          return li;
        }),
      );
    });
    const failed = failures();
    $("cm-retry").hidden = !failed.length;
    set("cm-retry", failed.length ? t("cm_retry", { doors: failed.join(", ") }) : "");
    set("cm-start-note", note);
  }

  function describe(c) {
    const s = ctx.comps()[c.id];
    const step = run.step;
    const result = run.results.find((r) => r.compartment === c.id);
    const lines = [];
    let cls = "";
    const current = Boolean(step && step.compartment === c.id);
    if (current) lines.push(t("cm_cell_testing"));
    else if (result) lines.push(t(result.outcome === "ok" ? "cm_cell_ok" : "cm_cell_fail"));
    else if (run.remaining.includes(c.id)) lines.push(t("cm_cell_waiting"));
    else if (s) lines.push(t(`st_${s.status}`)); // not in this run (occupied …)
    if (result && result.outcome !== "ok") cls += " alarm";
    if (s && s.door_open) {
      // a lock board reads its lock, not the door: say which it is
      lines.push(t(kerong() ? "cm_lock_open" : "st_door_open"));
      cls += " door-open";
    }
    if (step && step.tapped === c.id) lines.push(t("cm_cell_tapped"));
    return { lines: lines.slice(0, 2), cls, current };
  }

  function renderStep() {
    const step = run.step;
    if (!step) return;
    const n = run.results.length + 1;
    const total = n + run.remaining.length;
    set("cm-heading", t("cm_step_title", { n, total }));
    const door = step.compartment;
    const others = step.opened.filter((d) => d !== door);
    let instruction;
    if (step.waiting) instruction = t("cm_waiting", { door });
    else if (step.asking) instruction = t("cm_gpio_ask", { door, other: others.join(", ") });
    else if (kerong()) instruction = step.tapped ? t("cm_kerong_shut", { door: step.tapped }) : t("cm_kerong_tap", { door });
    else if (others.length && !step.opened.includes(door)) instruction = t("cm_gpio_other", { door, other: others[0] });
    else if (step.opened.length) instruction = t("cm_gpio_shut", { door: step.opened.join(", ") });
    else instruction = t("cm_gpio_pull", { door });
    set("cm-instruction", instruction);
    let seen;
    if (kerong()) seen = step.tapped ? t("cm_tapped", { door: step.tapped }) : "";
    else seen = step.opened.length ? t("cm_seen", { doors: step.opened.join(", ") }) : t("cm_seen_none");
    set("cm-seen", seen);
    const last = run.results[run.results.length - 1];
    set("cm-last", note || (last ? t("cm_last", { door: last.compartment, what: lower(outcome(last)) }) : ""));
    const box = $("cm-cabinet");
    const key = JSON.stringify([ctx.lang(), run, ctx.comps()]);
    if (shown["cm-cabinet"] !== key) {
      shown["cm-cabinet"] = key;
      const taps = (kerong() && !step.waiting) || step.asking; // each door a button
      box.setAttribute("aria-label", t(taps ? "cm_drawing_tap" : "staff_cabinet"));
      drawGrid(box, ctx.layout, describe, taps ? tap : null);
    }
    // before a tap, "shut" would mean no door; a door waiting to read shut has no pulse
    // while asking, only a door is an answer (which wires to fix depends on it)
    $("cm-done").hidden = step.asking || (kerong() && !step.tapped && !step.waiting);
    $("cm-repeat").hidden = step.waiting;
    $("cm-none").hidden = step.waiting || step.asking;
    if (document.activeElement === document.body) {
      // the button pressed went with its step: the next one's first target instead
      const first = [box.querySelector("button"), $("cm-none"), $("cm-done")].find((b) => b && !b.hidden);
      if (first) first.focus({ preventScroll: true });
    }
  }

  function renderResults() {
    const results = run ? run.results : [];
    const bad = results.filter((r) => r.outcome !== "ok");
    const why = (run && run.stopped) || (stopped ? "staff" : null); // said by the service
    const heading = { timeout: "cm_timed_out", lost: "cm_lost" }[why] || (why ? "cm_stopped" : "cm_finished");
    set("cm-results-heading", t(heading));
    let summary = t("cm_nothing");
    if (results.length) summary = bad.length ? t("cm_summary", { n: results.length, m: bad.length }) : t("cm_summary_none", { n: results.length });
    set("cm-summary", summary);
    $("cm-rule").hidden = !bad.length;
    region("cm-rows", JSON.stringify([ctx.lang(), results]), (body) => {
      // the failures first, each marked in words as well as in colour
      const rows = [...bad, ...results.filter((r) => r.outcome === "ok")];
      body.replaceChildren(
        ...rows.map((r) => {
          const tr = document.createElement("tr");
          tr.className = r.outcome === "ok" ? "pass" : "fail";
          tr.dataset.door = r.compartment;
          const th = document.createElement("th");
          th.scope = "row";
          th.textContent = r.compartment;
          const verdict = document.createElement("td");
          verdict.className = "verdict";
          verdict.textContent = t(r.outcome === "ok" ? "cm_pass" : "cm_fail");
          const what = document.createElement("td");
          what.textContent = outcome(r);
          const todo = fix(r);
          if (todo) {
            const span = document.createElement("span");
            span.className = "fix";
            span.textContent = todo;
            what.append(" ", span);
          }
          tr.append(th, verdict, what);
          return tr;
        }),
      );
    });
    $("cm-table").hidden = !results.length;
  }

  function render() {
    if (!run) return;
    const s = ctx.screen();
    if (s === "staff-cm-start") renderStart();
    else if (s === "staff-cm-step") renderStep();
    else if (s === "staff-cm-results") renderResults();
  }

  function running() {
    return Boolean(run && run.active);
  }

  function reset() {
    clearInterval(timer);
    timer = null;
    run = null; // read again from the service on the next open
    note = "";
    Object.keys(shown).forEach((k) => delete shown[k]);
  }

  const actions = {
    "staff-commission": () => open(),
    "cm-start": () => start(null),
    "cm-retry": () => start(failures()),
    "cm-none": () => none(),
    "cm-done": () => done(),
    "cm-repeat": () => repeat(),
    "cm-stop": () => stop(),
    "cm-again": () => again(),
  };

  return { actions, render, onDoor, running, reset };
}
