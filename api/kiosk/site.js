/* When the host site reopens, in words. The day and the time are read from closed_until
   as the service gives it, in the site's time (its wall clock is in the string), and
   "today" is the site's date by the service's clock: the box's browser may be set to
   another zone, and a simulated cabinet runs on a clock of its own. */
"use strict";

const DAYS = {
  fr: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
  en: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
};
const MONTHS = {
  fr: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
  en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
};
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;
const DAY_MS = 86400000;

/* { when, time } for closed_until (null: not known to reopen), e.g. { when: "lundi",
   time: "9 h 00" }; today is the site's date (YYYY-MM-DD), or null if not known. */
export function reopening(until, today, lang) {
  const m = until ? LOCAL.exec(until) : null;
  if (!m) return null;
  const words = lang === "en" ? "en" : "fr";
  const [, y, mo, d, hh, mm] = m;
  const day = Date.UTC(Number(y), Number(mo) - 1, Number(d));
  const base = today ? Date.parse(`${today}T00:00:00Z`) : NaN;
  const ahead = Number.isNaN(base) ? null : Math.round((day - base) / DAY_MS);
  const weekday = DAYS[words][new Date(day).getUTCDay()];
  let when;
  if (ahead === 0) when = words === "fr" ? "aujourd'hui" : "today";
  else if (ahead === 1) when = words === "fr" ? "demain" : "tomorrow";
  else if (ahead !== null && ahead > 1 && ahead < 7) when = weekday;
  else if (words === "fr") when = `le ${weekday} ${Number(d)}${d === "01" ? "er" : ""} ${MONTHS.fr[Number(mo) - 1]}`;
  else when = `on ${weekday} ${Number(d)} ${MONTHS.en[Number(mo) - 1]}`;
  const time = words === "fr" ? `${Number(hh)}\u00a0h\u00a0${mm}` : `${Number(hh)}:${mm}`; // never cut
  return { when, time };
}
