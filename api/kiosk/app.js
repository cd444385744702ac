/* The kiosk screen: French first, English on request. No framework, no build step.
   A visit is one person at the box: the doors that opened for them (several with a
   second code or their other items), what they may still ask (the others, a problem). */
"use strict";

import { Sounds } from "/kiosk/audio.js";
import { drawCabinet } from "/kiosk/cabinet.js";
import { call, classify, isBusy, listen, send } from "/kiosk/net.js";
import { reopening } from "/kiosk/site.js";
import { createStaff } from "/kiosk/staff.js";
import { STAFF_TEXT } from "/kiosk/staff-text.js";
import { TEXT } from "/kiosk/text.js";

Object.assign(TEXT.fr, STAFF_TEXT.fr);
Object.assign(TEXT.en, STAFF_TEXT.en);

const CONFIG = JSON.parse(document.getElementById("kiosk-config").textContent);
const THANKS_S = 10; // long enough to find "Un problème ?"
const OFFER_S = 30; // the thanks screen while other items wait
const ERROR_S = 20;
const DOOR_IDLE_S = 180;
const CODE_IDLE_S = 60;
const PROBLEM_S = 90;
const OTHERS_WINDOW_S = 110; // the service opens the others within 2 minutes of the pickup
const REPORT_WINDOW_S = 570; // and takes a report within 10 minutes of the opening
const DOOR_KEYS_IDLE_S = 5; // digits typed blind on the door screen are dropped after it
const MORE_TIME = 3; // "Plus de temps" and audio mode: every time-out of the page, tripled
const QR_RE = /^LKR1:[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[0-9]{8}$/;
const BURST_GAP_MS = 50; // a scanner types faster than any hand
const BURST_MIN = 6;

const state = {
  lang: "fr",
  screen: "start",
  mode: "collect", // collect | dropoff | pin (courier) | staff
  digits: "",
  visit: null, // { doors: [{ id, purpose, seenOpen, done }], courier, codes, warning, others, notice }
  error: null, // { key, vars, until }
  problem: null, // { door, kind, outcome, message }
  audio: false, // spoken guidance, from the speaker button or the keypad's key to the start
  moreTime: false,
  large: false,
  courierToken: null,
  courierTimer: null,
  screenTimer: null,
  timeoutS: 0,
  countdown: null,
  burst: [], // keys typed in quick succession: maybe a scanner
  burstAt: 0,
  burstTimer: null,
  levels: {}, // door open or shut, from the live stream
  site: CONFIG.site || { open: true, closed_until: null, today: null }, // the host site, live
  siteShown: null, // what the site's live region says now
};
const sounds = new Sounds(CONFIG.token, () => noSpeech());

const $ = (id) => document.getElementById(id);

function t(key, vars = {}, lang = state.lang) {
  const template = TEXT[lang][key] ?? TEXT.fr[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  document.querySelectorAll("[data-i18n-label]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  });
  const other = state.lang === "fr" ? "en" : "fr";
  $("lang").textContent = TEXT[state.lang].other_lang;
  $("lang").lang = other;
  document.title = t("title");
  render();
  speak();
}

/* ---------- screens ---------- */

function scale() {
  return state.moreTime || state.audio ? MORE_TIME : 1;
}

function arm(seconds) {
  clearTimeout(state.screenTimer);
  state.timeoutS = seconds ? seconds * scale() : 0;
  document.body.dataset.timeout = String(state.timeoutS);
  if (seconds) state.screenTimer = setTimeout(goHome, state.timeoutS * 1000);
}

function show(screen, { timeout } = {}) {
  state.screen = screen;
  state.baseTimeout = timeout || 0;
  arm(state.baseTimeout);
  document.querySelectorAll(".screen").forEach((el) => {
    el.hidden = el.id !== `screen-${screen}`;
  });
  render();
  speak();
  const within = `#screen-${screen}`; // data-autofocus first, else the first button or field
  const target = document.querySelector(`${within} [data-autofocus]`) || document.querySelector(`${within} button, ${within} input`);
  if (target && screen !== "door") target.focus({ preventScroll: true });
}

function goHome() {
  if (state.courierToken) return openCourierList(); // a courier's round goes on
  if (staff.active()) return show("staff");
  // the next person finds the box as it always is: French, no voice, usual times and type
  state.lang = "fr";
  $("aid-note").hidden = true;
  setAids({ audio: false, moreTime: false, large: false });
  applyLanguage();
  sounds.stop();
  state.digits = "";
  state.visit = null;
  state.error = null;
  state.problem = null;
  clearInterval(state.countdown);
  show("start");
}

function render() {
  renderSite();
  if (state.screen === "code") renderCode();
  if (state.screen === "door") renderDoor();
  if (state.screen === "thanks") renderThanks();
  if (state.screen === "error" && state.error) renderError();
  if (state.screen === "problem") renderProblem();
  if (state.screen === "reported") renderReported();
  if (state.screen.startsWith("staff")) staff.render();
  renderAids();
}

/* ---------- the host site closed ---------- */

function siteClosed() {
  return !state.site.open;
}

function blocked() {
  // residents' codes wait for the opening (decision 36): couriers (and staff) still work
  return siteClosed() && Boolean(CONFIG.closed_blocks_pickups);
}

function closedLine(lang, until = state.site.closed_until) {
  const when = reopening(until, state.site.today, lang);
  return when ? t("closed_until", when, lang) : t("closed_forever", {}, lang);
}

function noticeLine(lang) {
  const when = reopening(state.site.closed_until, state.site.today, lang);
  return when ? t("closed_notice_until", when, lang) : t("closed_notice_forever", {}, lang);
}

function renderSite() {
  // the live region is rewritten only when what it says changes: each change is read out once
  const other = state.lang === "fr" ? "en" : "fr";
  let lines = [];
  if (blocked()) lines = [["closed-main", closedLine(state.lang), state.lang], ["closed-other", closedLine(other), other], ["closed-help", t("closed_help"), state.lang]];
  else if (siteClosed()) lines = [["site-note", noticeLine(state.lang), state.lang]]; // the choices need the room
  const key = JSON.stringify(lines);
  document.body.classList.toggle("site-closed", siteClosed());
  document.body.classList.toggle("site-blocked", blocked());
  if (key === state.siteShown) return;
  state.siteShown = key;
  const region = $("site");
  region.replaceChildren();
  for (const [cls, text, lang] of lines) {
    const p = document.createElement("p");
    p.className = cls;
    p.lang = lang;
    p.textContent = text;
    region.append(p);
  }
}

function siteChanged(site) {
  const before = JSON.stringify([state.site.open, state.site.closed_until]);
  state.site = site;
  if (before === JSON.stringify([site.open, site.closed_until])) return render(); // the day turned
  if (blocked() && state.screen === "code" && !pinMode()) return show("start");
  render();
  if (state.screen === "start") speak(); // what the start screen says has changed
}

function pinMode() {
  return state.mode === "pin" || state.mode === "staff";
}

function renderCode() {
  const pin = pinMode();
  const heading = { pin: "pin_title", staff: "staff_pin_title", dropoff: "code_dropoff" }[state.mode] || "code_collect";
  $("code-heading").textContent = t(heading);
  $("code-help").textContent = t({ pin: "pin_help", staff: "staff_pin_help" }[state.mode] || "code_help");
  const box = $("digits");
  box.replaceChildren();
  if (pin) {
    // one fixed-width field: a 12-digit PIN must not push the keypad off the screen
    const field = document.createElement("span");
    field.className = state.digits ? "pin filled" : "pin";
    field.textContent = "•".repeat(state.digits.length);
    box.append(field);
    box.setAttribute("aria-label", t("pin_count", { n: state.digits.length }));
    return;
  }
  for (let i = 0; i < 8; i += 1) {
    const cell = document.createElement("span");
    const digit = state.digits[i];
    cell.textContent = digit === undefined ? "" : digit;
    if (digit !== undefined) cell.className = "filled";
    box.append(cell);
  }
  box.setAttribute("aria-label", state.digits.split("").join(" "));
}

function openDoors() {
  return state.visit ? state.visit.doors.filter((d) => !d.done) : [];
}

function renderDoor() {
  const visit = state.visit;
  if (!visit) return;
  const doors = openDoors();
  const ids = doors.map((d) => d.id);
  $("door-heading").textContent = ids.length > 1 ? t("doors_open", { doors: ids.join(", ") }) : t("door_open", { door: ids[0] || "" });
  $("door-heading").classList.toggle("several", ids.length > 1);
  let instruction;
  const many = doors.length > 1;
  if (doors.every((d) => d.seenOpen)) instruction = t(many ? "close_doors" : "close_door");
  else if (many) instruction = t("take_and_close_many");
  else instruction = t(doors.some((d) => d.purpose === "pickup") ? "take_and_close" : "put_and_close");
  if (visit.warning === "cold_chain") instruction = `${t("cold_warning")} ${instruction}`;
  $("door-instruction").textContent = instruction;
  $("door-notice").hidden = !visit.notice;
  $("door-notice").textContent = visit.notice ? noticeText(visit.notice) : "";
  renderOffer("door");
  $("door-problem").hidden = visit.courier || reportable().length === 0;
  drawCabinet($("cabinet"), CONFIG.layout, ids);
}

function names(ids) {
  return ids.length < 2 ? ids.join("") : `${ids.slice(0, -1).join(", ")} ${t("and")} ${ids[ids.length - 1]}`;
}

function noticeText(notice) {
  if (notice.key === "skipped") return t(notice.doors.length > 1 ? "skipped_many" : "skipped", { doors: names(notice.doors) });
  if (notice.key === "jammed") return t("err_jammed_text", { door: notice.door, phone: CONFIG.phone || "" });
  const reason = t("not_opened", { reason: t(`err_${notice.key}`) });
  if (notice.key !== "locked") return reason;
  const left = Math.max(0, Math.ceil((notice.until - Date.now()) / 1000));
  return `${reason}. ${t("err_locked_text", { wait: left >= 60 ? t("minutes", { m: Math.floor(left / 60), s: left % 60 }) : t("seconds", { s: left }) })}`;
}

function noticePhrase(notice) {
  if (notice.key === "skipped") return { phrase: "skipped", doors: notice.doors };
  if (notice.key === "jammed") return { phrase: "err_jammed", doors: [notice.door] };
  if (notice.key === "locked") return { phrase: "err_locked", wait_s: (notice.until - Date.now()) / 1000 };
  return { phrase: `err_${notice.key}` };
}

function offerOpen() {
  const visit = state.visit;
  return visit && !visit.courier && visit.others > 0 && Date.now() < visit.othersUntil ? visit.others : 0;
}

/* The doors this person may still report a problem with (the service's window). */
function reportable() {
  const visit = state.visit;
  if (!visit || visit.courier) return [];
  const ids = visit.doors.filter((d) => Date.now() - d.openedAt < REPORT_WINDOW_S * 1000).map((d) => d.id);
  return [...new Set(ids)];
}

function renderOffer(where) {
  const visit = state.visit;
  const n = offerOpen();
  $(`${where}-offer`).hidden = !n;
  $(`${where}-offer-text`).hidden = !n;
  $(`${where}-offer-text`).textContent = n === 1 ? t("others_one") : n ? t("others_many", { n }) : "";
  document.querySelector(`#screen-${where} .side, #screen-${where}`).classList.toggle("crowded", Boolean(n || visit?.notice));
}

function renderThanks() {
  const deposit = state.visit && state.visit.doors.every((d) => d.purpose === "deposit");
  $("thanks-text").textContent = t(deposit ? "thanks_dropoff" : "thanks_collect");
  renderOffer("thanks");
  document.querySelector("#screen-thanks [data-action=problem]").hidden = reportable().length === 0;
  const notice = state.visit && state.visit.notice;
  $("thanks-notice").hidden = !notice;
  $("thanks-notice").textContent = notice ? noticeText(notice) : "";
}

function renderError() {
  const { key, vars } = state.error;
  const all = { phone: CONFIG.phone || "", ...vars };
  if (state.error.until) {
    const left = Math.max(0, Math.ceil((state.error.until - Date.now()) / 1000));
    if (left >= 3600) all.wait = t("hours", { h: Math.floor(left / 3600), m: Math.floor((left % 3600) / 60) });
    else if (left >= 60) all.wait = t("minutes", { m: Math.floor(left / 60), s: left % 60 });
    else all.wait = t("seconds", { s: left });
  }
  if (key === "closed") all.closed = closedLine(state.lang, vars.closed_until ?? state.site.closed_until);
  $("error-heading").textContent = t(`err_${key}`);
  $("error-text").textContent = t(`err_${key}_text`, all);
}

function showError(key, vars = {}, retryAfter = 0) {
  state.error = { key, vars, until: retryAfter ? Date.now() + retryAfter * 1000 : 0 };
  clearInterval(state.countdown);
  if (retryAfter) {
    state.countdown = setInterval(() => {
      if (state.screen !== "error") return clearInterval(state.countdown);
      renderError();
    }, 1000);
  }
  show("error", { timeout: Math.max(ERROR_S, Math.min(retryAfter, 120)) });
}

function explain(result) {
  const [key, retry] = classify(result, Boolean(state.courierToken));
  if (key === "session") return courierExpired();
  if (key === "closed") return showError(key, { closed_until: result.body.closed_until ?? null });
  return showError(key, {}, retry);
}

/* ---------- aids: speech, more time, large type ---------- */

function setAids(aids) {
  Object.assign(state, aids);
  document.body.classList.toggle("large", state.large);
  arm(state.baseTimeout); // the screen's time-out, at its new length
  renderAids();
}

function renderAids() {
  for (const [id, on] of [["aid-speak", state.audio], ["aid-time", state.moreTime], ["aid-large", state.large]]) {
    $(id).setAttribute("aria-pressed", on ? "true" : "false");
  }
}

function noSpeech() {
  // espeak-ng missing or failing: the page says so, and goes on in silence (decision 30)
  $("aid-note").textContent = t("no_speech");
  $("aid-note").hidden = false;
}

function toggleSpeech() {
  if (!CONFIG.speech) return noSpeech();
  setAids({ audio: !state.audio });
  if (state.audio) speak();
  else sounds.stop();
}

/* What the screen says aloud: phrase keys and parameters, composed by the service. */
function phrases() {
  const s = state.screen;
  const visit = state.visit;
  if (s === "start" && blocked()) return [{ phrase: "closed" }];
  if (s === "start" && siteClosed()) return [{ phrase: "start" }, { phrase: "closed_notice" }];
  if (s === "start") return [{ phrase: "start" }];
  if (s === "code" && state.mode === "staff") return []; // the staff screens say nothing aloud
  if (s === "code") return [{ phrase: state.mode === "pin" ? "pin" : `code_${state.mode}` }];
  if (s === "courier") return [{ phrase: "courier_list" }];
  if (s === "error" && state.error) {
    const wait = state.error.until ? (state.error.until - Date.now()) / 1000 : undefined;
    const doors = state.error.vars.door ? [state.error.vars.door] : [];
    return [{ phrase: `err_${state.error.key}`, wait_s: wait, doors }];
  }
  const extra = [];
  if (visit && visit.notice) extra.push(noticePhrase(visit.notice));
  if (offerOpen()) extra.push({ phrase: "others", count: visit.others });
  if (s === "door" && visit) {
    const doors = openDoors();
    if (!doors.length) return extra;
    const ids = doors.map((d) => d.id);
    if (doors.every((d) => d.seenOpen)) return [{ phrase: "door_close", doors: ids }, ...extra];
    const pickup = doors.some((d) => d.purpose === "pickup");
    return [{ phrase: pickup ? "door_pickup" : "door_deposit", doors: ids, warning: visit.warning === "cold_chain" }, ...extra];
  }
  if (s === "thanks") {
    const deposit = visit && visit.doors.every((d) => d.purpose === "deposit");
    return [{ phrase: deposit ? "thanks_dropoff" : "thanks_collect" }, ...extra];
  }
  if (s === "problem") return [{ phrase: "problem" }];
  if (s === "damaged") return [{ phrase: "problem_damaged" }];
  if (s === "reported" && state.problem) return [{ phrase: `problem_${state.problem.outcome}` }];
  return [];
}

function speak() {
  if (state.audio && CONFIG.token) sounds.say(phrases(), state.lang);
}

/* ---------- a visit: the doors open for one person ---------- */

function codeOf(payload) {
  return payload.code || (payload.qr_payload || "").slice(-8);
}

function openDoorScreen(id, purpose, courier, warning = null, payload = null, others = 0, scanner = false) {
  sounds.playTone("unlock"); // the door opens first; a tone says so, whatever the screen
  state.digits = "";
  const door = { id, purpose, seenOpen: Boolean(state.levels[id]), done: false, openedAt: Date.now() };
  const visit = state.visit;
  if (visit && !courier && state.screen === "door") {
    visit.doors.push(door); // a second code (or scan) while a door is open
    visit.notice = null;
  } else {
    state.visit = { doors: [door], courier, codes: [], warning: null, others: 0, notice: null, payload: null, scanner: false };
  }
  const v = state.visit;
  if (payload || scanner) {
    if (payload) v.codes.push(codeOf(payload));
    v.payload = payload; // the code just used: it may open the person's other items
    v.scanner = scanner; // or the box's scanner just did
    v.others = CONFIG.group_pickup ? others || 0 : 0;
    v.othersUntil = Date.now() + OTHERS_WINDOW_S * 1000;
  }
  if (warning) v.warning = warning;
  show("door", { timeout: DOOR_IDLE_S });
}

async function submitCode(payload) {
  if (!CONFIG.token) return showError("no_token");
  const visit = state.visit;
  const atDoor = state.screen === "door";
  if (atDoor && (!visit || visit.courier)) return; // a courier's door: finish that first
  if (atDoor && visit.codes.includes(codeOf(payload))) return; // the same code scanned again
  const result = await send("POST", "/kiosk/codes", payload, CONFIG.token);
  if (!result) return;
  state.digits = "";
  if (!result.ok) {
    if (atDoor && state.screen === "door" && state.visit === visit) {
      const [key, retry] = classify(result, false);
      return doorNotice(visit, { key, until: Date.now() + retry * 1000 });
    }
    return explain(result);
  }
  const body = result.body;
  openDoorScreen(body.compartment, body.purpose, false, body.warning, payload, body.others);
}

/* Tell the person on the door screen, which stays up while one of their doors is open. */
function doorNotice(visit, notice) {
  visit.notice = notice;
  if (state.screen === "door") {
    render();
    return speak();
  }
  if (openDoors().length) return show("door", { timeout: DOOR_IDLE_S });
  return showError(notice.key === "locked" ? "generic" : notice.key);
}

async function openOthers() {
  const visit = state.visit;
  if (!visit || !offerOpen() || !(visit.payload || visit.scanner)) return;
  const body = visit.payload || { scanner: true };
  const result = await send("POST", "/pickups/others", body, CONFIG.token);
  if (!result || state.visit !== visit) return;
  visit.others = 0;
  if (!result.ok) {
    const [key] = result.status === 409 ? ["generic"] : classify(result, false); // 2 minutes gone
    return doorNotice(visit, { key });
  }
  const { opened, skipped } = result.body;
  visit.notice = skipped.length ? { key: "skipped", doors: skipped.map((s) => s.compartment) } : null;
  if (!opened.length) return show(state.screen, { timeout: state.baseTimeout });
  sounds.playTone("unlock");
  for (const id of opened) {
    visit.doors.push({ id, purpose: "pickup", seenOpen: Boolean(state.levels[id]), done: false, openedAt: Date.now() });
  }
  show("door", { timeout: DOOR_IDLE_S });
}

function finishVisit() {
  const visit = state.visit;
  if (visit.courier) return openCourierList();
  show("thanks", { timeout: visit.others ? OFFER_S : THANKS_S });
}

function doorChanged(id, open) {
  state.levels[id] = open;
  const visit = state.visit;
  const door = visit && visit.doors.find((d) => d.id === id && !d.done);
  if (!door) return;
  if (visit.courier) touchCourier();
  if (open) {
    door.seenOpen = true;
    if (state.screen === "door") show("door", { timeout: DOOR_IDLE_S });
  } else if (door.seenOpen) {
    door.done = true;
    if (state.screen === "door") {
      if (openDoors().length === 0) finishVisit();
      else show("door", { timeout: DOOR_IDLE_S });
    }
  }
}

async function recheckDoors() {
  const visit = state.visit;
  if (!visit || state.screen !== "door") return;
  const result = await call("GET", "/compartments", null, CONFIG.token);
  if (!result.ok || state.visit !== visit) return;
  for (const door of openDoors()) {
    const comp = result.body.find((c) => c.id === door.id);
    if (comp && !comp.door_open && comp.opening === null) door.done = true; // ended unseen
    else if (comp && comp.door_open) door.seenOpen = true;
  }
  if (openDoors().length === 0) finishVisit();
  else render();
}

const SCAN_REFUSALS = { unknown: "unknown", used: "used", expired: "expired", cancelled: "expired", invalid: "not_qr", unavailable: "unavailable", held: "held_cold", cold_pending: "cold_pending", closed: "closed" };

function serialScan(outcome) {
  if (staff.active()) return; // staff see the door open on their cabinet view
  // a scan from a serial scanner: the service has already acted on it; show the outcome
  if (outcome.ok) {
    const pickup = outcome.purpose === "pickup";
    return openDoorScreen(outcome.compartment, outcome.purpose, false, null, null, outcome.others || 0, pickup);
  }
  if (state.screen === "courier") return; // a courier is busy here: no interruption
  const key = outcome.reason === "locked" ? "locked" : SCAN_REFUSALS[outcome.reason] || "generic";
  if (state.screen === "door" && state.visit && !state.visit.courier) {
    return doorNotice(state.visit, { key, until: Date.now() + Number(outcome.retry_after_s || 0) * 1000 });
  }
  if (state.screen === "door") return;
  if (key === "locked") return showError("locked", {}, Number(outcome.retry_after_s || 60));
  showError(key);
}

function alarm(type, id) {
  const visit = state.visit;
  const door = visit && visit.doors.find((d) => d.id === id && !d.done);
  if (type !== "door.jammed" || !door) return;
  door.done = true; // its cycle is over, whatever screen the person is on
  if (state.screen !== "door") return;
  if (openDoors().length === 0) return showError("jammed", { door: id });
  doorNotice(visit, { key: "jammed", door: id });
}

/* ---------- a problem at the box ---------- */

function startProblem() {
  const visit = state.visit;
  if (!visit || visit.courier) return;
  const ids = reportable();
  if (!ids.length) return;
  state.problem = { door: ids[ids.length - 1], doors: ids, kind: null, outcome: null, message: null };
  show("problem", { timeout: PROBLEM_S });
}

function renderProblem() {
  const p = state.problem;
  if (!p) return;
  const box = $("problem-doors");
  box.hidden = p.doors.length < 2;
  const row = box.querySelector(".row");
  row.replaceChildren();
  for (const id of p.doors) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.dataset.problemDoor = id;
    b.textContent = t("door_word", { door: id });
    b.setAttribute("aria-pressed", id === p.door ? "true" : "false");
    row.append(b);
  }
}

async function report(kind, keep = false) {
  const p = state.problem;
  if (!p) return;
  if (kind === "damaged" && state.screen === "problem") return show("damaged", { timeout: PROBLEM_S });
  const result = await send("POST", "/kiosk/problems", { compartment: p.door, problem: kind, keep }, CONFIG.token);
  if (!result) return;
  if (!result.ok && state.visit && openDoors().length) {
    const [key] = result.status === 409 ? ["generic"] : classify(result, false);
    return doorNotice(state.visit, { key }); // too late: the door screen stays the person's
  }
  if (result.status === 409) return showError("generic"); // too late, or not this kiosk's door
  if (!result.ok) return explain(result);
  p.kind = kind;
  p.outcome = result.body.outcome;
  p.message = { fr: result.body.message_fr, en: result.body.message_en };
  p.phone = result.body.phone;
  show("reported", { timeout: ERROR_S });
}

function renderReported() {
  const p = state.problem;
  if (!p || !p.message) return;
  $("reported-text").textContent = p.message[state.lang] || p.message.fr;
  $("reported-phone").textContent = p.phone ? t("reported_phone", { phone: p.phone }) : "";
}

function problemBack() {
  if (openDoors().length) show("door", { timeout: DOOR_IDLE_S });
  else goHome();
}

/* ---------- live updates ---------- */

function handleEvent(name, payload) {
  if (name === "hello") {
    state.levels = payload.doors;
    if (payload.site) siteChanged(payload.site); // it may have opened or closed meanwhile
    recheckDoors(); // the stream was down: the doors may have moved meanwhile
  } else if (name === "site") siteChanged(payload);
  else if (name === "door") {
    doorChanged(payload.compartment, payload.open);
    staff.onDoor(payload.compartment, payload.open);
  } else if (name === "alarm") {
    alarm(payload.type, payload.compartment);
    staff.onAlarm();
  }
  else if (name === "scan") serialScan(payload);
  document.body.dataset.live = "1";
}

/* ---------- couriers ---------- */

async function signIn(pin) {
  const result = await send("POST", "/courier/session", { pin }, CONFIG.token);
  if (!result) return;
  state.digits = "";
  if (!result.ok) return explain(result);
  state.courierToken = result.body.token;
  openCourierList();
}

function courierExpired() {
  state.courierToken = null;
  showError("session");
}

function touchCourier() {
  clearTimeout(state.courierTimer);
  if (!state.courierToken) return;
  state.courierTimer = setTimeout(() => {
    if (state.screen === "door") touchCourier(); // never while a door is open
    else signOut();
  }, CONFIG.courier_idle_s * 1000); // the service ends the session then, whatever the page
}

async function signOut() {
  const token = state.courierToken;
  state.courierToken = null;
  clearTimeout(state.courierTimer);
  if (token) await call("DELETE", "/courier/session", null, token);
  goHome();
}

async function openCourierList() {
  touchCourier();
  const result = await call("GET", "/courier/parcels", null, state.courierToken);
  if (!result.ok) return explain(result);
  const list = $("parcels");
  list.replaceChildren();
  if (result.body.length === 0) {
    const li = document.createElement("li");
    li.textContent = t("no_parcels");
    list.append(li);
  }
  for (const parcel of result.body) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.dataset.reservation = parcel.reservation_id;
    const ref = document.createElement("span");
    ref.textContent = parcel.reference || parcel.reservation_id;
    const size = document.createElement("span");
    size.textContent = t("size", { size: parcel.size });
    button.append(ref, size);
    button.addEventListener("click", () => deposit({ reservation_id: parcel.reservation_id }));
    li.append(button);
    list.append(li);
  }
  $("reference").value = "";
  state.visit = null;
  show("courier");
  $("reference").focus();
}

async function deposit(body) {
  touchCourier();
  if (state.screen === "door") return;
  const result = await send("POST", "/deposits", body, state.courierToken);
  if (!result) return;
  if (!result.ok) return explain(result);
  openDoorScreen(result.body.compartment, "deposit", true);
}

/* ---------- input: touch, keyboard, QR scanner ---------- */

function pressKey(key) {
  if (state.screen !== "code") return;
  arm(CODE_IDLE_S);
  const max = pinMode() ? 12 : 8;
  if (isBusy()) return;
  if (state.audio) sounds.playTone("key"); // the digits are never said: a tick for each
  if (key === "del") state.digits = state.digits.slice(0, -1);
  else if (key === "ok") return validate();
  else if (/^[0-9]$/.test(key) && state.digits.length < max) {
    state.digits += key;
    renderCode();
    if (!pinMode() && state.digits.length === 8) validate(); // the 8th sends it
    return;
  }
  renderCode();
}

function doorKey(key) {
  // a second code typed on a physical keypad while a door is open for this person
  if (!state.visit || state.visit.courier || isBusy()) return;
  if (state.audio) sounds.playTone("key");
  clearTimeout(state.doorKeysTimer);
  state.doorKeysTimer = setTimeout(() => { state.digits = ""; }, DOOR_KEYS_IDLE_S * 1000);
  state.digits += key;
  if (state.digits.length === 8) {
    const code = state.digits;
    state.digits = "";
    submitCode({ code });
  }
}

function validate() {
  if (state.mode === "staff") {
    const pin = state.digits;
    state.digits = "";
    renderCode();
    return staff.signIn(pin); // fewer than 8 digits: said so, never sent
  }
  if (state.mode === "pin") {
    if (state.digits.length >= 4) signIn(state.digits);
    return;
  }
  if (state.digits.length === 8) submitCode({ code: state.digits });
}

function startCode(mode) {
  if (!["pin", "staff"].includes(mode) && blocked()) return; // the closed screen: no code entry for residents
  state.mode = mode;
  state.digits = "";
  show("code", { timeout: CODE_IDLE_S });
}

const ACTIONS = {
  collect: () => startCode("collect"),
  dropoff: () => startCode("dropoff"),
  courier: () => startCode("pin"),
  home: () => goHome(),
  "courier-done": () => signOut(),
  others: () => openOthers(),
  problem: () => startProblem(),
  "problem-back": () => (state.screen === "damaged" ? show("problem", { timeout: PROBLEM_S }) : problemBack()),
  keep: () => report("damaged", true),
  leave: () => report("damaged", false),
  "aid-speak": () => toggleSpeech(),
  "aid-time": () => setAids({ moreTime: !state.moreTime }),
  "aid-large": () => setAids({ large: !state.large }),
};
const staff = createStaff({
  t: (key, vars) => t(key, vars),
  lang: () => state.lang,
  screen: () => state.screen,
  show: (name) => show(name),
  home: () => goHome(),
  showError: (key, vars, retry) => showError(key, vars, retry),
  explain: (result) => explain(result),
  startPin: () => startCode("staff"),
  token: CONFIG.token,
  layout: CONFIG.layout,
});
Object.assign(ACTIONS, staff.actions);

document.addEventListener("click", (event) => {
  const target = event.target.closest("button");
  if (!target) return;
  if (state.courierToken) touchCourier();
  if (target.id === "lang") {
    state.lang = state.lang === "fr" ? "en" : "fr";
    return applyLanguage();
  }
  if (target.dataset.key) return pressKey(target.dataset.key);
  if (target.dataset.problem) return report(target.dataset.problem);
  if (target.dataset.problemDoor && state.problem) {
    state.problem.door = target.dataset.problemDoor;
    return renderProblem();
  }
  const action = ACTIONS[target.dataset.action];
  if (action) action();
});

$("reference-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const reference = $("reference").value.trim();
  if (reference && !QR_RE.test(reference)) deposit({ reference });
});

