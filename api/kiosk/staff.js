/* Staff at the box (issue 17, decision 28): a staff PIN gives a short-lived staff token,
   kept in this module's memory only (never in storage, never in a URL). The screens: the
   cabinet at a glance with the alarms, one compartment's detail (open with a reason and
   follow the door, service, take back, release), this kiosk's lockout, the temperatures;
   the audit is in staff-audit.js, the commissioning (Mise en service) in
   staff-commission.js. The staff API never gives a code or a QR. */
"use strict";

import { drawGrid } from "/kiosk/cabinet.js";
import { call, send } from "/kiosk/net.js";
import { createAudit } from "/kiosk/staff-audit.js";
import { createCommission } from "/kiosk/staff-commission.js";
import { showTemps } from "/kiosk/staff-temps.js";

const POLL_MS = 2000; // the compartments, while a staff screen is shown (kiosk token)
const SLOW_MS = 15000; // the alarms and this kiosk's lockout (staff token)
const INSIDE = ["occupied", "held", "expired_item"];
const OPEN_REASONS = [["stuck", "open_stuck"], ["check", "open_check"], ["other", "open_other"]];
const SERVICE_REASONS = [["damaged door", "svc_damaged"], ["cleaning", "svc_cleaning"], ["other", "svc_other"]];

