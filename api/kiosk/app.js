/* The kiosk screen: French first, English on request. No framework, no build step. */
"use strict";

const CONFIG = JSON.parse(document.getElementById("kiosk-config").textContent);
const API = "/api/v1";
const THANKS_S = 6;
const ERROR_S = 20;
const DOOR_IDLE_S = 180;
const CODE_IDLE_S = 60;
const QR_RE = /^LKR1:[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[0-9]{8}$/;
const BURST_GAP_MS = 50; // a scanner types faster than any hand
const BURST_MIN = 6;

const TEXT = {
  fr: {
    title: "Consigne de la conciergerie",
    other_lang: "English",
    start_heading: "Accueil",
    collect: "Retirer un colis",
    dropoff: "Déposer un article",
    dropoff_hint: "pressing, cordonnerie…",
    scan_hint: "Vous pouvez aussi scanner votre QR code.",
    courier: "Livreur",
    back: "Retour",
    back_start: "Retour à l'accueil",
    erase: "Effacer",
    validate: "Valider",
    code_collect: "Votre code de retrait",
    code_dropoff: "Votre code de dépôt",
    code_help: "Tapez les 8 chiffres reçus de la conciergerie.",
    pin_title: "Code livreur",
    pin_help: "Tapez votre code livreur.",
    door_open: "Porte {door} ouverte",
    door_opening: "La porte {door} s'ouvre…",
    take_and_close: "Prenez votre article, puis refermez la porte.",
    put_and_close: "Déposez votre article, puis refermez la porte.",
    close_door: "Refermez la porte, s'il vous plaît.",
    thanks: "Merci !",
    thanks_collect: "Bonne journée.",
    thanks_dropoff: "Votre article est bien déposé. Bonne journée.",
    err_unknown: "Code inconnu",
    err_unknown_text: "Ce code n'est pas reconnu. Vérifiez les 8 chiffres et réessayez.",
    err_used: "Code déjà utilisé",
    err_used_text: "Ce code a déjà servi. Pour toute question, appelez la conciergerie au {phone}.",
    err_expired: "Code expiré",
    err_expired_text: "Ce code n'est plus valable. Appelez la conciergerie au {phone}.",
    err_locked: "Trop d'essais",
    err_locked_text: "Trop de codes erronés. Réessayez dans {wait}.",
    err_jammed: "Porte bloquée",
    err_jammed_text: "La porte {door} ne s'est pas ouverte. Appelez la conciergerie au {phone}.",
    err_unavailable: "Casier indisponible",
    err_unavailable_text: "Ce casier est momentanément indisponible. Appelez la conciergerie au {phone}.",
    err_offline: "Service indisponible",
    err_offline_text: "Le service est momentanément indisponible. Réessayez dans un instant ou appelez la conciergerie au {phone}.",
    err_held_cold: "Panier retenu",
    err_held_cold_text: "Ce panier n'a pas pu être conservé au froid : la conciergerie vous recontacte. Vous pouvez aussi l'appeler au {phone}.",
    err_held: "Article retenu",
    err_held_text: "Cet article est retenu : la conciergerie vous recontacte. Vous pouvez aussi l'appeler au {phone}.",
    err_cold_pending: "Vérification du froid",
    err_cold_pending_text: "La consigne vient de redémarrer et vérifie le froid. Réessayez dans quelques minutes.",
    cold_warning: "Attention : ce panier est resté trop longtemps au-dessus de sa température. La conciergerie est prévenue.",
    err_pin: "Code livreur incorrect",
    err_pin_text: "Vérifiez votre code et réessayez.",
    err_session: "Session terminée",
    err_session_text: "Votre session livreur a expiré. Tapez à nouveau votre code livreur.",
    err_no_token: "Terminal non autorisé",
    err_no_token_text: "Cette page ne fonctionne que sur l'écran de la consigne.",
    err_not_qr: "Code-barres non reconnu",
    err_not_qr_text: "Ce n'est pas un code de la consigne. Scannez le QR code reçu de la conciergerie, ou tapez votre code.",
    err_parcel: "Colis inconnu",
    err_parcel_text: "Cette référence ne correspond à aucun colis attendu ici. Vérifiez l'étiquette.",
    err_generic: "Opération impossible",
    err_generic_text: "Cela n'a pas fonctionné. Appelez la conciergerie au {phone}.",
    courier_list: "Colis à déposer",
    courier_done: "Terminer",
    reference_label: "Référence du colis",
    open: "Ouvrir",
    no_parcels: "Aucun colis en attente de dépôt.",
    size: "Taille {size}",
    hours: "{h} h {m} min",
    minutes: "{m} min {s} s",
    seconds: "{s} s",
    pin_count: "{n} chiffres",
    offline_banner: "Connexion au service perdue : nouvelle tentative…",
  },
  en: {
    title: "Conciergerie parcel locker",
    other_lang: "Français",
    start_heading: "Home",
    collect: "Collect a parcel",
    dropoff: "Drop something off",
    dropoff_hint: "dry-cleaning, shoe repair…",
    scan_hint: "You can also scan your QR code.",
    courier: "Courier",
    back: "Back",
    back_start: "Back to start",
    erase: "Erase",
    validate: "Confirm",
    code_collect: "Your pickup code",
    code_dropoff: "Your drop-off code",
    code_help: "Type the 8 digits you received from the conciergerie.",
    pin_title: "Courier PIN",
    pin_help: "Type your courier PIN.",
    door_open: "Door {door} is open",
    door_opening: "Door {door} is opening…",
    take_and_close: "Take your item, then close the door.",
    put_and_close: "Put your item in, then close the door.",
    close_door: "Please close the door.",
    thanks: "Thank you!",
    thanks_collect: "Have a nice day.",
    thanks_dropoff: "Your item is in. Have a nice day.",
    err_unknown: "Unknown code",
    err_unknown_text: "This code is not recognised. Check the 8 digits and try again.",
    err_used: "Code already used",
    err_used_text: "This code has already been used. For help, call the conciergerie on {phone}.",
    err_expired: "Code expired",
    err_expired_text: "This code is no longer valid. Call the conciergerie on {phone}.",
    err_locked: "Too many tries",
    err_locked_text: "Too many wrong codes. Try again in {wait}.",
    err_jammed: "Door stuck",
    err_jammed_text: "Door {door} did not open. Call the conciergerie on {phone}.",
    err_unavailable: "Compartment unavailable",
    err_unavailable_text: "This compartment is unavailable for now. Call the conciergerie on {phone}.",
    err_held_cold: "Basket held",
    err_held_cold_text: "This basket could not be kept cold: the conciergerie will contact you. You can also call them on {phone}.",
    err_held: "Item held",
    err_held_text: "This item is held: the conciergerie will contact you. You can also call them on {phone}.",
    err_cold_pending: "Checking the cold",
    err_cold_pending_text: "The locker has just restarted and is checking the cold. Try again in a few minutes.",
    cold_warning: "Warning: this basket stayed above its temperature for too long. The conciergerie has been told.",
    err_offline: "Service unavailable",
    err_offline_text: "The service is unavailable right now. Try again shortly or call the conciergerie on {phone}.",
    err_pin: "Wrong courier PIN",
    err_pin_text: "Check your PIN and try again.",
    err_session: "Session ended",
    err_session_text: "Your courier session has expired. Type your courier PIN again.",
    err_no_token: "Terminal not allowed",
    err_no_token_text: "This page only works on the locker's own screen.",
    err_not_qr: "Barcode not recognised",
    err_not_qr_text: "This is not a locker code. Scan the QR code you received from the conciergerie, or type your code.",
    err_parcel: "Unknown parcel",
    err_parcel_text: "This reference matches no parcel expected here. Check the label.",
    err_generic: "That did not work",
    err_generic_text: "Something went wrong. Call the conciergerie on {phone}.",
    courier_list: "Parcels to deposit",
    courier_done: "Finish",
    reference_label: "Parcel reference",
    open: "Open",
    no_parcels: "No parcel awaiting deposit.",
    size: "Size {size}",
    hours: "{h} h {m} min",
    minutes: "{m} min {s} s",
    seconds: "{s} s",
    pin_count: "{n} digits",
    offline_banner: "Lost touch with the service: retrying…",
  },
};

const state = {
  lang: "fr",
  screen: "start",
  mode: "collect", // collect | dropoff | pin
  digits: "",
  door: null, // { id, purpose, seenOpen, courier }
  error: null, // { key, vars, until }
  courierToken: null,
  courierTimer: null,
  screenTimer: null,
  countdown: null,
  busy: false, // a request is out: nothing else is sent until it is answered
  burst: [], // keys typed in quick succession: maybe a scanner
  burstAt: 0,
  burstTimer: null,
  doors: {},
};

const $ = (id) => document.getElementById(id);

function t(key, vars = {}) {
  const template = TEXT[state.lang][key] ?? TEXT.fr[key] ?? key;
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
}

/* ---------- screens ---------- */

function show(screen, { timeout } = {}) {
  state.screen = screen;
  clearTimeout(state.screenTimer);
  if (timeout) state.screenTimer = setTimeout(goHome, timeout * 1000);
  document.querySelectorAll(".screen").forEach((el) => {
    el.hidden = el.id !== `screen-${screen}`;
  });
  render();
  const target = document.querySelector(`#screen-${screen} [data-autofocus], #screen-${screen} button, #screen-${screen} input`);
  if (target && screen !== "door") target.focus({ preventScroll: true });
}

function goHome() {
  if (state.courierToken) return openCourierList(); // a courier's round goes on
  if (state.lang !== "fr") {
    state.lang = "fr"; // the next person is greeted in French again
    applyLanguage();
  }
  state.digits = "";
  state.door = null;
  state.error = null;
  clearInterval(state.countdown);
  show("start");
}

function render() {
  if (state.screen === "code") renderCode();
  if (state.screen === "door") renderDoor();
  if (state.screen === "thanks") {
    $("thanks-text").textContent = t(state.door && state.door.purpose === "deposit" ? "thanks_dropoff" : "thanks_collect");
  }
  if (state.screen === "error" && state.error) renderError();
}

function renderCode() {
  const pin = state.mode === "pin";
  $("code-heading").textContent = t(pin ? "pin_title" : state.mode === "dropoff" ? "code_dropoff" : "code_collect");
  $("code-help").textContent = t(pin ? "pin_help" : "code_help");
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
    cell.textContent = digit === undefined ? "" : pin ? "•" : digit;
    if (digit !== undefined) cell.className = "filled";
    box.append(cell);
  }
  box.setAttribute("aria-label", state.digits.split("").join(" "));
}

