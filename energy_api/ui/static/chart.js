/* The explorer's line chart (#chart-view): the chosen points over the range, enum points as
   state bands (bands.js) below the plot, the hovered values below those. At most two y axes:
   the first two units get one each (left, right); a line in a further unit is drawn on its own
   scale without an axis (the caption says which; hover reads its values with their unit).

   The chart asks /api/v2/values once (following meta.next pages) at the finest interval whose
   buckets fit the plot's pixels, so a year of quarter-hours is 365 daily rollups, not 35,040
   readings. Raw readings are asked for when quarter-hours would fit, and given up for the
   rollup as soon as a page shows a point with more readings than pixels (no more pages are
   fetched to learn it). Missing buckets and readings are drawn as gaps: uPlot breaks a line at a
   null, so a null is put everywhere between the two values that border a gap.

   energyChart.init({ explorer, pointInfo, zoomTo, drawn })  once: explorer is the object the
       chart reports into (chart, interval, request, csv, pixels, drawn, bands: see explore.js),
       pointInfo(refs) the points' descriptions (energyFinder.pointInfo), zoomTo(from, to) is
       called with the epoch seconds a drag over the plot spans, drawn() after each drawing
   energyChart.draw(refs, range)  draws the points (ids or names) over range ({ start, end,
       seconds }: local texts as /values reads them, and the span's length), or says to choose
       points; #chart-view's data-state says loading, empty or drawn */
"use strict";

