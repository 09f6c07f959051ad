/* The explorer: the finder (#finder), the time range (#range), the views' tabs (#views) and the
   line chart (#chart-view). heatmap.js draws the other two views into #heatmap-view.

   Everything the page shows follows from its URL (energy.state), so a view can be shared:
     points  comma-separated point ids (the chart draws all; the heatmap the first)
     start, end  local dates YYYY-MM-DD or date-times YYYY-MM-DDTHH:MM (end exclusive), as
                 /api/v2/values reads them in the server's zone
     view    chart (default) | heatmap | campus
     building, floor, room, device, tag, unit, q  the finder's filters (building is also the
                 campus view's)

   The chart asks /api/v2/values once (following meta.next pages) at the finest interval whose
   buckets fit the plot's pixels, so a year of quarter-hours is 365 daily rollups, not 35,040
   readings. Missing buckets and readings are drawn as gaps: uPlot breaks a line at a null, so a
   null is put everywhere between the two values that border a gap. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { el, state } = energy;
  const DAY = 86400;
  const LIMIT = 200; // finder results shown
  // Rollup intervals from fine to coarse, with the longest bucket each can be (a local day is
  // 23 to 25 hours, a month 28 to 31 days): two values further apart than that have a missing
  // bucket between them.
  const ROLLUPS = [
    { name: "15min", seconds: 900, longest: 900 },
    { name: "30min", seconds: 1800, longest: 1800 },
    { name: "1h", seconds: 3600, longest: 3600 },
    { name: "1d", seconds: DAY, longest: 25 * 3600 },
    { name: "1w", seconds: 7 * DAY, longest: 7 * DAY + 3600 },
    { name: "1mo", seconds: 30.44 * DAY, longest: 31 * DAY + 3600 },
  ];
  const LINE_COLOURS = ["#0b5cad", "#c2410c", "#2e7d32", "#7b1fa2", "#a16207", "#00838f",
                        "#ad1457", "#455a64"];
  const STATE_COLOURS = ["#6b7785", "#2e8540", "#a86f00", "#b3261e", "#5b3cc4", "#0b7285",
                         "#c2410c", "#6b4f2a"];
  const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

  const info = new Map(); // point id → the point as /latest or /points describe it
  let chartRun = 0; // a newer drawing makes an older one's answers moot
  let listRun = 0;
  let chart = null;
  let bandRows = [];

  /* What tests (and the curious) may read: the uPlot instance, the interval, the URL asked. */
  const shown = { chart: null, interval: null, request: null, csv: null, pixels: null, bands: [],
                  drawn: 0 };
  window.explorer = shown;

  // ---- local date-times: strings in the server's zone, computed on naive "wall clock" seconds

  const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/;
  function naive(text) {
    const m = LOCAL.exec(text || "");
    if (!m) return null;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) / 1000;
  }
  function fromNaive(seconds) {
    const iso = new Date(seconds * 1000).toISOString();
    const time = iso.slice(11, 16);
    return time === "00:00" ? iso.slice(0, 10) : `${iso.slice(0, 10)}T${time}`;
  }
  function localText(epochSeconds) {
    const l = energy.local(epochSeconds);
    const time = `${String(l.hour).padStart(2, "0")}:${String(l.minute).padStart(2, "0")}`;
    return time === "00:00" ? l.date : `${l.date}T${time}`;
  }
  function addMonths(text, months) {
    const d = new Date(naive(text) * 1000);
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + months);
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, last));
    return fromNaive(d.getTime() / 1000);
  }

  const selected = () => (state.get("points") || "").split(",").filter((x) => /^\d+$/.test(x));
  const view = () => state.get("view") || "chart";
  function range() {
    const start = state.get("start");
    const end = state.get("end");
    return naive(start) !== null && naive(end) !== null ? { start, end } : null;
  }

  // ---- points' descriptions (names, kinds, units, states, newest reading): one /latest

  async function describe(ids) {
    const missing = ids.filter((id) => !info.has(id));
    if (missing.length) {
      const body = await energy.api("latest", { points: missing.join(",") });
      for (const p of body.data) info.set(String(p.id), p);
      renderChips();
    }
    return ids.map((id) => info.get(id)).filter(Boolean);
  }

  /* No range in the URL: the 7 days ending at the newest reading of the selected points (so a
     point whose data stopped a while ago still shows something), written back to the URL. */
  async function ensureRange() {
    if (range()) return;
    const ids = selected();
    if (!ids.length) return;
    const points = await describe(ids);
    const newest = points.map((p) => p.last_ts).filter(Boolean).map((iso) => Date.parse(iso) / 1000);
    const lastDay = newest.length ? energy.local(Math.max(...newest)).date
      : energy.local(Date.now() / 1000).date;
    const end = fromNaive(naive(lastDay) + DAY);
    state.set({ start: fromNaive(naive(end) - 7 * DAY), end });
  }

  // ---- the views

  function showView() {
    const current = view();
    for (const button of document.querySelectorAll("#views button")) {
      button.setAttribute("aria-pressed", String(button.dataset.view === current));
    }
    $("chart-view").hidden = current !== "chart";
    $("heatmap-view").hidden = current === "chart";
  }

  /* Draw what the URL says, in the view it names. */
  async function render() {
    showView();
    renderChips();
    energy.problem(null);
    try {
      await ensureRange();
      renderRange();
      if (view() === "chart") await drawChart();
      else await energyHeatmap.render();
    } catch (err) {
      if (view() === "chart") $("chart-view").dataset.state = "error";
      energy.problem(err);
    }
  }

  function initViews() {
    for (const button of document.querySelectorAll("#views button")) {
      button.addEventListener("click", () => {
        state.set({ view: button.dataset.view });
        render();
      });
    }
  }

  // ---- the range: two date inputs, quick spans, earlier/later, zoom out

  function initRange() {
    const box = $("range");
    const start = el("input", { type: "date", id: "range-start", required: true });
    const through = el("input", { type: "date", id: "range-through", required: true });
    start.addEventListener("change", () => setDates(start.value, through.value));
    through.addEventListener("change", () => setDates(start.value, through.value));
    const button = (label, action, title) =>
      el("button", { type: "button", title, onclick: action }, label);
    box.append(
      el("div", { class: "range-row" },
        el("label", {}, "From ", start),
        el("label", { title: "the last day shown (inclusive)" }, "through ", through)),
      el("div", { class: "range-row", role: "group", "aria-label": "quick ranges" },
        button("Day", () => span({ days: 1 }), "one day ending at the current end"),
        button("Week", () => span({ days: 7 }), "seven days ending at the current end"),
        button("Month", () => span({ months: 1 }), "one month ending at the current end"),
        button("Year", () => span({ months: 12 }), "one year ending at the current end"),
        button("Latest", toLatest, "the same span, ending with the newest reading")),
      el("div", { class: "range-row", role: "group", "aria-label": "move" },
        button("◀ Earlier", () => shift(-1), "the span before this one"),
        button("Later ▶", () => shift(1), "the span after this one"),
        button("Zoom out", zoomOut, "twice the span around its middle")),
      el("p", { class: "note", id: "range-text" }));
  }

  function renderRange() {
    const r = range();
    $("range-start").value = r ? r.start.slice(0, 10) : "";
    // the input names the last day shown; the URL's end is exclusive
    $("range-through").value = r ? fromNaive(naive(r.end) - 1).slice(0, 10) : "";
    $("range-text").textContent = r
      ? `${r.start.replace("T", " ")} to ${r.end.replace("T", " ")} (end excluded), ${energy.tz}`
      : "No range yet: choose points, or dates.";
  }

  function setRange(start, end) {
    if (naive(end) <= naive(start)) {
      energy.problem("The range must end after it starts.");
      return;
    }
    energy.problem(null);
    state.set({ start, end });
    render();
  }

  function setDates(startDate, throughDate) {
    if (!startDate || !throughDate) return;
    setRange(startDate, fromNaive(naive(throughDate) + DAY));
  }

  /* The end in force: the URL's, else the day after the newest reading, else tomorrow. */
  async function currentEnd() {
    const r = range();
    if (r) return r.end;
    await ensureRange();
    return range() ? range().end : fromNaive(naive(energy.local(Date.now() / 1000).date) + DAY);
  }

  async function span({ days = 0, months = 0 }) {
    const end = await currentEnd();
    setRange(months ? addMonths(end, -months) : fromNaive(naive(end) - days * DAY), end);
  }

  async function toLatest() {
    const ids = selected();
    if (!ids.length) return;
    const points = await describe(ids).catch((err) => energy.problem(err));
    const newest = (points || []).map((p) => p.last_ts).filter(Boolean)
      .map((iso) => Date.parse(iso) / 1000);
    if (!newest.length) return;
    const r = range();
    const length = r ? naive(r.end) - naive(r.start) : 7 * DAY;
    const end = fromNaive(naive(energy.local(Math.max(...newest)).date) + DAY);
    setRange(fromNaive(naive(end) - length), end);
  }

  function shift(direction) {
    const r = range();
    if (!r) return;
    const length = naive(r.end) - naive(r.start);
    setRange(fromNaive(naive(r.start) + direction * length),
             fromNaive(naive(r.end) + direction * length));
  }

  function zoomOut() {
    const r = range();
    if (!r) return;
    const length = naive(r.end) - naive(r.start);
    // whole days stay whole days
    const grow = length >= DAY ? Math.ceil(length / 2 / DAY) * DAY : length / 2;
    setRange(fromNaive(naive(r.start) - grow), fromNaive(naive(r.end) + grow));
  }

  /* A drag over the chart: its span, to whole minutes, becomes the range (a finer interval). */
  function zoomTo(from, to) {
    if (to - from < 60) return;
    setRange(localText(Math.floor(from / 60) * 60), localText(Math.ceil(to / 60) * 60));
  }

  // ---- the finder: building → floor → room → device, tag, unit, free text

  const FILTERS = [
    ["building", "Building", "any building"],
    ["floor", "Floor", "any floor"],
    ["room", "Room", "any room"],
    ["device", "Device", "any device"],
    ["tag", "Tag", "any tag"],
    ["unit", "Unit", "any unit"],
  ];

  function initFinder() {
    const box = $("finder");
    const filters = el("div", { class: "filters" });
    for (const [name, label, any] of FILTERS) {
      const select = el("select", { id: `find-${name}`, name },
        el("option", { value: "" }, any));
      select.addEventListener("change", () => narrow(name, select.value));
      filters.append(el("label", {}, label, select));
    }
    const q = el("input", { type: "search", id: "find-q", name: "q", autocomplete: "off",
                            placeholder: "name, description …" });
    q.value = state.get("q") || "";
    let typing = null;
    q.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => { state.set({ q: q.value.trim() }); listPoints(); }, 250);
    });
    filters.append(el("label", {}, "Search", q));
    box.append(
      filters,
      el("h2", { id: "chips-title" }, "On the chart"),
      el("ul", { class: "chips", id: "chips", "aria-labelledby": "chips-title" }),
      el("h2", { id: "found-title" }, "Points"),
      el("p", { class: "note", id: "found", "aria-live": "polite" }),
      el("ul", { class: "results", id: "results", "aria-labelledby": "found-title" }));
  }

  function fill(name, entries) {
    const select = $(`find-${name}`);
    const wanted = state.get(name) || "";
    select.replaceChildren(select.options[0]);
    for (const [value, label] of entries) select.append(el("option", { value }, label));
    // a value from the URL that is not (yet) listed stays chosen, so the API can say what is wrong
    if (wanted && !entries.some(([value]) => String(value) === wanted)) {
      select.append(el("option", { value: wanted }, wanted));
    }
    select.value = wanted;
  }

  async function loadFilters() {
    const [buildings, tags, units] = await Promise.all([
      energy.api("buildings", { limit: 10000 }),
      energy.api("tags", { limit: 10000 }),
      energy.api("units", { limit: 10000 }),
    ]);
    fill("building", buildings.data.filter((b) => b.points > 0)
      .map((b) => [b.code, `${b.code} — ${b.name} (${energy.count(b.points)})`]));
    fill("tag", tags.data.map((t) => [t.name, `${t.name} (${energy.count(t.points)})`]));
    fill("unit", units.data.map((u) => [u.key, `${u.symbol}${u.name && u.name !== u.symbol
      ? ` — ${u.name}` : ""} (${energy.count(u.points)})`]));
    await Promise.all([loadPlaces(), listPoints()]);
  }

  /* Floors, rooms and devices of the chosen building (and floor, room). */
  async function loadPlaces() {
    const building = state.get("building");
    const floor = state.get("floor");
    const room = state.get("room");
    for (const name of ["floor", "room", "device"]) $(`find-${name}`).disabled = !building;
    if (!building) {
      for (const name of ["floor", "room", "device"]) fill(name, []);
      return;
    }
    const [floors, rooms, devices] = await Promise.all([
      energy.api("floors", { building }),
      energy.api("rooms", { building, floor, limit: 10000 }),
      energy.api("devices", { building, floor, room, limit: 10000 }),
    ]);
    fill("floor", floors.data.map((f) => [String(f.floor), `floor ${f.floor} (${energy.count(f.points)})`]));
    fill("room", rooms.data.map((r) => [r.name, `${r.name} (${energy.count(r.points)})`]));
    fill("device", devices.data.map((d) => [d.name, `${d.name} (${energy.count(d.points)})`]));
  }

  /* A filter changed: the ones below it in building → floor → room → device start over. */
  async function narrow(name, value) {
    const below = { building: ["floor", "room", "device"], floor: ["room", "device"],
                    room: ["device"] }[name] || [];
    state.set({ [name]: value, ...Object.fromEntries(below.map((n) => [n, null])) });
    energy.problem(null);
    try {
      if (below.length) await loadPlaces();
      await listPoints();
      if (name === "building" && view() === "campus") await energyHeatmap.render();
    } catch (err) {
      energy.problem(err);
    }
  }

  async function listPoints() {
    const run = ++listRun;
    const params = { limit: LIMIT };
    for (const [name] of FILTERS) params[name] = state.get(name);
    params.q = state.get("q");
    let body;
    try {
      body = await energy.api("points", params);
    } catch (err) {
      if (run === listRun) {
        $("found").textContent = "No points: see the message below.";
        $("results").replaceChildren();
        energy.problem(err);
      }
      return;
    }
    if (run !== listRun) return;
    const { count, total } = body.meta;
    $("found").textContent = total === 0 ? "No point matches."
      : count < total ? `First ${energy.count(count)} of ${energy.count(total)} points: narrow the search to see the others.`
        : `${energy.count(total)} point${total === 1 ? "" : "s"}.`;
    const chosen = new Set(selected());
    $("results").replaceChildren(...body.data.map((p) => {
      info.set(String(p.id), { ...info.get(String(p.id)), ...p });
      const box = el("input", { type: "checkbox", value: p.id, checked: chosen.has(String(p.id)) });
      box.addEventListener("change", () => toggle(String(p.id), box.checked));
      const where = [p.building, p.room && `room ${p.room}`, p.device].filter(Boolean).join(" ");
      const facts = [p.description || p.descriptor, p.kind === "enum" ? (p.states || []).join("/")
        : p.unit, where, p.last_ts ? `to ${energy.isoTime(p.last_ts)}` : "no readings"]
        .filter(Boolean).join(" · ");
      return el("li", {}, el("label", {}, box, el("span", { class: "mono" }, p.name), " ",
        el("span", { class: "muted" }, facts)));
    }));
  }

  function toggle(id, on) {
    const ids = selected().filter((x) => x !== id);
    if (on) ids.push(id);
    state.set({ points: ids.join(",") });
    for (const box of $("results").querySelectorAll("input[type=checkbox]")) {
      box.checked = ids.includes(box.value);
    }
    render();
  }

  function renderChips() {
    const ids = selected();
    $("chips").replaceChildren(...(ids.length ? ids.map((id) => {
      const name = info.get(id) ? info.get(id).name : `point ${id}`;
      return el("li", { class: "chip" }, el("span", { class: "mono" }, name),
        el("button", { type: "button", "aria-label": `Remove ${name}`, title: `Remove ${name}`,
                       onclick: () => toggle(id, false) }, "×"));
    }) : [el("li", { class: "muted" }, "None yet: tick points below.")]));
  }

  // ---- the chart

  /* The plot's width in CSS pixels: the chart's box less room for two y axes (known before the
     points' units are, so the first request needs nothing else first). */
  const plotPixels = () => Math.max(100, $("chart-view").clientWidth - 120);

  /* GET /values, following meta.next; the series merged by point. */
  async function fetchValues(params) {
    let body = await energy.api("values", params);
    const meta = body.meta;
    const byId = new Map(body.series.map((s) => [s.point.id, s]));
    while (body.meta.next) {
      body = await energy.api("values", { ...params, cursor: body.meta.next });
      for (const s of body.series) {
        if (byId.has(s.point.id)) byId.get(s.point.id).data.push(...s.data);
        else byId.set(s.point.id, s);
      }
    }
    return { meta, series: [...byId.values()] };
  }

  /* Raw readings: where /gaps says readings are missing; null when the point's interval is
     unknown (points trended on change of value have no gaps to speak of). */
  async function fetchGaps(id, r) {
    try {
      return await energy.api(`points/${id}/gaps`, { start: r.start, end: r.end, limit: 10000 });
    } catch (err) {
      if (err.code === "interval_unknown") return null;
      throw err;
    }
  }

  /* The indexes i of rows where the series breaks between row i and row i + 1. */
  function breaksOf(rows, interval, gaps) {
    const breaks = new Set();
    if (interval === "raw") {
      if (!gaps) return breaks;
      const starts = new Set(gaps.data.map((g) => Date.parse(g.start) / 1000));
      rows.forEach((row, i) => {
        if (i + 1 < rows.length && starts.has(row[1])) breaks.add(i);
      });
    } else {
      const longest = ROLLUPS.find((x) => x.name === interval).longest;
      rows.forEach((row, i) => {
        if (i + 1 < rows.length && rows[i + 1][1] - row[1] > longest) breaks.add(i);
      });
    }
    return breaks;
  }

  /* Seconds one value stands for: a bucket, or the point's interval between readings. */
  function stepOf(rows, interval, gaps) {
    if (interval !== "raw") return ROLLUPS.find((x) => x.name === interval).seconds;
    if (gaps && gaps.meta.interval_s) return gaps.meta.interval_s;
    const steps = rows.slice(1).map((row, i) => row[1] - rows[i][1]).sort((a, b) => a - b);
    return steps.length ? steps[Math.floor(steps.length / 2)] : 900;
  }

  /* uPlot's aligned data: x the union of every series' times (and one time inside each gap),
     y per series its value, null between two values a gap separates, undefined elsewhere (a
     time only another series has, which uPlot skips without breaking the line). */
  function align(lines) {
    const times = new Set();
    for (const line of lines) {
      for (const row of line.rows) times.add(row[1]);
      for (const i of line.breaks) times.add((line.rows[i][1] + line.rows[i + 1][1]) / 2);
    }
    const x = [...times].sort((a, b) => a - b);
    const at = new Map(x.map((t, k) => [t, k]));
    const ys = lines.map((line) => {
      const y = new Array(x.length).fill(undefined);
      line.rows.forEach((row) => { y[at.get(row[1])] = line.value(row[2]); });
      for (const i of line.breaks) {
        for (let k = at.get(line.rows[i][1]) + 1; k < at.get(line.rows[i + 1][1]); k++) y[k] = null;
      }
      return y;
    });
    return [x, ...ys];
  }

  /* An enum point's runs of one state: [from, to) each, cut at gaps and at the range's end. */
  function runsOf(rows, breaks, step, end) {
    const runs = [];
    rows.forEach((row, i) => {
      const next = i + 1 < rows.length && !breaks.has(i) ? rows[i + 1][1] : Math.min(row[1] + step, end);
      const last = runs[runs.length - 1];
      if (last && last.state === row[2] && last.to === row[1]) last.to = next;
      else runs.push({ state: row[2], from: row[1], to: next });
    });
    return runs;
  }

  function clearChart(message) {
    if (chart) chart.destroy();
    chart = null;
    bandRows = [];
    Object.assign(shown, { chart: null, bands: [], drawn: 0 });
    $("chart-view").replaceChildren(el("p", { class: "note", id: "chart-info" }, message));
  }

  async function drawChart() {
    const run = ++chartRun;
    const box = $("chart-view");
    const ids = selected();
    const r = range();
    if (!ids.length || !r) {
      clearChart("Choose points in the finder above to draw them here.");
      box.dataset.state = "empty";
      return;
    }
    box.dataset.state = "loading";
    const described = describe(ids); // in parallel with the values
    described.catch(() => {}); // (a failure of both is said once, by whichever is awaited first)
    const seconds = naive(r.end) - naive(r.start);
    const pixels = plotPixels();
    // raw readings when quarter-hours would fit (checked on the answer: never more values than
    // pixels), else the finest rollup whose buckets fit
    const rollup = (ROLLUPS.find((x) => seconds / x.seconds <= pixels) || ROLLUPS[ROLLUPS.length - 1]).name;
    let interval = seconds / 900 <= pixels ? "raw" : rollup;
    // no agg: each kind gets its default (numbers avg, enum points the last state of a bucket)
    const params = { points: ids.join(","), start: r.start, end: r.end };
    let values;
    let gaps = new Map();
    if (interval === "raw") {
      const [answer, ...found] = await Promise.all([fetchValues({ ...params }),
        ...ids.map((id) => fetchGaps(id, r))]);
      values = answer;
      gaps = new Map(ids.map((id, k) => [id, found[k]]));
      const dense = values.series.some((s) => s.data.length > pixels)
        || found.some((g) => g && g.meta.interval_s && seconds / g.meta.interval_s > pixels);
      if (dense) {
        interval = rollup;
        values = await fetchValues({ ...params, interval });
      }
    } else {
      values = await fetchValues({ ...params, interval });
    }
    await described;
    if (run !== chartRun) return;
    const request = energy.apiUrl("values", interval === "raw" ? params : { ...params, interval });
    const csv = energy.apiUrl("values", { ...(interval === "raw" ? params : { ...params, interval }),
                                          format: "csv" });
    plot(values, interval, gaps, pixels, request, csv);
    shown.drawnAt = performance.now(); // since the page's navigation began
    performance.mark("energy:drawn"); // bench/ui times the page to here
    box.dataset.state = "drawn";
  }

  function plot(values, interval, gaps, pixels, request, csv) {
    const t0 = Date.parse(values.meta.start) / 1000;
    const t1 = Date.parse(values.meta.end) / 1000;
    const lines = values.series.map((s) => {
      const id = String(s.point.id);
      const rows = s.data;
      const breaks = breaksOf(rows, interval, gaps.get(id));
      const states = [...(s.point.states || [])];
      if (s.point.kind === "enum") {
        for (const row of rows) if (!states.includes(row[2])) states.push(row[2]);
      }
      return {
        point: s.point, rows, breaks, states,
        step: stepOf(rows, interval, gaps.get(id)),
        value: s.point.kind === "enum" ? (v) => states.indexOf(v) : (v) => v,
      };
    });
    const drawn = lines.reduce((n, line) => n + line.rows.length, 0);
    const when = `${energy.isoTime(values.meta.start)} to ${energy.isoTime(values.meta.end)}`;
    Object.assign(shown, { interval, request, csv, pixels });
    if (!drawn) {
      clearChart(`No readings of these points from ${when}.`);
      return;
    }
    const caption = el("p", { class: "note", id: "chart-info" }, `${when} · `,
      interval === "raw" ? "every reading" : `${interval} buckets (averages; enum points: the last state)`,
      ` · ${energy.count(drawn)} values · `,
      el("a", { href: csv, download: "", id: "chart-csv" }, "Download CSV"));
    if (chart) chart.destroy();
    chart = null;
    bandRows = [];
    const plotBox = el("div", { class: "chart" });
    const bandsBox = el("div", { class: "bands" });
    const legendBox = el("div", { class: "legend" });
    $("chart-view").replaceChildren(caption, plotBox, bandsBox, legendBox);

    // one y scale (and axis) per unit, alternating sides; enum points on a hidden scale
    const units = [...new Set(lines.filter((l) => l.point.kind !== "enum")
      .map((l) => l.point.unit || ""))];
    const axes = [{ scale: "x", values: timeTicks, space: 60 }].concat(units.map((unit, k) => ({
      scale: `unit:${unit}`, label: unit || undefined, side: k % 2 ? 1 : 3,
      grid: { show: k === 0 }, size: 60,
    })));
    let colour = 0;
    const series = [{ label: "Time", value: (u, t) => (t == null ? "—" : energy.time(t)) }]
      .concat(lines.map((line) => {
        if (line.point.kind === "enum") {
          return { label: line.point.name, scale: "state", stroke: "rgba(0,0,0,0)",
                   points: { show: false },
                   value: (u, v) => (v == null ? "—" : line.states[v]) };
        }
        const unit = line.point.unit || "";
        return { label: line.point.name, scale: `unit:${unit}`, spanGaps: false, width: 1.5,
                 stroke: LINE_COLOURS[colour++ % LINE_COLOURS.length],
                 value: (u, v) => (v == null ? "—" : `${number.format(v)}${unit ? ` ${unit}` : ""}`) };
      }));
    const scales = { x: { time: true, range: () => [t0, t1] }, state: { range: [0, 1] } };
    const data = align(lines);
    const options = {
      width: $("chart-view").clientWidth,
      height: chartHeight(),
      tzDate: (t) => uPlot.tzDate(new Date(t * 1000), energy.tz), // axes in the server's zone
      scales, series, axes,
      cursor: { drag: { x: true, y: false, setScale: false } },
      // the hover's values below the state bands, which share the plot's x axis
      legend: { mount: (u, legend) => legendBox.append(legend) },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          zoomTo(from, to);
        }],
        draw: [() => drawBands()],
      },
    };
    chart = new uPlot(options, data, plotBox);
    // enum points: one row of state bands each, below the plot and on its x scale
    bandRows = lines.filter((l) => l.point.kind === "enum").map((line) => {
      const canvas = el("canvas", { class: "band", role: "img",
                                    "aria-label": `states of ${line.point.name}` });
      const legend = el("span", { class: "states" }, ...line.states.map((s, k) =>
        el("span", { class: "state" }, swatch(STATE_COLOURS[k % STATE_COLOURS.length]), s)));
      bandsBox.append(el("div", { class: "band-row" },
        el("p", { class: "band-name" }, el("span", { class: "mono" }, line.point.name), " ", legend),
        canvas));
      const runs = runsOf(line.rows, line.breaks, line.step, t1).map((run) => ({
        ...run, colour: STATE_COLOURS[line.states.indexOf(run.state) % STATE_COLOURS.length] }));
      return { point: line.point.id, name: line.point.name, runs, canvas };
    });
    drawBands();
    Object.assign(shown, { chart, drawn, bands: bandRows.map(({ canvas, ...rest }) => rest) });
  }

  /* The x axis' labels in the server's zone, 24-hour, the date where it changes. */
  function timeTicks(u, ticks, axis, space, step) {
    let day = null;
    return ticks.map((t) => {
      const l = energy.local(t);
      if (step >= 28 * DAY) return l.date.slice(0, 7);
      if (step >= DAY) return l.date.slice(5);
      const time = `${String(l.hour).padStart(2, "0")}:${String(l.minute).padStart(2, "0")}`;
      const label = l.date !== day ? `${time}\n${l.date.slice(5)}` : time;
      day = l.date;
      return label;
    });
  }

  function swatch(colour) {
    const node = el("span", { class: "swatch", "aria-hidden": "true" });
    node.style.background = colour; // CSSOM, which the CSP allows
    return node;
  }

  function chartHeight() {
    return Math.round(Math.min(360, Math.max(220, window.innerHeight * 0.45)));
  }

  /* The bands' canvases take the plot area's left and width, and its x scale. */
  function drawBands() {
    if (!chart) return;
    const ratio = window.devicePixelRatio || 1;
    const left = chart.bbox.left / ratio;
    const width = chart.bbox.width / ratio;
    for (const row of bandRows) {
      const canvas = row.canvas;
      canvas.style.marginLeft = `${left}px`;
      canvas.style.width = `${width}px`;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(20 * ratio);
      const g = canvas.getContext("2d");
      g.scale(ratio, ratio);
      g.font = "12px system-ui, sans-serif";
      g.textBaseline = "middle";
      for (const run of row.runs) {
        const a = Math.max(0, chart.valToPos(run.from, "x"));
        const b = Math.min(width, chart.valToPos(run.to, "x"));
        if (b <= a) continue;
        g.fillStyle = run.colour;
        g.fillRect(a, 0, b - a, 20);
        if (g.measureText(run.state).width + 6 < b - a) {
          g.fillStyle = "#fff";
          g.fillText(run.state, a + 3, 10);
        }
      }
    }
  }

  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      if (chart && !$("chart-view").hidden) {
        chart.setSize({ width: $("chart-view").clientWidth, height: chartHeight() });
      }
    }, 150);
  });

  initFinder();
  initRange();
  initViews();
  render();
  // the finder's lists after the chart's first request is on its way (a timer runs after the
  // promise jobs that send it), so they do not queue ahead of it
  setTimeout(() => loadFilters().catch((err) => energy.problem(err)), 0);
})();