// Keys arrive from a person (touch keypad aside: a keyboard) or from a scanner, which
// types a whole code in a few milliseconds and ends with Enter. Keys typed in quick
// succession are held back a moment: a burst that ends with Enter is a scan, anything
// else is typing. The speech key of a physical keypad works on every screen.
document.addEventListener("keydown", (event) => {
  const now = Date.now();
  const typing = event.target.tagName === "INPUT";
  if (event.key === CONFIG.speech_key && !typing && state.burst.length === 0) {
    event.preventDefault();
    return toggleSpeech();
  }
  if (event.key.length === 1) {
    if (now - state.burstAt > BURST_GAP_MS) flushBurst();
    state.burst.push(event.key);
    state.burstAt = now;
    clearTimeout(state.burstTimer);
    state.burstTimer = setTimeout(flushBurst, BURST_GAP_MS * 2);
    if (!typing) event.preventDefault();
    return;
  }
  if (event.key === "Enter") {
    clearTimeout(state.burstTimer);
    if (state.burst.length >= BURST_MIN && now - state.burstAt <= BURST_GAP_MS * 2) {
      const text = state.burst.join("");
      state.burst = [];
      event.preventDefault();
      return scanned(text.trim());
    }
    flushBurst();
    if (event.target.tagName === "BUTTON") return; // Enter presses the focused button
    if (state.screen === "code") {
      event.preventDefault();
      pressKey("ok");
    }
    return;
  }
  flushBurst();
  if (state.screen === "code" && !typing && event.key === "Backspace") pressKey("del");
  else if (event.key === "Escape" && !["start", "courier", "door"].includes(state.screen) && !state.screen.startsWith("staff")) goHome();
});

function flushBurst() {
  // what was typed by hand: digits go to the keypad (starting a code from the start screen)
  clearTimeout(state.burstTimer);
  const keys = state.burst;
  state.burst = [];
  for (const key of keys) {
    if (!/^[0-9]$/.test(key)) continue;
    if (state.screen === "start" && !blocked()) startCode("collect");
    if (state.screen === "code") pressKey(key);
    else if (state.screen === "door") doorKey(key);
  }
}

function scanned(text) {
  if (staff.active()) return; // no code is used from a staff screen
  if (QR_RE.test(text)) {
    if (state.screen === "courier") $("reference").value = "";
    return submitCode({ qr_payload: text });
  }
  if (state.screen === "courier") {
    // a parcel label: deposit it, wherever the focus is
    $("reference").value = "";
    return deposit({ reference: text });
  }
  if (state.screen !== "door" && !isBusy()) showError("not_qr");
}

setInterval(() => {
  if (["door", "thanks"].includes(state.screen)) render(); // an offer's or a report's window ends
}, 5000);
applyLanguage();
show("start");
if (!CONFIG.token) showError("no_token");
else listen(CONFIG.token, handleEvent, (up) => { $("offline").hidden = up; });
