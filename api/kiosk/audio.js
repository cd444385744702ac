/* The kiosk's sounds: the unlock tone (always), the key tick and the spoken phrases (in
   audio mode). Phrases are asked for by key and parameters; the service composes and
   synthesises them (espeak-ng), so no code or name can ever be said. Each sound that
   starts playing is noted in window.kioskSounds (kind, name, text, voice, ended). */
"use strict";

const API = "/api/v1";
const TONE_WAIT_MS = 1500; // a phrase waits for the tone before it, never longer

function noteFailure(entry, err) {
  // NotAllowedError: the browser's autoplay policy refused it (README, "The kiosk screen");
  // AbortError: the next sound cut it short, as it should
  if (err && err.name === "NotAllowedError") entry.blocked = true;
  else entry.interrupted = true;
}

export class Sounds {
  constructor(token, onNoSpeech) {
    this.token = token;
    this.onNoSpeech = onNoSpeech;
    this.tone = null;
    this.voice = null; // one element per sound: no listener outlives its sound
    this.toneEnds = Promise.resolve();
    this.request = null; // the phrase being fetched: cancelled by the next one
    this.url = null;
    window.kioskSounds = [];
  }

  note(kind, name, extra = {}) {
    const entry = { kind, name, ended: false, at: Date.now(), ...extra };
    window.kioskSounds.push(entry);
    if (window.kioskSounds.length > 100) window.kioskSounds.shift();
    return entry;
  }

  playTone(name) {
    if (this.tone) this.tone.pause();
    const el = new Audio(`${API}/kiosk/sounds/${name}.wav`);
    this.tone = el;
    const entry = this.note("tone", name);
    el.addEventListener("ended", () => { entry.ended = true; entry.endedAt = Date.now(); }, { once: true });
    this.toneEnds = new Promise((resolve) => { // registered after the log's: it runs second
      const done = () => resolve();
      el.addEventListener("ended", done, { once: true });
      el.addEventListener("error", done, { once: true });
      setTimeout(done, TONE_WAIT_MS);
    });
    el.play().catch((err) => noteFailure(entry, err));
  }

  stop() {
    if (this.request) this.request.abort();
    this.request = null;
    if (this.voice) this.voice.pause();
  }

  /* Say the phrases one after the other; a newer call replaces what is being said. */
  async say(phrases, lang) {
    this.stop();
    const controller = new AbortController();
    this.request = controller;
    for (const phrase of phrases) {
      if (controller.signal.aborted) return;
      const query = new URLSearchParams({ phrase: phrase.phrase, lang });
      for (const door of phrase.doors || []) query.append("door", door);
      if (phrase.count) query.set("count", String(phrase.count));
      if (phrase.wait_s !== undefined) query.set("wait_s", String(Math.max(0, Math.round(phrase.wait_s))));
      if (phrase.warning) query.set("warning", "true");
      let response;
      let blob;
      try {
        response = await fetch(`${API}/kiosk/speech.wav?${query}`, {
          headers: { Authorization: `Bearer ${this.token}` },
          signal: controller.signal,
        });
        if (response.status === 503) this.onNoSpeech();
        if (!response.ok) continue; // this phrase is missing: the next ones may not be
        blob = await response.blob();
      } catch (err) {
        return; // cancelled, or the service is away: the screen still says it all
      }
      const text = decodeURIComponent(response.headers.get("X-Phrase-Text") || "");
      const voice = response.headers.get("X-Voice") || "";
      await this.toneEnds; // the unlock tone first
      if (controller.signal.aborted) return;
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(blob);
      const entry = this.note("speech", phrase.phrase, { text, voice, lang, doors: phrase.doors || [] });
      const el = new Audio(this.url);
      this.voice = el;
      const ended = new Promise((resolve) => {
        el.addEventListener("ended", () => { entry.ended = true; entry.endedAt = Date.now(); resolve(); });
        el.addEventListener("error", () => resolve());
        el.addEventListener("pause", () => setTimeout(resolve, 50)); // stopped, or at its end
      });
      try {
        await el.play();
      } catch (err) {
        noteFailure(entry, err);
        return;
      }
      await ended;
    }
  }
}
