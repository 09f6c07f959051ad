/* The line chart's state bands: an enum point is a row of coloured runs, one colour per state,
   below the plot and on its x scale (chart.js makes them, and redraws them with the plot).

   energyBands.rows(box, lines, end)  appends a row per enum line ({ point, rows, breaks, step,
       states }, as chart.js builds them) to box; returns them: { point, name, runs, canvas },
       runs [from, to) of one state each, cut at the line's gaps and at end
   energyBands.draw(u, rows)  paints the rows' canvases under uPlot u's plot area */
"use strict";

const energyBands = (() => {
  const { el } = energy;
  const STATE_COLOURS = ["#6b7785", "#2e8540", "#a86f00", "#b3261e", "#5b3cc4", "#0b7285",
                         "#c2410c", "#6b4f2a"];

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

  function swatch(colour) {
    const node = el("span", { class: "swatch", "aria-hidden": "true" });
    node.style.background = colour; // CSSOM, which the CSP allows
    return node;
  }

  function rows(box, lines, end) {
    return lines.map((line) => {
      const canvas = el("canvas", { class: "band", role: "img",
                                    "aria-label": `states of ${line.point.name}` });
      const legend = el("span", { class: "states" }, ...line.states.map((s, k) =>
        el("span", { class: "state" }, swatch(STATE_COLOURS[k % STATE_COLOURS.length]), s)));
      box.append(el("div", { class: "band-row" },
        el("p", { class: "band-name" }, el("span", { class: "mono" }, line.point.name), " ", legend),
        canvas));
      const runs = runsOf(line.rows, line.breaks, line.step, end).map((run) => ({
        ...run, colour: STATE_COLOURS[line.states.indexOf(run.state) % STATE_COLOURS.length] }));
      return { point: line.point.id, name: line.point.name, runs, canvas };
    });
  }

  /* The bands' canvases take the plot area's left and width, and its x scale. */
  function draw(u, bandRows) {
    const ratio = window.devicePixelRatio || 1;
    const left = u.bbox.left / ratio;
    const width = u.bbox.width / ratio;
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
        const a = Math.max(0, u.valToPos(run.from, "x"));
        const b = Math.min(width, u.valToPos(run.to, "x"));
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

  return { rows, draw };
})();