export function createStaff(ui) {
  // ui: { t, lang(), screen(), show(name), home(), showError(key, vars, retry), explain(r), token, layout }
  const $ = (id) => document.getElementById(id);
  let token = null;
  let idleS = 0;
  let idleTimer = null;
  let timers = [];
  let comps = {}; // id -> GET /compartments entry
  let alarms = [];
  let lock = { kiosk: null, left: null, at: 0 };
  let selected = null;
  let choice = null; // "open" | "service" while a reason is being chosen
  let follow = null; // { id, seenOpen, state: opening | open | shut | jammed }
  let note = ""; // the last action's outcome
  const shown = {}; // what each region shows now: rewritten only on change

  const active = () => token !== null;
  const staffScreen = () => ui.screen().startsWith("staff");

  async function staffCall(method, path, body, once = false) {
    if (!token) return null;
    const result = once ? await send(method, path, body, token) : await call(method, path, body, token);
    if (result && result.status === 401) {
      end(false); // the session ended (idle on the service's side, or signed out)
      return null;
    }
    return result;
  }

  /* ---------- session ---------- */

  async function signIn(pin) {
    if (pin.length < 8) return ui.showError("staff_short");
    const result = await send("POST", "/staff/session", { pin }, ui.token);
    if (!result) return;
    if (result.status === 401) return ui.showError("staff_pin");
    if (result.status === 422) return ui.showError("staff_short");
    if (!result.ok) return ui.explain(result);
    token = result.body.token;
    idleS = Number(result.body.idle_timeout_s) || 300;
    touch();
    timers = [setInterval(poll, POLL_MS), setInterval(slowPoll, SLOW_MS)];
    note = "";
    await Promise.all([poll(true), slowPoll(true)]);
    if (active()) ui.show("staff");
  }

  function touch() {
    if (!token) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => end(true), idleS * 1000); // the service ends it then too
  }

  function end(tellService = true) {
    const old = token;
    token = null;
    clearTimeout(idleTimer);
    timers.forEach(clearInterval);
    timers = [];
    // a commissioning run going on stops: nobody is left to watch the doors it opens
    const stopped = commission.running() && old ? call("DELETE", "/staff/commissioning", null, old) : null;
    audit.reset();
    commission.reset();
    selected = choice = follow = null;
    comps = {};
    alarms = [];
    if (tellService && old) Promise.resolve(stopped).then(() => call("DELETE", "/staff/session", null, old));
    ui.home();
  }

  /* ---------- what the service says ---------- */

  async function poll(force = false) {
    if (!token || !(force || staffScreen())) return;
    const result = await call("GET", "/compartments", null, ui.token);
    if (!result || !result.ok || !token) return;
    const before = JSON.stringify(comps);
    comps = Object.fromEntries(result.body.map((c) => [c.id, c]));
    if (JSON.stringify(comps) === before) return;
    advance();
    for (const c of Object.values(comps)) if (!c.door_open) audit.onDoor(c.id, false);
    await refreshAlarms();
    render();
  }

  async function slowPoll(force = false) {
    if (!token || !(force || staffScreen())) return;
    await Promise.all([refreshAlarms(), refreshLock()]);
    render();
  }

  async function refreshAlarms() {
    const result = await staffCall("GET", "/staff/alarms");
    if (result && result.ok) alarms = result.body;
  }

  async function refreshLock() {
    const result = await staffCall("GET", "/staff/session");
    if (result && result.ok) lock = { kiosk: result.body.kiosk, left: result.body.kiosk_locked_s, at: Date.now() };
  }

  /* A door followed after an opening: seen open, then shut (or never opened). */
  function advance() {
    if (!follow) return;
    const c = comps[follow.id];
    if (!c) return;
    if (c.door_open) {
      follow.seenOpen = true;
      follow.state = "open";
    } else if (follow.seenOpen) follow.state = "shut";
    else if (c.opening === null && follow.state === "opening" && follow.polled) {
      follow.state = c.in_service ? "shut" : "jammed"; // the cycle ended unseen
    }
    follow.polled = true;
  }

  function onDoor(id, open) {
    if (!token) return;
    if (comps[id]) comps[id] = { ...comps[id], door_open: open };
    if (follow && follow.id === id) {
      if (open) follow.seenOpen = true;
      follow.state = open ? "open" : follow.seenOpen ? "shut" : follow.state;
    }
    audit.onDoor(id, open);
    commission.onDoor(id, open);
    render();
    poll(); // the rest (reservation, service) from the service
  }

  function onAlarm() {
    if (token) refreshAlarms().then(render);
  }

  /* ---------- rendering ---------- */

  function t(key, vars) {
    return ui.t(key, vars);
  }

  function when(at) {
    const d = new Date(at);
    const time = d.toLocaleTimeString(ui.lang() === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
    const day = d.toLocaleDateString(ui.lang() === "fr" ? "fr-FR" : "en-GB", { day: "numeric", month: "short" });
    return { time, day };
  }

  function reason(text) {
    if (!text) return "—";
    const key = `rs_${text}`;
    const out = t(key);
    return out === key ? text : out;
  }

  function alarmText(a) {
    const m = /^found (\w+), expected (\w+)$/.exec(a.detail || "");
    const vars = {
      detail: reason(a.detail),
      zone: a.zone || "",
      found: m ? t(`found_${m[1]}`) : "",
      expected: m ? t(`found_${m[2]}`) : "",
    };
    return t(`al_${a.kind}`, vars);
  }

  function alarmed(id) {
    return alarms.some((a) => a.compartment === id && a.kind !== "out_of_service" && a.kind !== "held");
  }

  /* Held, whatever else: a held item's compartment is usually out of service too. */
  function held(id) {
    return comps[id]?.status === "held" || alarms.some((a) => a.kind === "held" && a.compartment === id);
  }

  function describe(c, current) {
    const s = comps[c.id];
    if (!s) return { lines: [], cls: "", current };
    const lines = [t(`st_${s.status}`)];
    if (s.status !== "held" && held(c.id)) lines.push(t("st_held"));
    if (s.door_open) lines.push(t("st_door_open"));
    else if (s.opening) lines.push(t("st_opening"));
    if (alarmed(c.id)) lines.push(`⚠ ${t("st_alarm")}`);
    const cls = `st-${s.status}${s.door_open ? " door-open" : ""}${alarmed(c.id) ? " alarm" : ""}`;
    return { lines, cls, current };
  }

  function grid(id, current, pick) {
    const key = JSON.stringify([ui.lang(), comps, alarms.map((a) => a.compartment + a.kind), current]);
    if (shown[id] === key) return;
    shown[id] = key;
    drawGrid($(id), ui.layout, (c) => describe(c, c.id === current), pick);
  }

  function region(id, key, fill) {
    if (shown[id] === key) return;
    shown[id] = key;
    fill($(id));
  }

  function renderCabinet() {
    grid("staff-cabinet", null, openDetail);
    const locked = lock.left !== null && lock.left !== undefined;
    $("staff-lock").hidden = !locked;
    if (locked) {
      const left = Math.max(0, Math.round(lock.left - (Date.now() - lock.at) / 1000));
      const wait = left >= 60 ? t("minutes", { m: Math.floor(left / 60), s: left % 60 }) : t("seconds", { s: left });
      $("staff-lock-text").textContent = t("locked_kiosk", { wait });
    }
    if ($("staff-note").textContent !== note) $("staff-note").textContent = note;
    region("staff-alarms", JSON.stringify([ui.lang(), alarms]), (list) => {
      list.replaceChildren();
      if (!alarms.length) {
        const li = document.createElement("li");
        li.textContent = t("no_alarms");
        list.append(li);
      }
      for (const a of alarms) {
        const li = document.createElement("li");
        li.className = `alarm-${a.kind}`;
        if (a.at) {
          const { time, day } = when(a.at);
          const tm = document.createElement("time");
          tm.dateTime = a.at;
          tm.textContent = `${day} ${time}`;
          li.append(tm, " ");
        }
        if (a.compartment) {
          const b = document.createElement("strong");
          b.textContent = a.compartment;
          li.append(b, " ");
        }
        li.append(alarmText(a));
        list.append(li);
      }
    });
  }

  function renderDetail() {
    const s = comps[selected];
    if (!s) return;
    grid("sd-cabinet", selected, openDetail);
    $("sd-heading").textContent = t("compartment_title", { door: selected });
    const parts = [t(`st_${s.status}`)];
    if (s.since) parts.push(t("since", { when: `${when(s.since).day} ${when(s.since).time}` }));
    let state = parts.join(" ");
    state = `${state[0].toUpperCase()}${state.slice(1)} · ${t("compartment_size", { size: s.size })}${s.chilled ? ` · ${t("chilled")}` : ""}. `;
    state += t(s.door_open ? "door_open_state" : "door_shut_state");
    if (!s.in_service) state += ` ${t("why_out", { reason: reason(s.service_reason) })}`;
    if ($("sd-state").textContent !== state) $("sd-state").textContent = state;
    let line = note;
    if (follow && follow.id === selected) line = t(`following_${follow.state}`, { door: selected });
    if ($("sd-follow").textContent !== line) $("sd-follow").textContent = line;
    $("sd-main").hidden = Boolean(choice);
    $("sd-choice").hidden = !choice;
    $("sd-service").textContent = t(s.in_service ? "service_off" : "service_on");
    $("sd-return").hidden = !(s.reservation_id && (s.status === "expired_item" || held(selected)));
    $("sd-release").hidden = !(s.reservation_id && held(selected));
    region("sd-choices", JSON.stringify([ui.lang(), choice]), (box) => {
      box.replaceChildren();
      if (!choice) return;
      $("sd-choice-label").textContent = t(choice === "open" ? "open_why" : "service_why");
      for (const [value, key] of choice === "open" ? OPEN_REASONS : SERVICE_REASONS) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "primary";
        b.dataset.reason = value;
        b.textContent = t(key);
        b.addEventListener("click", () => (choice === "open" ? openDoor(value) : serviceOff(value)));
        box.append(b);
      }
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "secondary";
      cancel.textContent = t("cancel");
      cancel.addEventListener("click", () => setChoice(null));
      box.append(cancel);
    });
  }

  function render() {
    if (!token) return;
    const s = ui.screen();
    if (s === "staff") renderCabinet();
    else if (s === "staff-door") renderDetail();
    else if (s === "staff-audit") audit.render();
    else if (s.startsWith("staff-cm-")) commission.render();
  }

  /* ---------- actions ---------- */

  function openDetail(id) {
    selected = id;
    choice = null;
    note = "";
    if (follow && follow.id !== id) follow = null;
    if (ui.screen() === "staff-door") render();
    else ui.show("staff-door");
    $("sd-heading").focus?.();
  }

  function setChoice(kind) {
    choice = kind;
    render();
    const first = document.querySelector(kind ? "#sd-choices button" : "#sd-main button");
    if (first) first.focus();
  }

  function failed(result) {
    note = t("staff_failed", { status: result ? result.body.detail || result.status : "?" });
    render();
  }

  async function openDoor(why) {
    const id = selected;
    const result = await staffCall("POST", `/compartments/${encodeURIComponent(id)}/open`, { reason: why }, true);
    choice = null;
    if (!result) return;
    if (!result.ok) return failed(result);
    follow = { id, seenOpen: Boolean(comps[id]?.door_open), state: "opening", polled: false };
    note = "";
    render();
    $("sd-main").querySelector("button").focus();
  }

  async function setService(id, inService, why) {
    const body = inService ? { in_service: true } : { in_service: false, reason: why };
    const result = await staffCall("PUT", `/compartments/${encodeURIComponent(id)}/service`, body, true);
    choice = null;
    if (!result) return;
    if (!result.ok) return failed(result);
    comps[id] = result.body;
    note = t(inService ? "done_on" : "done_off", { door: id });
    follow = null;
    await refreshAlarms();
    render();
    $("sd-service").focus();
  }

  function serviceOff(why) {
    return setService(selected, false, why);
  }

  async function takeBack() {
    const s = comps[selected];
    if (!s || !s.reservation_id) return;
    const result = await staffCall("POST", `/reservations/${encodeURIComponent(s.reservation_id)}/return`, null, true);
    if (!result) return;
    if (!result.ok) return failed(result);
    follow = { id: selected, seenOpen: Boolean(s.door_open), state: "opening", polled: false };
    note = "";
    render();
  }

  async function release() {
    const s = comps[selected];
    if (!s || !s.reservation_id) return;
    const result = await staffCall("POST", `/reservations/${encodeURIComponent(s.reservation_id)}/release`, null, true);
    if (!result) return;
    if (!result.ok) return failed(result);
    note = t("done_released");
    follow = null;
    await poll();
    render();
  }

  async function unlock() {
    if (!lock.kiosk) return;
    const result = await staffCall("DELETE", `/lockouts/${encodeURIComponent(lock.kiosk)}`, null, true);
    if (!result) return;
    if (!result.ok) return failed(result);
    note = t("unlocked");
    await refreshLock();
    render();
  }

  function back() {
    if (ui.screen() === "staff-door" && choice) return setChoice(null);
    if (ui.screen() === "staff-cm-step") return; // a step runs: "Arrêter" ends it, never a stray key
    commission.reset();
    selected = choice = null;
    note = "";
    audit.reset();
    ui.show("staff");
    Promise.all([refreshAlarms(), refreshLock()]).then(render);
  }

  const audit = createAudit({
    t,
    layout: ui.layout,
    comps: () => comps,
    call: staffCall,
    show: (name) => ui.show(name),
    grid,
  });

  const commission = createCommission({
    t,
    lang: ui.lang,
    layout: ui.layout,
    comps: () => comps,
    call: staffCall,
    show: (name) => ui.show(name),
    screen: ui.screen,
    touch,
    failed,
  });

  const ACTIONS = {
    staff: () => ui.startPin(),
    "staff-end": () => end(true),
    "staff-back": () => back(),
    "staff-audit": () => audit.start(),
    "staff-temps": () => showTemps({ t, lang: ui.lang, show: ui.show, call: staffCall, token: () => token, end, failed }),
    "staff-unlock": () => unlock(),
    "sd-open": () => setChoice("open"),
    "sd-service": () => (comps[selected]?.in_service ? setChoice("service") : setService(selected, true)),
    "sd-return": () => takeBack(),
    "sd-release": () => release(),
    "au-empty": () => audit.answer("empty"),
    "au-occupied": () => audit.answer("occupied"),
    "au-next": () => audit.next(),
    "au-stop": () => audit.stop(),
    ...commission.actions,
  };

  // every touch or key while signed in keeps the session; nothing else does
  document.addEventListener("pointerdown", touch, true);
  document.addEventListener("keydown", (event) => {
    touch();
    if (token && event.key === "Escape" && staffScreen() && ui.screen() !== "staff") back();
  }, true);

  return { active, signIn, render, onDoor, onAlarm, end, actions: ACTIONS, inside: INSIDE };
}
