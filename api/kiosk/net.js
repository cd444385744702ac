/* Talking to the service: one request at a time from the touchscreen, answers sorted into
   what a person is told, and the live stream of door changes. */
"use strict";

export const API = "/api/v1";
let busy = false;

export function isBusy() {
  return busy;
}

export async function send(method, path, body, token) {
  // one request at a time from the touchscreen: a double tap or a key held down
  // must never send a code twice (it would read "already used", or count twice)
  if (busy) return null;
  busy = true;
  try {
    return await call(method, path, body, token);
  } finally {
    busy = false;
  }
}

export async function call(method, path, body, token) {
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

/* What a refusal means for the person: [error key, retry after s]; "session" for a
   courier whose session ended. */
export function classify(result, courier) {
  const { status, body } = result;
  if (status === 503 && body.error === "cold_pending") return ["cold_pending", 0];
  if (status === 0 || status >= 500) return ["offline", 0];
  if (status === 423) return ["closed", 0]; // the site is closed: body.closed_until
  if (status === 429) return ["locked", Number(body.retry_after_s || result.headers.get("Retry-After") || 60)];
  if (status === 404 && body.error === "wrong_code") return ["unknown", 0];
  if (status === 404 && courier) return ["parcel", 0];
  if (status === 401 && body.reason === "pin") return ["pin", 0];
  if (status === 401) return [courier ? "session" : "no_token", 0];
  if (status === 410) return [body.reason === "used" ? "used" : "expired", 0];
  if (status === 409 && body.error === "held") return [body.reason === "cold_chain" ? "held_cold" : "held", 0];
  if (status === 409) return ["unavailable", 0];
  if (status === 422) return ["unknown", 0];
  return ["generic", 0];
}

/* Server-sent events over fetch (keeps the token out of URLs); reconnects for ever. */
export async function listen(token, onEvent, online) {
  let delay = 1000;
  for (;;) {
    try {
      const response = await fetch(`${API}/kiosk/stream`, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`stream ${response.status}`);
      online(true);
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
          parseEvent(buffer.slice(0, cut), onEvent);
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (err) {
      /* fall through to the retry below */
    }
    online(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

function parseEvent(block, onEvent) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (data) onEvent(name, JSON.parse(data));
}
