/* What every page uses: the read API (same origin; /values page by page), local times and
   dates in the server's zone, the page's state in its URL, a small DOM builder (text, never
   HTML) and one place for problems. */
"use strict";

const energy = (() => {
  const root = document.body;
  const tz = root.dataset.tz;

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || `HTTP ${status}`);
      this.status = status;
      this.body = body; // the answer's JSON (null if none)
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

  /* `params` into `query`, replacing each name's values: arrays repeat the name; undefined,
     null and "" leave the name out. The query string, "?" included when not empty. */
  function search(params, query = new URLSearchParams()) {
    for (const [name, value] of Object.entries(params)) {
      query.delete(name);
      if (value === undefined || value === null || value === "") continue;
      for (const v of Array.isArray(value) ? value : [value]) query.append(name, v);
    }
    const q = query.toString();
    return q ? "?" + q : "";
  }

  const apiUrl = (path, params = {}) => `/api/v2/${path}${search(params)}`;

  /* GET /values, following meta.next: one answer with the pages' series (or wide rows) joined.
     enough(answer so far), when given, is asked after each page and can stop the paging early
     (meta.next then stays set): a caller deciding "too many" needs no more pages to know it. */
  async function values(params, enough = () => false) {
    const body = await api("values", params);
    const byId = new Map((body.series || []).map((s) => [s.point.id, s]));
    let page = body;
    while (page.meta.next && !enough(body)) {
      page = await api("values", { ...params, cursor: page.meta.next });
      if (body.data) body.data.push(...page.data);
      for (const s of page.series || []) {
        if (byId.has(s.point.id)) byId.get(s.point.id).data.push(...s.data);
        else { byId.set(s.point.id, s); body.series.push(s); }
      }
      body.meta.next = page.meta.next;
    }
    return body;
  }

  /* Every page in the server's zone (ENERGY_TIMEZONE), with its offset: 2024-11-03 01:30 −05:00 */
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
  });
  /* An instant in the server's zone: date "YYYY-MM-DD", hour, minute, hm "HH:MM", hms, offset
     "-06:00", text "YYYY-MM-DD HH:MM -06:00", and wall, its wall-clock seconds (below). */
  function local(epochSeconds) {
    const p = Object.fromEntries(parts.formatToParts(new Date(epochSeconds * 1000))
      .map((x) => [x.type, x.value]));
    const offset = p.timeZoneName === "GMT" ? "+00:00" : p.timeZoneName.replace("GMT", "");
    const date = `${p.year}-${p.month}-${p.day}`;
    const hm = `${p.hour}:${p.minute}`;
    return { date, hour: Number(p.hour), minute: Number(p.minute), hm, hms: `${hm}:${p.second}`, offset,
             text: `${date} ${hm} ${offset}`,
             wall: Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) / 1000 };
  }
  const time = (epochSeconds) => (epochSeconds == null ? "—" : local(epochSeconds).text);
  const isoTime = (iso) => (iso ? time(Date.parse(iso) / 1000) : "—");

  /* Local dates and date-times as /values reads them in the server's zone: "YYYY-MM-DD",
     "YYYY-MM-DDTHH:MM", and "YYYY-MM-DDTHH:MM-06:00" where the offset must be said (in the
     autumn's repeated hour). Calendar arithmetic is done on "wall-clock seconds": the local date
     and time counted as if they were UTC — no zone, no DST, just the calendar. */
  const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?)?$/;
  function wall(text) {
    const m = LOCAL.exec(text || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) / 1000 : null;
  }
  /* Wall-clock seconds as text: the date alone at midnight. */
  function wallText(seconds) {
    const iso = new Date(seconds * 1000).toISOString();
    const hm = iso.slice(11, 16);
    return hm === "00:00" ? iso.slice(0, 10) : `${iso.slice(0, 10)}T${hm}`;
  }
  const addDays = (text, days) => wallText(wall(text) + days * 86400);
  /* Calendar months; a day the month lacks becomes its last (03-31 less a month: 02-28). */
  function addMonths(text, months) {
    const d = new Date(wall(text) * 1000);
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + months);
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, last));
    return wallText(d.getTime() / 1000);
  }
  const offsetSeconds = (offset) => (offset === "Z" ? 0 : (offset[0] === "-" ? -1 : 1)
    * (Number(offset.slice(1, 3)) * 3600 + Number(offset.slice(4, 6)) * 60));
  /* The epoch seconds a local text means, as /values reads it: by its offset if it has one;
     else the first of the two instants with that wall time (the autumn's repeated hour), and in
     the spring's skipped hour the offset before the change. */
  function instant(text) {
    const m = LOCAL.exec(text || "");
    if (!m) return null;
    const w = wall(text);
    if (m[6]) return w - offsetSeconds(m[6]);
    // a zone changes its offset at most once a day: the offsets a day either side are the two
    const before = w - offsetSeconds(local(w - 86400).offset);
    const after = w - offsetSeconds(local(w + 86400).offset);
    const fits = [before, after].filter((t) => local(t).wall === w);
    return fits.length ? Math.min(...fits) : before;
  }
  /* An instant, to its minute, as a range's text: with its offset only where the wall time
     alone would mean the other instant of the autumn's repeated hour. */
  function localText(epochSeconds) {
    const l = local(epochSeconds);
    const text = l.hm === "00:00" ? l.date : `${l.date}T${l.hm}`;
    return instant(text) === Math.floor(epochSeconds / 60) * 60 ? text : text + l.offset;
  }

  /* The page's state lives in its query string, so a view can be shared by its URL. */
  const state = {
    get: (name) => new URLSearchParams(location.search).get(name),
    all: (name) => new URLSearchParams(location.search).getAll(name),
    set(values) {
      history.replaceState(null, "", location.pathname + search(values, new URLSearchParams(location.search)));
    },
  };

  /* The URL's points: ids or exact names, comma-separated and/or repeated, as /values takes them. */
  const points = () => state.all("points").join(",").split(",").map((s) => s.trim()).filter(Boolean);

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

  /* A table in a box that scrolls sideways on a phone: head [[text, class]…], rows <tr>s,
     attrs the <table>'s. */
  function table(head, rows, attrs = {}) {
    const th = ([text, cls]) => el("th", { scope: "col", class: cls }, text);
    return el("div", { class: "scroll" },
      el("table", attrs, el("thead", {}, el("tr", {}, head.map(th))), el("tbody", {}, rows)));
  }

  const numbers = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });
  const count = (n) => (n == null ? "—" : numbers.format(n));
  /* A value with its unit: 81.5 °F. */
  const number = (v, unit) => (v == null ? "—" : numbers.format(v) + (unit ? ` ${unit}` : ""));

  /* One line for what went wrong, said on the page (and nowhere a stack trace). */
  function problem(error) {
    const box = document.getElementById("problem");
    if (!error) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = error instanceof Error ? error.message : String(error);
    box.hidden = false;
  }

  return { tz, api, apiUrl, values, ApiError, local, time, isoTime, wall, wallText, addDays,
           addMonths, instant, localText, state, points, el, table, count, number, problem };
})();