function renderDoor() {
  const door = state.door;
  if (!door) return;
  $("door-heading").textContent = t("door_open", { door: door.id });
  let instruction;
  if (door.seenOpen) instruction = t("close_door");
  else instruction = t(door.purpose === "pickup" ? "take_and_close" : "put_and_close");
  if (door.warning === "cold_chain") instruction = `${t("cold_warning")} ${instruction}`;
  $("door-instruction").textContent = instruction;
  drawCabinet($("cabinet"), door.id);
}

function renderError() {
  const { key, vars } = state.error;
  const all = { phone: CONFIG.phone || "", door: state.door ? state.door.id : "", ...vars };
  if (state.error.until) {
    const left = Math.max(0, Math.ceil((state.error.until - Date.now()) / 1000));
    if (left >= 3600) all.wait = t("hours", { h: Math.floor(left / 3600), m: Math.floor((left % 3600) / 60) });
    else if (left >= 60) all.wait = t("minutes", { m: Math.floor(left / 60), s: left % 60 });
    else all.wait = t("seconds", { s: left });
  }
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

/* ---------- the cabinet drawing, from the configured layout ---------- */

function drawCabinet(svg, openId) {
  const ns = "http://www.w3.org/2000/svg";
  const cols = Math.max(...CONFIG.layout.map((c) => c.column)) + 1;
  const rows = Math.max(...CONFIG.layout.map((c) => c.row)) + 1;
  const w = 110;
  const h = 90;
  svg.setAttribute("viewBox", `0 0 ${cols * w + 8} ${rows * h + 8}`);
  svg.replaceChildren();
  for (const c of CONFIG.layout) {
    const x = 4 + c.column * w;
    const y = 4 + (rows - 1 - c.row) * h; // row 0 is the lowest
    const open = c.id === openId;
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

/* ---------- talking to the service ---------- */

async function send(method, path, body, token) {
  // one request at a time from the touchscreen: a double tap or a key held down
  // must never send a code twice (it would read "already used", or count twice)
  if (state.busy) return null;
  state.busy = true;
  try {
    return await call(method, path, body, token);
  } finally {
    state.busy = false;
  }
}

async function call(method, path, body, token = CONFIG.token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  } catch (err) {
    return { ok: false, status: 0, body: {} };
  }
  let data = {};
  try {
    data = await response.json();
  } catch (err) {
    data = {};
  }
  return { ok: response.ok, status: response.status, body: data, headers: response.headers };
}

function explain(result) {
  const { status, body } = result;
  if (status === 503 && body.error === "cold_pending") return showError("cold_pending");
  if (status === 0 || status >= 500) return showError("offline");
  if (status === 429) return showError("locked", {}, Number(body.retry_after_s || result.headers.get("Retry-After") || 60));
  if (status === 404 && body.error === "wrong_code") return showError("unknown");
  if (status === 404 && state.courierToken) return showError("parcel");
  if (status === 401 && body.reason === "pin") return showError("pin");
  if (status === 401) return state.courierToken ? courierExpired() : showError("no_token");
  if (status === 410) return showError(body.reason === "used" ? "used" : "expired");
  if (status === 409 && body.error === "held") return showError(body.reason === "cold_chain" ? "held_cold" : "held");
  if (status === 409) return showError("unavailable");
  if (status === 422) return showError("unknown");
  return showError("generic");
}

async function submitCode(payload) {
  if (!CONFIG.token) return showError("no_token");
  if (state.screen === "door") return; // a door is open for someone: finish that first
  const result = await send("POST", "/kiosk/codes", payload);
  if (!result) return;
  state.digits = "";
  if (!result.ok) return explain(result);
  openDoorScreen(result.body.compartment, result.body.purpose, false, result.body.warning);
}

function openDoorScreen(id, purpose, courier, warning = null) {
  state.door = { id, purpose, seenOpen: Boolean(state.doors[id]), courier, warning };
  show("door", { timeout: DOOR_IDLE_S });
}

function doorChanged(id, open) {
  state.doors[id] = open;
  const door = state.door;
  if (state.screen !== "door" || !door || door.id !== id) return;
  if (door.courier) touchCourier();
  if (open) {
    door.seenOpen = true;
    show("door", { timeout: DOOR_IDLE_S });
  } else if (door.seenOpen) {
    if (door.courier) openCourierList();
    else show("thanks", { timeout: THANKS_S });
  }
}

async function recheckDoor() {
  const door = state.door;
  if (state.screen !== "door" || !door) return;
  const result = await call("GET", "/compartments"); // with the kiosk's own token
  if (!result.ok || state.door !== door) return;
  const comp = result.body.find((c) => c.id === door.id);
  if (comp && !comp.door_open && comp.opening === null) {
    // the door cycle ended while we were not listening
    if (door.courier) openCourierList();
    else show("thanks", { timeout: THANKS_S });
  } else if (comp && comp.door_open) {
    doorChanged(door.id, true);
  }
}

const SCAN_REFUSALS = { unknown: "unknown", used: "used", expired: "expired", cancelled: "expired", invalid: "not_qr", unavailable: "unavailable", held: "held_cold", cold_pending: "cold_pending" };

function serialScan(outcome) {
  // a scan from a serial scanner: the service has already acted on it; show the outcome
  if (outcome.ok) return openDoorScreen(outcome.compartment, outcome.purpose, false);
  if (["door", "courier"].includes(state.screen)) return; // someone is busy here: no interruption
  if (outcome.reason === "locked") return showError("locked", {}, Number(outcome.retry_after_s || 60));
  showError(SCAN_REFUSALS[outcome.reason] || "generic");
}

function alarm(type, id) {
  if (type === "door.jammed" && state.door && state.door.id === id && state.screen === "door") {
    showError("jammed", { door: id });
  }
}

/* ---------- live updates: server-sent events over fetch (keeps the token out of URLs) ---------- */

async function listen() {
  let delay = 1000;
  for (;;) {
    const token = CONFIG.token;
    if (!token) return;
    try {
      const response = await fetch(`${API}/kiosk/stream`, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`stream ${response.status}`);
      $("offline").hidden = true;
      delay = 1000;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (err) {
      /* fall through to the retry below */
    }
    $("offline").hidden = false;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

function handleEvent(block) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (!data) return;
  const payload = JSON.parse(data);
  if (name === "hello") {
    state.doors = payload.doors;
    recheckDoor(); // the stream was down: the door may have moved meanwhile
  }
  else if (name === "door") doorChanged(payload.compartment, payload.open);
  else if (name === "alarm") alarm(payload.type, payload.compartment);
  else if (name === "scan") serialScan(payload);
  document.body.dataset.live = "1";
}

/* ---------- couriers ---------- */

async function signIn(pin) {
  const result = await send("POST", "/courier/session", { pin });
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
  }, CONFIG.courier_idle_s * 1000);
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
  clearTimeout(state.screenTimer);
  state.screenTimer = setTimeout(goHome, CODE_IDLE_S * 1000);
  const max = state.mode === "pin" ? 12 : 8;
  if (state.busy) return;
  if (key === "del") state.digits = state.digits.slice(0, -1);
  else if (key === "ok") return validate();
  else if (/^[0-9]$/.test(key) && state.digits.length < max) {
    state.digits += key;
    renderCode();
    if (state.mode !== "pin" && state.digits.length === 8) validate(); // the 8th sends it
    return;
  }
  renderCode();
}

function validate() {
  if (state.mode === "pin") {
    if (state.digits.length >= 4) signIn(state.digits);
    return;
  }
  if (state.digits.length === 8) submitCode({ code: state.digits });
}

function startCode(mode) {
  state.mode = mode;
  state.digits = "";
  show("code", { timeout: CODE_IDLE_S });
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("button");
  if (!target) return;
  if (state.courierToken) touchCourier();
  if (target.id === "lang") {
    state.lang = state.lang === "fr" ? "en" : "fr";
    return applyLanguage();
  }
  if (target.dataset.key) return pressKey(target.dataset.key);
  const action = target.dataset.action;
  if (action === "collect") startCode("collect");
  else if (action === "dropoff") startCode("dropoff");
  else if (action === "courier") startCode("pin");
  else if (action === "home") goHome();
  else if (action === "courier-done") signOut();
});

$("reference-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const reference = $("reference").value.trim();
  if (reference && !QR_RE.test(reference)) deposit({ reference });
});

