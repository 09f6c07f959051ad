/* The explorer page: the time range (#range), the views' tabs (#views), and the wiring of its
   parts — the finder (finder.js, #finder), the line chart (chart.js, #chart-view) and the
   heatmaps (heatmap.js, #heatmap-view).

   Everything the page shows follows from its URL (energy.state), so a view can be shared:
     points  point ids or exact names, comma-separated (the chart draws all; the heatmap the first)
     start, end  local dates YYYY-MM-DD or date-times YYYY-MM-DDTHH:MM (end exclusive), as
                 /api/v2/values reads them in the server's zone; a time in the autumn's repeated
                 hour carries its offset (2026-11-01T01:10-06:00), as a zoom there writes it
     view    chart (default) | heatmap | campus
     building, floor, room, device, tag, unit, q  the finder's filters (building is also the
                 campus view's)

   window.explorer is what tests (and the curious) may read of the chart: the uPlot instance
   (chart), the interval, the URL asked (request), its CSV (csv), the plot's pixels, the values
   drawn, the state bands, and drawnAt (ms since the navigation began, as is the
   performance mark "energy:drawn" that bench/ui times the page to). */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { el, state, wall, wallText, addDays, addMonths, instant } = energy;
  const DAY = 86400;

  const explorer = { chart: null, interval: null, request: null, csv: null, pixels: null,
                     bands: [], drawn: 0 };
  window.explorer = explorer;

  const { selected, pointInfo } = energyFinder;
  const view = () => state.get("view") || "chart";
  /* The URL's range, and its length in seconds; null while it has none. */
  function range() {
    const start = state.get("start");
    const end = state.get("end");
    return instant(start) !== null && instant(end) !== null
      ? { start, end, seconds: instant(end) - instant(start) } : null;
  }

  /* The day after the newest reading of the selected points (so a point whose data stopped a
     while ago still shows something), else tomorrow. */
  async function dayAfterNewest() {
    const points = await pointInfo(selected());
    const newest = points.map((p) => p.last_ts).filter(Boolean).map((iso) => Date.parse(iso) / 1000);
    return addDays(energy.local(newest.length ? Math.max(...newest) : Date.now() / 1000).date, 1);
  }

  /* No range in the URL: the chart's 7 days, written back to the URL — from its start or to its
     end when the URL has one of them, else ending with the newest reading's day. */
  async function ensureRange() {
    if (range()) return;
    const start = state.get("start");
    const end = state.get("end");
    if (instant(start) !== null) state.set({ end: addDays(start, 7) });
    else if (instant(end) !== null) state.set({ start: addDays(end, -7) });
    else if (selected().length) {
      const last = await dayAfterNewest();
      state.set({ start: addDays(last, -7), end: last });
    }
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

  /* Draw what the URL says, in the view it names. The heatmaps choose their own range when the
     URL has none (the year to the newest reading: heatmap.js), the chart its 7 days. */
  async function render() {
    showView();
    energyFinder.renderChips();
    energy.problem(null);
    try {
      if (view() === "chart") {
        await ensureRange();
        renderRange();
        await energyChart.draw(selected(), range());
      } else {
        renderRange();
        await energyHeatmap.render();
        renderRange(); // the range it wrote back, if any
      }
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
    // an action that fails (a point the API does not know) says so, never an unhandled rejection
    const button = (label, action, title) => el("button", { type: "button", title,
      onclick: () => Promise.resolve().then(action).catch((err) => energy.problem(err)) }, label);
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
    $("range-through").value = r ? wallText(wall(r.end) - 1).slice(0, 10) : "";
    $("range-text").textContent = r
      ? `${energy.time(instant(r.start))} to ${energy.time(instant(r.end))} (end excluded), ${energy.tz}`
      : "No range yet: choose points, or dates.";
  }

  function setRange(start, end) {
    if (instant(end) <= instant(start)) {
      energy.problem("The range must end after it starts.");
      return;
    }
    energy.problem(null);
    state.set({ start, end });
    render();
  }

  function setDates(startDate, throughDate) {
    if (!startDate || !throughDate) return;
    setRange(startDate, addDays(throughDate, 1));
  }

  /* The end in force: the URL's, else the chart's default range's. */
  async function currentEnd() {
    await ensureRange();
    const r = range();
    return r ? r.end : addDays(energy.local(Date.now() / 1000).date, 1);
  }

  async function span({ days = 0, months = 0 }) {
    const end = await currentEnd();
    setRange(months ? addMonths(end, -months) : addDays(end, -days), end);
  }

  async function toLatest() {
    if (!selected().length) return;
    const end = await dayAfterNewest();
    const r = range();
    const months = r && wholeMonths(r.start, r.end);
    setRange(months ? addMonths(end, -months)
      : wallText(wall(end) - (r ? wall(r.end) - wall(r.start) : 7 * DAY)), end);
  }

  /* How many calendar months a range of dates is (Month, Year), or 0. */
  function wholeMonths(start, end) {
    if (start.length !== 10 || end.length !== 10) return 0;
    const months = (+end.slice(0, 4) - +start.slice(0, 4)) * 12 + (+end.slice(5, 7) - +start.slice(5, 7));
    return months > 0 && addMonths(end, -months) === start ? months : 0;
  }

  /* The span before or after this one: as many calendar months, or as long on the clock. */
  function shift(direction) {
    const r = range();
    if (!r) return;
    const months = wholeMonths(r.start, r.end);
    if (months) {
      if (direction < 0) setRange(addMonths(r.start, -months), r.start);
      else setRange(r.end, addMonths(r.end, months));
      return;
    }
    const length = wall(r.end) - wall(r.start);
    if (direction < 0) setRange(wallText(wall(r.start) - length), r.start);
    else setRange(r.end, wallText(wall(r.end) + length));
  }

  function zoomOut() {
    const r = range();
    if (!r) return;
    const length = wall(r.end) - wall(r.start);
    // whole days stay whole days
    const grow = length >= DAY ? Math.ceil(length / 2 / DAY) * DAY : length / 2;
    setRange(wallText(wall(r.start) - grow), wallText(wall(r.end) + grow));
  }

  /* A drag over the chart: its span, to whole minutes, becomes the range (a finer interval);
     in the autumn's repeated hour with the offset, or the API would read the first such hour. */
  function zoomTo(from, to) {
    if (to - from < 60) return;
    setRange(energy.localText(Math.floor(from / 60) * 60), energy.localText(Math.ceil(to / 60) * 60));
  }

  // ---- the parts, wired

  energyFinder.init({
    changed: render,
    buildingChanged: async () => {
      if (view() !== "campus") return;
      await energyHeatmap.render();
      renderRange();
    },
  });
  energyChart.init({
    explorer, pointInfo, zoomTo,
    drawn: () => {
      explorer.drawnAt = performance.now(); // since the page's navigation began
      performance.mark("energy:drawn"); // bench/ui times the page to here
    },
  });
  initRange();
  initViews();
  render();
  // the finder's lists after the chart's first request is on its way (a timer runs after the
  // promise jobs that send it), so they do not queue ahead of it
  setTimeout(() => energyFinder.loadFilters().catch((err) => energy.problem(err)), 0);
})();
