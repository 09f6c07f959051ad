/* What every page uses: the read API (same origin), local times in the server's zone, the
   page's state in its URL, a small DOM builder (text, never HTML) and one place for problems. */
"use strict";

const energy = (() => {
  const root = document.body;
  const tz = root.dataset.tz;

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || `HTTP ${status}`);
      this.status = status;
      this.code = e.code;
      this.param = e.param;
    }
  }

  /* GET /api/v2/<path> with query parameters (arrays repeat the name); the parsed JSON, or an
     ApiError carrying the API's own message. */
  async function api(path, params = {}) {
    const response = await fetch(apiUrl(path, params), { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  function apiUrl(path, params = {}) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined || value === null || value === "") continue;
      for (const v of Array.isArray(value) ? value : [value]) query.append(name, v);
    }
    const q = query.toString();
    return `/api/v2/${path}${q ? "?" + q : ""}`;
  }

  /* Every page in the server's zone (ENERGY_TIMEZONE), with its offset: 2024-11-03 01:30 −05:00 */
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
  });
  function local(epochSeconds) {
    const p = Object.fromEntries(parts.formatToParts(new Date(epochSeconds * 1000))
      .map((x) => [x.type, x.value]));
    const offset = p.timeZoneName === "GMT" ? "+00:00" : p.timeZoneName.replace("GMT", "");
    return { date: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour), minute: Number(p.minute),
             offset, text: `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${offset}` };
  }
  const time = (epochSeconds) => (epochSeconds == null ? "—" : local(epochSeconds).text);
  const isoTime = (iso) => (iso ? time(Date.parse(iso) / 1000) : "—");

  function ago(iso, now = Date.now()) {
    if (!iso) return "never";
    const s = Math.round((now - Date.parse(iso)) / 1000);
    const a = Math.abs(s);
    const text = a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min`
      : a < 129600 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
    return s >= 0 ? `${text} ago` : `in ${text}`;
  }

  /* The page's state lives in its query string, so a view can be shared by its URL. */
  const state = {
    get: (name) => new URLSearchParams(location.search).get(name),
    all: (name) => new URLSearchParams(location.search).getAll(name),
    set(values) {
      const query = new URLSearchParams(location.search);
      for (const [name, value] of Object.entries(values)) {
        query.delete(name);
        if (value === undefined || value === null || value === "") continue;
        for (const v of Array.isArray(value) ? value : [value]) query.append(name, v);
      }
      const q = query.toString();
      history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
    },
  };

  /* el("a", {href: "/x", class: "y"}, "text", child…): attributes and text, never HTML. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const number = new Intl.NumberFormat("en-US");
  const count = (n) => (n == null ? "—" : number.format(n));

  /* One line for what went wrong, said on the page (and nowhere a stack trace). */
  function problem(error) {
    const box = document.getElementById("problem");
    if (!error) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = error instanceof ApiError || error instanceof Error ? error.message : String(error);
    box.hidden = false;
  }

  return { tz, api, apiUrl, ApiError, local, time, isoTime, ago, state, el, count, problem };
})();
