/* The status page: the ingest's backlog and the file in progress, recent and failed files, the
   report series and the open alerts, from the read API (/health, /ingest, /files, /series,
   /alerts). Fetched again every 5 s while the tab is shown (the browser revalidates with the
   API's ETags); a section is rebuilt only when what it shows changed, so a retry command being
   selected or a focused button survives a refresh. */
"use strict";

(() => {
  const { el, table, count, isoTime } = energy;
  const REFRESH_MS = 5000;
  const RECENT = 20; // files under "Recent files"
  const FAILED = 50; // files under "Failed files"

  const plural = (n, word) => `${count(n)} ${n === 1 ? word : word + "s"}`;
  const mb = (bytes) => `${(bytes / 1e6).toLocaleString("en-US",
    { minimumFractionDigits: 1, maximumFractionDigits: 1 })} MB`;

  const UNITS = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];

  /* Exactly: 900 → "15 min", 85500 → "23 h 45 min". */
  function cadence(seconds) {
    const parts = [];
    let rest = Math.round(seconds);
    for (const [size, unit] of UNITS) {
      if (rest >= size) parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
    return parts.join(" ") || "0 s";
  }

  /* Roughly, in its largest unit: 45253 → "13 h". */
  function roughly(seconds) {
    const [size, unit] = UNITS.find(([s]) => seconds >= s) || UNITS[UNITS.length - 1];
    return `${Math.round(seconds / size)} ${unit}`;
  }

  /* As Python's shlex.quote (the daemon's failure note uses it): a name of safe characters as
     it is, any other in single quotes. JavaScript's \w is ASCII-only, like re.ASCII. */
  function shellQuote(text) {
    if (text === "") return "''";
    if (!/[^\w@%+=:,./-]/.test(text)) return text;
    return `'${text.replaceAll("'", `'"'"'`)}'`;
  }

  function retryCommand(file) {
    const source = file.source === "alc" ? "alc" : "siemens"; // as the daemon files it
    return `energy-ingest retry -- ${shellQuote(`${source}/${file.name}`)}`;
  }

  /* --- building blocks --------------------------------------------------------------------- */

  const num = (n) => el("td", { class: "num" }, count(n));
  const empty = (text) => el("p", { class: "muted empty" }, text);

  /* A count that opens to its list (rejected rows, warnings): nothing to open when 0. */
  function listed(n, items) {
    if (!n || !items.length) return el("td", { class: "num" }, count(n));
    return el("td", { class: "num" }, el("details", {},
      el("summary", {}, count(n)), el("ul", { class: "items" }, items.map((t) => el("li", {}, t)))));
  }

  /* Warnings are stored capped, the last one saying "… and N more warnings". */
  function warningCount(warnings) {
    const more = /^… and (\d+) more warnings/.exec(warnings[warnings.length - 1] || "");
    return more ? warnings.length - 1 + Number(more[1]) : warnings.length;
  }

  /* Copy the command; where the clipboard is not offered (a page over plain http), select it
     so that Ctrl+C copies it. */
  async function copy(code, button) {
    try {
      await navigator.clipboard.writeText(code.textContent);
      button.textContent = "Copied";
    } catch {
      getSelection().selectAllChildren(code);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  }

  /* --- the sections ------------------------------------------------------------------------ */

  function health(h) {
    const cls = h.status === "ok" ? "ok" : h.status === "down" ? "bad" : "warn";
    return [
      el("span", { class: `badge ${cls}` }, h.status), " ",
      h.status === "ok" ? "Everything the API checks is in order." : h.reason,
      h.evaluated_at ? el("span", { class: "muted" },
        ` Data health last evaluated ${isoTime(h.evaluated_at)}.`) : "",
    ];
  }

  function backlog(d) {
    const live = d.daemons.length > 0;
    const out = [];
    if (d.backlog == null) {
      out.push(el("p", {}, "No ingest daemon has said how many files wait yet."));
    } else {
      out.push(el("p", { class: "figure" }, el("strong", {}, plural(d.backlog, "file")),
        " waiting in incoming/", live ? "" : " at the last evaluation",
        el("span", { class: "muted" }, ` (counted ${isoTime(d.backlog_at)})`)));
    }
    if (live) {
      out.push(el("p", { class: "muted" }, d.daemons.map((x) =>
        `daemon pid ${x.pid} on ${x.host}, running since ${isoTime(x.started_at)}`).join("; ")));
    } else {
      out.push(el("p", { class: "warn" }, `No ingest daemon has reported in the last `
        + `${d.stale_after_s} s: is it running? (systemctl status energy-ingest)`));
    }
    if (d.failed != null) {
      out.push(el("p", {}, `${plural(d.failed, "file")} in failed/`,
        el("span", { class: "muted" }, ` at the last evaluation (${isoTime(d.failed_at)})`)));
    }
    return out;
  }

  function inProgress(files) {
    if (!files.length) return empty("No file is loading.");
    return files.map((f) => el("div", { class: "loading" },
      el("p", {}, el("code", {}, f.path), " ", el("strong", { class: "percent" }, `${f.percent} %`)),
      el("progress", { max: 100, value: f.percent, "aria-label": `${f.path} read` }, `${f.percent} %`),
      el("p", { class: "muted" }, `${mb(f.bytes_read)} of ${mb(f.size)} read, `,
        el("span", { class: "values" }, count(f.values)), ` values so far; started `
        + `${isoTime(f.started_at)}; daemon pid ${f.pid} on ${f.host}`)));
  }

  function outcome(f) {
    if (f.status === "failed") return el("a", { href: "#failed", class: "badge bad" }, "failed");
    const again = f.duplicates_seen ? ` (seen again ${f.duplicates_seen}×)` : "";
    return [el("span", { class: "badge ok" }, "ingested"), again];
  }

  function recent(files) {
    if (!files.length) return empty("No files ingested yet.");
    const rows = files.map((f) => el("tr", { class: f.status === "failed" ? "failed" : null },
      el("td", { class: "when" }, isoTime(f.ingested_at)),
      el("td", { class: "file" }, el("span", { title: f.path || f.name }, f.name)),
      el("td", {}, f.source),
      el("td", {}, outcome(f)),
      // a failed file stored nothing: its counts are no zeros but "—"
      f.status === "failed" ? [1, 2, 3, 4, 5, 6].map(() => num(null)) : [
        num(f.readings), num(f.inserted), num(f.updated), num(f.unchanged),
        listed(f.rejected_rows, f.rejects.map((r) => `line ${r.line}: ${r.reason}`)),
        listed(warningCount(f.warnings), f.warnings),
      ]));
    return table([["Time"], ["File"], ["Source"], ["Outcome"], ["Readings", "num"], ["New", "num"],
      ["Changed", "num"], ["Unchanged", "num"], ["Rejected", "num"], ["Warnings", "num"]], rows);
  }

  function failed(page) {
    if (!page.data.length) return empty("No failed files.");
    const rows = page.data.map((f) => {
      const code = el("code", { class: "cmd" }, retryCommand(f));
      const button = el("button", { type: "button", "aria-label": `Copy the retry command for ${f.name}` }, "Copy");
      button.addEventListener("click", () => copy(code, button));
      return el("tr", { class: "failed" },
        el("td", { class: "file" }, el("span", { title: f.path || f.name }, f.name)),
        el("td", {}, f.source),
        el("td", { class: "when" }, isoTime(f.ingested_at)),
        el("td", { class: "reason" }, f.error || "—"),
        el("td", { class: "retry" }, code, " ", button));
    });
    const more = page.meta.total > page.data.length
      ? el("p", { class: "muted" }, `The newest ${page.data.length} of ${count(page.meta.total)}.`) : null;
    return [
      el("p", { class: "note" }, "Each is kept in failed/ beside a note; fix the cause, then run its command to try it again."),
      table([["File"], ["Source"], ["When"], ["Reason"], ["Retry"]], rows), more,
    ];
  }

  const ORDER = { overdue: 0, unknown: 1, ok: 2, historical: 3 };

  function series(list) {
    if (!list.length) return empty("No report series yet.");
    const sorted = [...list].sort((a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9)
      || a.name.localeCompare(b.name) || a.source.localeCompare(b.source));
    const status = (s) => {
      if (s.status !== "overdue") {
        return el("span", { class: `badge ${s.status === "ok" ? "ok" : "muted"}` }, s.status);
      }
      return [el("span", { class: "badge bad" }, "overdue"),
        s.overdue_s != null ? ` late by ${roughly(s.overdue_s)}` : ""];
    };
    const rows = sorted.map((s) => el("tr", { class: s.status === "overdue" ? "overdue" : null },
      el("td", {}, s.name), el("td", {}, s.source),
      el("td", {}, s.cadence_s ? `every ${cadence(s.cadence_s)}` : "—"),
      el("td", { class: "when" }, isoTime(s.last_run)),
      el("td", { class: "when" }, isoTime(s.expected_next)),
      el("td", { class: "status" }, status(s))));
    return table([["Series"], ["Source"], ["Cadence"], ["Last run"], ["Expected next"], ["Status"]], rows);
  }

  function alerts(list) {
    if (!list.length) return empty("No open alerts.");
    const rows = list.map((a) => el("tr", { class: `alert ${a.state}` },
      el("td", {}, el("span", { class: `badge ${a.priority === "high" ? "bad" : "warn"}` }, a.priority)),
      el("td", {}, a.kind),
      el("td", { class: "summary" }, a.summary),
      el("td", { class: "when" }, isoTime(a.state === "firing" ? a.fired_at || a.opened_at : a.opened_at)),
      el("td", {}, a.state, a.suppressed_by
        ? el("span", { class: "muted" }, ` (suppressed by alert ${a.suppressed_by})`) : "")));
    return table([["Priority"], ["Kind"], ["Summary"], ["Since"], ["State"]], rows);
  }

  /* --- refreshing -------------------------------------------------------------------------- */

  /* /health answers 503 with the same body when the database is down: show that too. Any other
     answer (an error of the API, a proxy's HTML page) is a problem like the other sources'. */
  async function healthAnswer() {
    let body;
    try {
      body = await energy.api("health");
    } catch (err) {
      if (err.body && err.body.status) return err.body;
      throw err;
    }
    if (!body || !body.status) throw new Error("/api/v2/health did not answer with its JSON");
    return body;
  }

  const SOURCES = {
    health: healthAnswer,
    ingest: () => energy.api("ingest"),
    recent: () => energy.api("files", { limit: RECENT }),
    failed: () => energy.api("files", { status: "failed", limit: FAILED }),
    series: () => energy.api("series"),
    alerts: () => energy.api("alerts"), // open ones: pending or firing
  };

  const shown = new Map(); // section → the data it shows, as JSON

  /* Rebuild `target` from `data` only when that differs from what it shows. */
  function show(target, data, build) {
    const key = JSON.stringify(data);
    if (shown.get(target) === key) return;
    shown.set(target, key);
    target.replaceChildren(...[build(data)].flat().filter((n) => n !== null));
  }

  function section(id, data, build, heading) {
    const node = document.getElementById(id);
    show(node.querySelector(".body"), data, build);
    const counter = node.querySelector(".count");
    if (counter) counter.textContent = heading;
  }

  async function refresh() {
    const names = Object.keys(SOURCES);
    const settled = await Promise.allSettled(names.map((name) => SOURCES[name]()));
    const got = {};
    let failure = null;
    settled.forEach((result, i) => {
      if (result.status === "fulfilled") got[names[i]] = result.value;
      else failure = failure || result.reason;
    });
    if (got.health) show(document.getElementById("health"), got.health, health);
    if (got.ingest) {
      const { loading, ...rest } = got.ingest;
      section("backlog", rest, backlog);
      section("progress", loading, inProgress);
    }
    if (got.recent) section("recent", got.recent.data, recent, `(${count(got.recent.meta.total)})`);
    if (got.failed) section("failed", got.failed, failed, `(${count(got.failed.meta.total)})`);
    if (got.series) {
      const overdue = got.series.data.filter((s) => s.status === "overdue").length;
      section("series", got.series.data, series,
        `(${overdue ? `${overdue} overdue of ` : ""}${count(got.series.data.length)})`);
    }
    if (got.alerts) section("alerts", got.alerts.data, alerts, `(${count(got.alerts.meta.total)})`);
    energy.problem(failure);
    // "updated 14:05:09 -06:00", in the server's zone with its offset like every time shown
    const now = energy.local(Date.now() / 1000);
    document.getElementById("refreshed").textContent = `updated ${now.hms} ${now.offset}`;
  }

  let timer = 0;
  let busy = false;

  /* Refresh now, then again in 5 s while the tab is shown; nothing while it is hidden (a tab
     in the background asks the API nothing), at once when it is shown again. */
  async function tick() {
    clearTimeout(timer);
    if (busy) return;
    busy = true;
    try {
      await refresh();
    } catch (err) {
      energy.problem(err);
    } finally {
      busy = false;
    }
    if (document.visibilityState === "visible") timer = setTimeout(tick, REFRESH_MS);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") tick();
    else clearTimeout(timer);
  });
  tick();
})();