// Keys arrive from a person (touch keypad aside: a keyboard) or from a scanner, which
// types a whole code in a few milliseconds and ends with Enter. Keys typed in quick
// succession are held back a moment: a burst that ends with Enter is a scan, anything
// else is typing.
document.addEventListener("keydown", (event) => {
  const now = Date.now();
  const typing = event.target.tagName === "INPUT";
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
  else if (event.key === "Escape" && !["start", "courier", "door"].includes(state.screen)) goHome();
});

function flushBurst() {
  // what was typed by hand: digits go to the keypad (starting a code from the start screen)
  clearTimeout(state.burstTimer);
  const keys = state.burst;
  state.burst = [];
  for (const key of keys) {
    if (!/^[0-9]$/.test(key)) continue;
    if (state.screen === "start") startCode("collect");
    if (state.screen === "code") pressKey(key);
  }
}

function scanned(text) {
  if (QR_RE.test(text)) {
    if (state.screen === "courier") $("reference").value = "";
    return submitCode({ qr_payload: text });
  }
  if (state.screen === "courier") {
    // a parcel label: deposit it, wherever the focus is
    $("reference").value = "";
    return deposit({ reference: text });
  }
  if (state.screen !== "door" && !state.busy) showError("not_qr");
}

applyLanguage();
show("start");
if (!CONFIG.token) showError("no_token");
else listen();
