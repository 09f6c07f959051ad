/* The explorer's heatmaps, drawn on one canvas into #heatmap-view from the URL's state
   (points, building, start, end: local YYYY-MM-DD, end exclusive; view; see explore.js):
   view=heatmap  one point: a column per local day, a row per hour of the local day (1h averages);
                 the spring day's missing hour has no cell, the autumn day's repeated hour is two
                 half-height cells (the earlier instant on top), so those days show 23 and 25 cells.
   view=campus   a row per point (a building's, or the `points` list), a column per local day
                 (1d averages, one /values request in the wide layout), each row on its own scale.
   explore.js calls energyHeatmap.render() when the view or the selection changes; this file also
   renders at load, so a shared URL works alone. energyHeatmap.last describes what was drawn. */
"use strict";

const energyHeatmap = (() => {
  const section = document.getElementById("heatmap-view");
  const MAX_DAYS = 366; // "up to a year"
  const MAX_ROWS = 1000; // /values takes at most 1,000 points
  const BACKGROUND = [255, 255, 255]; // cells without data keep it: a gap looks empty
  /* viridis (matplotlib's) at ten equal steps; a value's colour is the linear interpolation, in
     sRGB, between its two neighbouring steps, each channel rounded: min → #440154, max → #fde725. */
  const VIRIDIS = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e",
    "#1f9e89", "#35b779", "#6dcd59", "#b4de2c", "#fde725"]
    .map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const { wall, addDays, addMonths } = energy;

  function ramp(f) {
    const s = Math.min(Math.max(f, 0), 1) * (VIRIDIS.length - 1);
    const i = Math.min(Math.floor(s), VIRIDIS.length - 2);
    const u = s - i;
    const a = VIRIDIS[i];
    const b = VIRIDIS[i + 1];
    return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * u));
  }
  // A constant series has no span: its cells take the middle colour.
  const scaled = (v, min, max) => ramp(max > min ? (v - min) / (max - min) : 0.5);
  const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

  /* Local days (YYYY-MM-DD), counted with energy's calendar helpers: no zone, no DST. */
  const DATE = /^\d{4}-\d{2}-\d{2}/;
  const yearBefore = (day) => addMonths(day, -12);
  const daysBetween = (start, end) => (wall(end) - wall(start)) / 86400;
  function daysOf(start, end) {
    const out = [];
    for (let d = start; d < end; d = addDays(d, 1)) out.push(d);
    return out;
  }
  const localDay = (iso) => energy.local(Date.parse(iso) / 1000).date;

  /* The range from the URL, whole local days; missing, the year to the newest reading's day
     (written back to the URL, which then holds what is shown). */
  function dayRange(lastTs) {
    const notes = [];
    let start = energy.state.get("start");
    let end = energy.state.get("end");
    for (const [name, value] of [["start", start], ["end", end]]) {
      if (value && !DATE.test(value)) throw new Error(`${name}=${value} is not a date (YYYY-MM-DD)`);
    }
    let rewrite = !start && !end;
    // whole days: a start's day from its midnight, an end with a time through the end of its day
    start = start && start.slice(0, 10);
    if (end && end.length > 10 && !/^T00:00(:00)?(Z|[+-]\d\d:\d\d)?$/.test(end.slice(10))) {
      end = addDays(end.slice(0, 10), 1);
    }
    end = end ? end.slice(0, 10) : addDays(lastTs ? localDay(lastTs) : energy.local(Date.now() / 1000).date, 1);
    if (!start) start = yearBefore(end);
    if (daysBetween(start, end) <= 0) throw new Error(`end ${end} is not after start ${start}`);
    if (daysBetween(start, end) > MAX_DAYS) {
      start = yearBefore(end);
      rewrite = true;
      notes.push(`The range is longer than a year: this shows the year to ${end}.`);
    }
    if (rewrite) energy.state.set({ start, end });
    return { start, end, notes };
  }

  /* Enum points come as state labels (their default aggregate, `last`): coloured by the state's
     place in the point's states (labels it does not list follow, in the order met). */
  function enumIndex(point) {
    const index = new Map((point.states || []).map((s, i) => [s, i]));
    return (label) => {
      if (!index.has(label)) index.set(label, index.size);
      return index.get(label);
    };
  }
  const valueText = (value, unit) => (typeof value === "number" ? energy.number(value, unit) : String(value));

  /* ---- view=heatmap ---- */

  async function heatmapModel() {
    const ref = energy.points()[0];
    if (!ref) return { empty: "Choose a point (in the finder) to see its heatmap." };
    const point = (await energy.api(`points/${encodeURIComponent(ref)}`)).data;
    const { start, end, notes } = dayRange(point.last_ts);
    const numeric = point.kind === "number";
    const params = { points: point.id, start, end, interval: "1h", agg: numeric ? "avg" : undefined };
    const answer = await energy.values(params);
    const rows = answer.series.length ? answer.series[0].data : [];
    const unit = answer.series.length ? answer.series[0].point.unit : point.unit;
    const dates = daysOf(start, end);
    const column = new Map(dates.map((d, i) => [d, i]));
    const toNumber = numeric ? (v) => v : enumIndex(point);

    // Buckets by (day, local hour); two in one slot are the autumn's repeated hour.
    const slots = new Map();
    for (const [, t, v] of rows) {
      if (v === null || v === undefined) continue;
      const local = energy.local(t);
      const day = column.get(local.date);
      if (day === undefined) continue;
      const key = day * 24 + local.hour;
      if (!slots.has(key)) slots.set(key, []);
      slots.get(key).push({ t, raw: v, value: toNumber(v), local });
    }
    const cells = [];
    for (const [key, found] of slots) {
      found.sort((a, b) => a.t - b.t);
      const pair = found.length > 1;
      found.slice(0, 2).forEach((b, k) => cells.push({
        day: Math.floor(key / 24), date: dates[Math.floor(key / 24)], hour: key % 24,
        half: pair ? k : null, t: b.t, value: b.value, raw: b.raw, from: b.local.text,
      }));
    }
    cells.sort((a, b) => a.t - b.t);
    let min = Infinity;
    let max = -Infinity;
    for (const c of cells) { min = Math.min(min, c.value); max = Math.max(max, c.value); }
    const states = numeric ? null : point.states || [];
    return {
      view: "heatmap", point, unit, start, end, dates, cells, min, max, notes, states,
      csv: energy.apiUrl("values", { ...params, format: "csv" }),
      file: `${safe(point.name)}_${start}_${end}_1h.csv`,
      colour: (v) => scaled(v, min, max),
    };
  }

  /* ---- view=campus ---- */

  async function campusModel() {
    const building = energy.state.get("building");
    const refs = energy.points();
    const notes = [];
    let points;
    let total;
    if (building) {
      const listed = await energy.api("points", { building, limit: MAX_ROWS });
      points = listed.data;
      total = listed.meta.total;
    } else if (refs.length) {
      const latest = await energy.api("latest", { points: refs.slice(0, MAX_ROWS).join(",") });
      points = latest.data;
      total = refs.length;
    } else {
      return { empty: "Choose a building or some points (in the finder) to see the campus view." };
    }
    if (total > points.length) {
      notes.push(`Showing the first ${energy.count(points.length)} of ${energy.count(total)} points (at most ${energy.count(MAX_ROWS)} at once).`);
    }
    if (!points.length) return { empty: "No points to show." };
    points.sort((a, b) => cmp(a.building || "\uffff", b.building || "\uffff") || cmp(a.name, b.name) || a.id - b.id);
    const newest = points.map((p) => p.last_ts).filter(Boolean).sort((a, b) => Date.parse(a) - Date.parse(b)).pop();
    const range = dayRange(newest);
    notes.push(...range.notes);
    const { start, end } = range;
    const params = { points: points.map((p) => p.id).join(","), start, end, interval: "1d", layout: "wide" };
    const answer = await energy.values(params);
    const dates = daysOf(start, end);
    const column = new Map(dates.map((d, i) => [d, i]));
    const converters = points.map((p) => (p.kind === "number" ? (v) => v : enumIndex(p)));
    const rows = points.map((p) => ({ point: p, min: Infinity, max: -Infinity }));
    const cells = [];
    for (const line of answer.data) {
      const day = column.get(energy.local(line[1]).date);
      if (day === undefined) continue;
      for (let r = 0; r < points.length; r++) {
        const raw = line[2 + r];
        if (raw === null || raw === undefined) continue;
        const value = converters[r](raw);
        const row = rows[r];
        if (value < row.min) row.min = value;
        if (value > row.max) row.max = value;
        cells.push({ row: r, day, date: dates[day], value, raw });
      }
    }
    const withData = rows.filter((r) => r.max >= r.min).length;
    notes.push(`${energy.count(withData)} of ${energy.count(points.length)} points have readings in this range.`);
    return {
      view: "campus", rows, points, start, end, dates, cells, notes,
      csv: energy.apiUrl("values", { ...params, format: "csv" }),
      file: `${safe(building || "points")}_${start}_${end}_1d.csv`,
      colour: (v, r) => scaled(v, rows[r].min, rows[r].max),
    };
  }

  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const safe = (name) => String(name).replace(/[^\w.-]+/g, "_");

  /* ---- drawing ---- */

  const clamp = (x, lo, hi) => Math.min(Math.max(x, lo), hi);

  /* Geometry in CSS pixels, whole numbers, so each cell is whole device pixels too. */
  function geometry(model, width) {
    const days = model.dates.length;
    if (model.view === "heatmap") {
      const left = 30;
      const cw = clamp(Math.floor((width - left - 8) / days), 2, 28);
      const rh = 16; // even: the autumn's half cells are 8 each
      return { left, top: 20, cw, rh, rows: 24, width: left + cw * days + 8, height: 20 + rh * 24 + 4, labels: true };
    }
    const n = model.rows.length;
    const rh = clamp(Math.floor(1800 / n), 3, 14);
    const labels = rh >= 10;
    const left = labels ? clamp(Math.floor(width * 0.3), 90, 240) : 4;
    const cw = clamp(Math.floor((width - left - 8) / days), 2, 28);
    return { left, top: 20, cw, rh, rows: n, width: left + cw * days + 8, height: 20 + rh * n + 4, labels };
  }

  function place(model, g) {
    for (const c of model.cells) {
      c.x = g.left + c.day * g.cw;
      c.w = g.cw;
      if (model.view === "heatmap") {
        c.y = g.top + c.hour * g.rh + (c.half === 1 ? g.rh / 2 : 0);
        c.h = c.half === null ? g.rh : g.rh / 2;
      } else {
        c.y = g.top + c.row * g.rh;
        c.h = g.rh;
      }
    }
  }

  /* Every cell straight into the pixels (one putImageData): fast for 450 × 365 cells, and each
     cell's pixels are exactly its colour. */
  function paint(ctx, dpr, g, model) {
    const x0 = g.left * dpr;
    const y0 = g.top * dpr;
    const W = model.dates.length * g.cw * dpr;
    const H = g.rows * g.rh * dpr;
    const image = ctx.createImageData(W, H);
    const px = image.data;
    for (let i = 0; i < px.length; i += 4) {
      px[i] = BACKGROUND[0]; px[i + 1] = BACKGROUND[1]; px[i + 2] = BACKGROUND[2]; px[i + 3] = 255;
    }
    for (const c of model.cells) {
      const [r, gr, b] = model.view === "heatmap" ? model.colour(c.value) : model.colour(c.value, c.row);
      const left = c.x * dpr - x0;
      const right = left + c.w * dpr;
      const top = c.y * dpr - y0;
      const bottom = top + c.h * dpr;
      for (let y = top; y < bottom; y++) {
        for (let i = (y * W + left) * 4, x = left; x < right; x++, i += 4) {
          px[i] = r; px[i + 1] = gr; px[i + 2] = b;
        }
      }
    }
    ctx.putImageData(image, x0, y0);
  }

  function axes(ctx, g, model) {
    ctx.fillStyle = "#1d2327";
    ctx.strokeStyle = "#5c6670";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    // months along the days (the year shown at January and at the first column)
    let free = 0;
    model.dates.forEach((d, i) => {
      const first = i === 0;
      if (!first && !d.endsWith("-01")) return;
      const x = g.left + i * g.cw;
      ctx.fillRect(x, g.top - 5, 1, 5);
      const month = Number(d.slice(5, 7));
      const text = first || month === 1 ? `${MONTHS[month - 1]} ${d.slice(0, 4)}` : MONTHS[month - 1];
      const label = first && !d.endsWith("-01") ? `${d.slice(8)} ${text}` : text;
      if (x >= free) {
        ctx.fillText(label, x + 2, g.top - 11);
        free = x + ctx.measureText(label).width + 8;
      }
    });
    ctx.textAlign = "right";
    if (model.view === "heatmap") {
      for (let h = 0; h < 24; h++) ctx.fillText(String(h).padStart(2, "0"), g.left - 4, g.top + h * g.rh + g.rh / 2);
    } else if (g.labels) {
      model.rows.forEach((row, r) => {
        ctx.fillText(fit(ctx, row.point.name, g.left - 8), g.left - 4, g.top + r * g.rh + g.rh / 2);
      });
    }
    ctx.textAlign = "left";
  }

  function fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let s = text;
    while (s.length > 1 && ctx.measureText(s + "…").width > width) s = s.slice(0, -1);
    return s + "…";
  }

  function legend(model) {
    const bar = energy.el("canvas", { width: 160, height: 12, class: "heat-ramp", "aria-hidden": "true" });
    const ctx = bar.getContext("2d");
    for (let x = 0; x < 160; x++) {
      ctx.fillStyle = css(ramp(x / 159));
      ctx.fillRect(x, 0, 1, 12);
    }
    if (model.view === "campus") {
      return energy.el("p", { class: "heat-legend" }, "row's lowest ", bar, " row's highest daily value",
        energy.el("span", { class: "muted" }, " — each row on its own scale: the points' units differ (enum points: by state)."));
    }
    if (!model.cells.length) return energy.el("p", { class: "heat-legend muted" }, "No readings in this range.");
    const label = (v) => (model.states ? model.states[v] ?? String(v) : valueText(v, model.unit));
    return energy.el("p", { class: "heat-legend" },
      energy.el("span", { class: "heat-min" }, label(model.min)), " ", bar, " ",
      energy.el("span", { class: "heat-max" }, label(model.max)),
      energy.el("span", { class: "muted" }, model.states ? " (last state of each hour)" : ` hourly average${model.unit ? ", " + model.unit : ""}`));
  }

  /* The hover (or keyboard) index: which cell is at a column and row (and half, for the heatmap). */
  function lookup(model, g) {
    const days = model.dates.length;
    const grid = new Int32Array(days * g.rows * 2).fill(-1);
    model.cells.forEach((c, k) => {
      const row = model.view === "heatmap" ? c.hour : c.row;
      const base = (row * days + c.day) * 2;
      if (c.half === null || c.half === undefined) { grid[base] = k; grid[base + 1] = k; }
      else grid[base + c.half] = k;
    });
    return (day, row, half) => {
      if (day < 0 || day >= days || row < 0 || row >= g.rows) return undefined;
      return { cell: model.cells[grid[(row * days + day) * 2 + half]], day, row };
    };
  }

  /* The tooltip's lines for a cell (or an empty place). */
  function tipLines(model, hit) {
    const c = hit.cell;
    if (model.view === "heatmap") {
      if (!c) return [`${model.dates[hit.day]} ${String(hit.row).padStart(2, "0")}:00`, "no value"];
      const end = energy.local(c.t + 3600); // an hour on: 01:00 −05:00 ends at 01:00 −06:00 in autumn
      const to = end.date === c.date ? end.text.slice(11) : end.text;
      const what = model.states ? `last state ${c.raw}` : `average ${valueText(c.value, model.unit)}`;
      return [`${c.from} – ${to}`, what];
    }
    const p = model.rows[hit.row].point;
    const where = [p.building, p.room].filter(Boolean).join(" ");
    const value = c ? (p.kind === "number" ? `average ${valueText(c.value, p.unit)}` : `last state ${c.raw}`) : "no value";
    return [p.name + (where ? ` (${where})` : ""), `${model.dates[hit.day]}: ${value}`];
  }

  function draw(model) {
    const wrap = energy.el("div", { class: "scroll heat-scroll" });
    const tip = energy.el("div", { class: "heat-tip", role: "status", hidden: true });
    const header = [
      energy.el("h2", {}, model.view === "heatmap"
        ? `${model.point.name}: hour of day × day`
        : `${energy.state.get("building") || "Points"}: points × days`),
      energy.el("p", { class: "note" }, `${model.start} to ${model.dates[model.dates.length - 1]}`,
        ` (${energy.count(model.dates.length)} days, local time in ${energy.tz}). `,
        model.view === "heatmap"
          ? "The hour a 23-hour day skips has no cell; a 25-hour day shows its repeated hour as two half cells, the earlier on top."
          : "One cell per point and local day (its daily average).",
        " Hover a cell, or focus the chart and use the arrow keys."),
      ...model.notes.map((n) => energy.el("p", { class: "note" }, n)),
      legend(model),
      energy.el("p", {}, energy.el("a", { href: model.csv, download: model.file, class: "heat-csv" }, "Download CSV"),
        energy.el("span", { class: "muted" }, " (what is shown: the same /values request)")),
    ];
    section.replaceChildren(...header, wrap, tip);

    const g = geometry(model, wrap.clientWidth || section.clientWidth || 800);
    place(model, g);
    const dpr = g.width * g.height > 4e6 ? 1 : clamp(Math.round(window.devicePixelRatio || 1), 1, 2);
    const canvas = energy.el("canvas", {
      width: g.width * dpr, height: g.height * dpr, class: "heat-canvas", tabindex: 0, role: "img",
      "aria-label": model.view === "heatmap"
        ? `heatmap of ${model.point.name}, ${model.dates.length} days by 24 hours`
        : `${model.rows.length} points by ${model.dates.length} days`,
    });
    canvas.style.width = `${g.width}px`;
    canvas.style.height = `${g.height}px`;
    wrap.append(canvas);
    const ctx = canvas.getContext("2d");
    paint(ctx, dpr, g, model);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    axes(ctx, g, model);

    const at = lookup(model, g);
    let cursor = null; // the keyboard's [day, row, half]
    const show = (hit, clientX, clientY) => {
      if (!hit) { tip.hidden = true; return; }
      tip.replaceChildren(...tipLines(model, hit).map((line) => energy.el("div", {}, line)));
      tip.hidden = false;
      const x = Math.min(clientX + 14, window.innerWidth - tip.offsetWidth - 4);
      const y = clientY + 14 + tip.offsetHeight > window.innerHeight ? clientY - tip.offsetHeight - 8 : clientY + 14;
      tip.style.left = `${Math.max(4, x)}px`;
      tip.style.top = `${Math.max(4, y)}px`;
    };
    canvas.addEventListener("mousemove", (e) => {
      const box = canvas.getBoundingClientRect();
      const x = e.clientX - box.left - g.left;
      const y = e.clientY - box.top - g.top;
      const row = Math.floor(y / g.rh);
      show(at(Math.floor(x / g.cw), row, y - row * g.rh < g.rh / 2 ? 0 : 1), e.clientX, e.clientY);
    });
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
    canvas.addEventListener("blur", () => { tip.hidden = true; });
    canvas.addEventListener("keydown", (e) => {
      const move = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (e.key === "Escape") { tip.hidden = true; return; }
      if (!move) return;
      e.preventDefault();
      const last = model.cells[model.cells.length - 1];
      if (!cursor) cursor = last ? [last.day, model.view === "heatmap" ? last.hour : last.row, 0] : [0, 0, 0];
      else if (model.view === "heatmap" && move[1] && at(cursor[0], cursor[1], 0)?.cell !== at(cursor[0], cursor[1], 1)?.cell
        && cursor[2] === (move[1] > 0 ? 0 : 1)) cursor[2] += move[1]; // through the two halves
      else {
        cursor = [clamp(cursor[0] + move[0], 0, model.dates.length - 1), clamp(cursor[1] + move[1], 0, g.rows - 1), move[1] < 0 ? 1 : 0];
      }
      const box = canvas.getBoundingClientRect();
      const cx = box.left + g.left + cursor[0] * g.cw + g.cw / 2;
      const cy = box.top + g.top + cursor[1] * g.rh + (cursor[2] + 0.5) * (g.rh / 2);
      show(at(...cursor), cx, cy);
    });

    api.last = {
      view: model.view, days: model.dates.length, dates: model.dates, cells: model.cells,
      rows: model.rows, min: model.min, max: model.max, canvas, dpr, geometry: g,
      background: BACKGROUND, colour: model.colour, csv: model.csv,
    };
  }

  /* ---- render: the one entry point ---- */

  let generation = 0;
  let pending = null;
  let pendingKey = null;
  let current = null; // the last model drawn, for redrawing at another width
  let saidProblem = false;

  async function work(gen) {
    const view = energy.state.get("view");
    if (view !== "heatmap" && view !== "campus") return; // explore.js shows the chart
    section.hidden = false;
    section.dataset.state = "loading";
    section.replaceChildren(energy.el("p", { class: "note" }, "Loading…"));
    try {
      const model = view === "heatmap" ? await heatmapModel() : await campusModel();
      if (gen !== generation) return;
      if (saidProblem) { energy.problem(null); saidProblem = false; }
      if (model.empty) {
        current = null;
        api.last = null;
        section.replaceChildren(energy.el("p", { class: "note" }, model.empty));
      } else {
        current = model;
        draw(model);
      }
      section.dataset.state = "ready";
      performance.mark("energy:drawn"); // bench/ui times the page to here
    } catch (err) {
      if (gen !== generation) return;
      current = null;
      section.replaceChildren(energy.el("p", { class: "note bad" }, "Nothing to draw: ", err.message));
      section.dataset.state = "error";
      energy.problem(err);
      saidProblem = true;
    }
  }

  /* Reads the URL and draws; a second call for the same state while one runs waits for it. */
  function render() {
    const key = location.search;
    if (pending && pendingKey === key) return pending;
    const gen = ++generation;
    pendingKey = key;
    pending = work(gen).finally(() => { if (gen === generation) pending = null; });
    return pending;
  }

  let width = 0;
  window.addEventListener("resize", () => {
    if (!current || section.hidden || section.clientWidth === width) return;
    width = section.clientWidth;
    draw(current);
  });

  const api = { render, last: null };
  if (["heatmap", "campus"].includes(energy.state.get("view"))) render();
  return api;
})();