const energyChart = (() => {
  const box = document.getElementById("chart-view");
  const { el } = energy;
  const DAY = 86400;
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
  const AXIS = 60; // CSS pixels of a y axis, its label included
  const GAPS_LIMIT = 10000;

  let explorer = {};
  let pointInfo = async () => [];
  let zoomTo = () => {};
  let drawn = () => {};
  let chartRun = 0; // a newer drawing makes an older one's answers moot
  let chart = null;
  let bandRows = [];

  function init(options) {
    ({ explorer, pointInfo, zoomTo, drawn } = options);
  }

  /* The plot's width in CSS pixels: the chart's box less room for two y axes, the most it
     draws (known before the points' units are, so the first request needs nothing else first). */
  const plotPixels = () => Math.max(100, box.clientWidth - 2 * AXIS);

  /* Raw readings: where /gaps says readings are missing; null when the point's interval is
     unknown (points trended on change of value have no gaps to speak of; draw() asks only for
     points whose `interval_s` is known, this covers an evaluation that changed it meanwhile). */
  async function fetchGaps(ref, r) {
    try {
      return await energy.api(`points/${encodeURIComponent(ref)}/gaps`,
                              { start: r.start, end: r.end, limit: GAPS_LIMIT });
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

  function clearChart(message) {
    if (chart) chart.destroy();
    chart = null;
    bandRows = [];
    Object.assign(explorer, { chart: null, bands: [], drawn: 0 });
    box.replaceChildren(el("p", { class: "note", id: "chart-info" }, message));
  }

  async function draw(refs, r) {
    const run = ++chartRun;
    if (!refs.length || !r) {
      clearChart("Choose points in the finder above to draw them here.");
      box.dataset.state = "empty";
      return;
    }
    box.dataset.state = "loading";
    const described = pointInfo(refs); // in parallel with the values
    described.catch(() => {}); // (a failure of both is said once, by whichever is awaited first)
    const seconds = r.seconds;
    const pixels = plotPixels();
    // raw readings when quarter-hours would fit (checked on the answer: never more values than
    // pixels), else the finest rollup whose buckets fit
    const rollup = (ROLLUPS.find((x) => seconds / x.seconds <= pixels) || ROLLUPS[ROLLUPS.length - 1]).name;
    let interval = seconds / 900 <= pixels ? "raw" : rollup;
    // no agg: each kind gets its default (numbers avg, enum points the last state of a bucket)
    const params = { points: refs.join(","), start: r.start, end: r.end };
    const tooMany = (body) => body.series.some((s) => s.data.length > pixels);
    let values;
    let found = [];
    if (interval === "raw") {
      const pending = energy.values(params, tooMany);
      pending.catch(() => {}); // (said when awaited below)
      // gaps only of points whose interval the daemon knows: the others have none to ask for
      const points = await described;
      const knows = (ref) => points.some((p) => (ref === String(p.id) || ref === p.name) && p.interval_s);
      [values, ...found] = await Promise.all([pending,
        ...refs.map((ref) => (knows(ref) ? fetchGaps(ref, r) : null))]);
      if (tooMany(values)
          || found.some((g) => g && g.meta.interval_s && seconds / g.meta.interval_s > pixels)) {
        interval = rollup;
        found = [];
        values = await energy.values({ ...params, interval });
      }
    } else {
      values = await energy.values({ ...params, interval });
    }
    // a series' gaps, by the ref the URL names its point with (an id or a name)
    const gapsOf = (point) => found[refs.findIndex((ref) => ref === String(point.id) || ref === point.name)] || null;
    await described;
    if (run !== chartRun) return;
    const request = energy.apiUrl("values", interval === "raw" ? params : { ...params, interval });
    const csv = energy.apiUrl("values", { ...(interval === "raw" ? params : { ...params, interval }),
                                          format: "csv" });
    plot(values, interval, gapsOf, pixels, request, csv);
    drawn();
    box.dataset.state = "drawn";
  }

  function plot(values, interval, gapsOf, pixels, request, csv) {
    const t0 = Date.parse(values.meta.start) / 1000;
    const t1 = Date.parse(values.meta.end) / 1000;
    const lines = values.series.map((s) => {
      const gaps = gapsOf(s.point);
      const rows = s.data;
      const breaks = breaksOf(rows, interval, gaps);
      const states = [...(s.point.states || [])];
      if (s.point.kind === "enum") {
        for (const row of rows) if (!states.includes(row[2])) states.push(row[2]);
      }
      return {
        point: s.point, rows, breaks, states, cut: Boolean(gaps && gaps.meta.truncated),
        step: stepOf(rows, interval, gaps),
        value: s.point.kind === "enum" ? (v) => states.indexOf(v) : (v) => v,
      };
    });
    const count = lines.reduce((n, line) => n + line.rows.length, 0);
    const when = `${energy.isoTime(values.meta.start)} to ${energy.isoTime(values.meta.end)}`;
    Object.assign(explorer, { interval, request, csv, pixels });
    if (!count) {
      clearChart(`No readings of these points from ${when}.`);
      return;
    }
    // one y scale per unit; the first two units have an axis each (left, right), further ones
    // none: more axes would narrow the plot below the pixels the interval was chosen for
    const units = [...new Set(lines.filter((l) => l.point.kind !== "enum")
      .map((l) => l.point.unit || ""))];
    const unaxed = units.slice(2).map((unit) => unit || "(no unit)");
    const cut = lines.filter((l) => l.cut).map((l) => l.point.name);
    const caption = el("p", { class: "note", id: "chart-info" }, `${when} · `,
      interval === "raw" ? "every reading" : `${interval} buckets (averages; enum points: the last state)`,
      ` · ${energy.count(count)} values · `,
      el("a", { href: csv, download: "", id: "chart-csv" }, "Download CSV"),
      unaxed.length ? ` · only two y axes: ${unaxed.join(", ")} drawn to scale without one (hover to read)` : "",
      cut.length ? ` · more than ${energy.count(GAPS_LIMIT)} gaps in ${cut.join(", ")}: the line may join across the later ones` : "");
    if (chart) chart.destroy();
    chart = null;
    bandRows = [];
    const plotBox = el("div", { class: "chart" });
    const bandsBox = el("div", { class: "bands" });
    const legendBox = el("div", { class: "legend" });
    box.replaceChildren(caption, plotBox, bandsBox, legendBox);

    // enum points on a hidden scale of their own
    const axes = [{ scale: "x", values: timeTicks, space: 60 }].concat(units.slice(0, 2).map((unit, k) => ({
      scale: `unit:${unit}`, label: unit || undefined, side: k ? 1 : 3,
      grid: { show: k === 0 }, size: unit ? AXIS - 16 : AXIS, labelSize: 16,
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
                 value: (u, v) => energy.number(v, unit) };
      }));
    const scales = { x: { time: true, range: () => [t0, t1] }, state: { range: [0, 1] } };
    const data = align(lines);
    const options = {
      width: box.clientWidth,
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
        draw: [(u) => energyBands.draw(u, bandRows)],
      },
    };
    chart = new uPlot(options, data, plotBox);
    bandRows = energyBands.rows(bandsBox, lines.filter((l) => l.point.kind === "enum"), t1);
    energyBands.draw(chart, bandRows);
    Object.assign(explorer, { chart, drawn: count, bands: bandRows.map(({ canvas, ...rest }) => rest) });
  }

  /* The x axis' labels in the server's zone, 24-hour, the date where it changes. */
  function timeTicks(u, ticks, axis, space, step) {
    let day = null;
    return ticks.map((t) => {
      const l = energy.local(t);
      if (step >= 28 * DAY) return l.date.slice(0, 7);
      if (step >= DAY) return l.date.slice(5);
      const label = l.date !== day ? `${l.hm}\n${l.date.slice(5)}` : l.hm;
      day = l.date;
      return label;
    });
  }

  function chartHeight() {
    return Math.round(Math.min(360, Math.max(220, window.innerHeight * 0.45)));
  }

  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      if (chart && !box.hidden) chart.setSize({ width: box.clientWidth, height: chartHeight() });
    }, 150);
  });

  return { init, draw };
})();
