/* The catalog page: how much of the catalog is resolved, per building and source
   (/api/v2/coverage, the facts `energy-ingest catalog coverage` prints), and the triage queue an
   engineer works through after a new export: unresolved points (/api/v2/points?resolved=false),
   unit strings and point types nobody reads, names no rule places, retired points. */
"use strict";

(() => {
  const { el, count } = energy;
  // Points per page of a list ("Show more" asks for the next); ?per=N in the URL changes it.
  const PAGE = Math.min(Math.max(Number.parseInt(energy.state.get("per"), 10) || 100, 1), 1000);
  const NONE = "—";

  const percent = (row, key) => row.with[key].percent;
  const percentText = (p) => `${p.toFixed(1)}%`;
  const explore = (id, name) =>
    el("a", { href: `/explore?${new URLSearchParams({ points: id })}` }, name);

  /* The buildings table's columns: `value` sorts, `cell` shows; `down` is the order that puts
     the worst first (few resolved, many unresolved). */
  const COLUMNS = [
    { key: "building", label: "Building", value: (r) => r.building, down: false,
      cell: (r) => r.building ?? el("span", { class: "muted" }, "none") },
    { key: "name", label: "Name", value: (r) => r.name, down: false,
      cell: (r) => r.name ?? el("span", { class: "muted" }, "no rule gave one") },
    { key: "source", label: "Source", value: (r) => r.source, down: false, cell: (r) => r.source },
    { key: "points", label: "Points", num: true, value: (r) => r.points, down: true,
      cell: (r) => count(r.points) },
    ...["room", "device", "unit", "tags"].map((key) => ({
      key, label: `% ${key}`, num: true, value: (r) => percent(r, key), down: false,
      cell: (r) => el("span", { title: `${count(r.with[key].points)} of ${count(r.points)} points` },
        percentText(percent(r, key))),
    })),
    { key: "unresolved", label: "Unresolved", num: true, value: (r) => r.unresolved, down: true,
      cell: (r) => el("span", { class: r.unresolved ? "bad" : null }, count(r.unresolved)) },
    { key: "retired", label: "Retired", num: true, value: (r) => r.retired, down: true,
      cell: (r) => count(r.retired) },
    { key: "unknown_types", label: "Unknown types", num: true, value: (r) => r.unknown_types,
      down: true,
      cell: (r) => el("span", { class: r.unknown_types ? "warn" : null }, count(r.unknown_types)) },
  ];
  const BY_KEY = Object.fromEntries(COLUMNS.map((c) => [c.key, c]));

  /* The order the URL asks for (sort=<column>&order=asc|desc), else worst first: most
     unresolved, then most of unknown types, then least with a room. */
  function sortState() {
    const key = BY_KEY[energy.state.get("sort")] ? energy.state.get("sort") : null;
    const order = energy.state.get("order");
    if (!key) return { key: null, desc: true };
    return { key, desc: order ? order === "desc" : BY_KEY[key].down };
  }

  /* By one column; the points of no building (null code and name) last either way. */
  function compare(a, b, column, desc) {
    const x = column.value(a);
    const y = column.value(b);
    if (x == null || y == null) return (x == null) - (y == null);
    const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  }

  function worstFirst(a, b) {
    return b.unresolved - a.unresolved || b.unknown_types - a.unknown_types
      || percent(a, "room") - percent(b, "room") || b.points - a.points
      || compare(a, b, BY_KEY.building, false) || compare(a, b, BY_KEY.source, false);
  }

  function sorted(rows) {
    const { key, desc } = sortState();
    if (!key) return [...rows].sort(worstFirst);
    return [...rows].sort((a, b) => compare(a, b, BY_KEY[key], desc) || worstFirst(a, b));
  }

  function sortBy(key) {
    const now = sortState();
    const desc = now.key === key ? !now.desc : BY_KEY[key].down;
    energy.state.set({ sort: key, order: desc ? "desc" : "asc" });
  }

  function buildingsTable(table, coverage) {
    const draw = () => {
      const { key, desc } = sortState();
      const head = el("tr", {}, COLUMNS.map((c) => {
        const active = c.key === key || (!key && c.key === "unresolved");
        return el("th", {
          scope: "col", class: c.num ? "num" : null,
          "aria-sort": active ? (desc ? "descending" : "ascending") : null,
        }, el("button", {
          type: "button", class: "sort", "data-key": c.key,
          onclick: () => { sortBy(c.key); draw(); table.querySelector(`button[data-key="${c.key}"]`).focus(); },
        }, c.label, el("span", { class: "arrow", "aria-hidden": "true" },
          active ? (desc ? " ▼" : " ▲") : "")));
      }));
      const body = sorted(coverage.buildings).map((r) => el("tr", {
        "data-building": r.building ?? "", "data-source": r.source,
      }, COLUMNS.map((c) => el(c.key === "building" ? "th" : "td", {
        class: c.num ? "num" : null, "data-key": c.key, scope: c.key === "building" ? "row" : null,
      }, c.cell(r)))));
      const total = { building: null, name: null, source: "", points: coverage.points,
                      with: coverage.with, unresolved: coverage.unresolved,
                      retired: coverage.retired,
                      unknown_types: coverage.buildings.reduce((n, r) => n + r.unknown_types, 0) };
      const foot = el("tr", { class: "total" }, COLUMNS.map((c) => el(
        c.key === "building" ? "th" : "td",
        { class: c.num ? "num" : null, "data-key": c.key, scope: c.key === "building" ? "row" : null },
        c.key === "building" ? "Campus" : ["name", "source"].includes(c.key) ? "" : c.cell(total))));
      table.replaceChildren(el("thead", {}, head), el("tbody", {}, body), el("tfoot", {}, foot));
    };
    draw();
  }

  function simpleTable(columns, rows, empty) {
    if (!rows.length) return el("p", { class: "ok" }, empty);
    return energy.table(columns.map(([label, , num]) => [label, num ? "num" : null]),
      rows.map((row) => el("tr", {}, columns.map(([, cell, num]) =>
        el("td", { class: num ? "num" : null }, cell(row))))));
  }

  const example = (r) => explore(r.example_id, r.example);

  /* What an unresolved point lacks, by the coverage's definition (query/coverage.py MISSING). */
  function missing(point, unreadUnits) {
    const lacks = [];
    if (point.building == null) lacks.push("building");
    if (point.room == null && point.device == null && point.floor == null) {
      lacks.push("room, device or floor");
    }
    if (point.unit_id != null && unreadUnits.has(point.unit_id)) lacks.push(`unit “${point.unit}”`);
    return lacks.join("; ");
  }

  /* A list of points, a page at a time, with a button for the next; its heading says how many. */
  async function pointList(box, params, columns, empty, heading) {
    const list = energy.table(columns.map(([name, , num]) => [name, num ? "num" : null]), [],
                              { class: "points" });
    const rows = list.querySelector("tbody");
    const status = el("p", { class: "note", "aria-live": "polite" });
    const more = el("button", { type: "button", class: "more" });
    const label = heading.textContent;
    let shown = 0;
    async function next() {
      const page = await energy.api("points", { ...params, limit: PAGE, offset: shown });
      for (const p of page.data) {
        rows.append(el("tr", { "data-id": p.id }, columns.map(([, cell, num]) =>
          el("td", { class: num ? "num" : null }, cell(p)))));
      }
      shown += page.data.length;
      const total = page.meta.total;
      heading.textContent = `${label} (${count(total)})`;
      status.textContent = total > PAGE ? `${count(shown)} of ${count(total)} shown` : "";
      more.textContent = `Show ${count(Math.min(PAGE, total - shown))} more`;
      // an empty page ends the list even if the total said more (points retired or resolved
      // meanwhile): asking again would only get the same empty page
      more.hidden = shown >= total || !page.data.length;
      return total;
    }
    more.addEventListener("click", async () => {
      more.disabled = true;
      try { await next(); } catch (err) { energy.problem(err); } finally { more.disabled = false; }
    });
    try {
      if (await next() === 0) {
        box.replaceChildren(el("p", { class: "ok" }, empty));
        return;
      }
    } catch (err) {
      energy.problem(err);
      return;
    }
    box.replaceChildren(list, status, more);
  }

  const building = (p) => p.building ?? el("span", { class: "muted" }, NONE);

  function summary(coverage) {
    const site = coverage.site_file;
    document.getElementById("site-file").replaceChildren(site
      ? el("span", {}, "Site file ", el("code", {}, site.path), ` (sha256 ${site.sha256.slice(0, 12)}),`
        + ` applied ${energy.isoTime(site.applied_at)}.`)
      : el("span", { class: "warn" }, "No site file applied yet: run energy-ingest catalog apply."));
    const sources = Object.entries(coverage.by_source).map(([s, n]) => `${s} ${count(n)}`);
    const unknown = coverage.unknown_types.reduce((n, t) => n + t.points, 0);
    document.getElementById("totals").replaceChildren(
      el("strong", {}, `${count(coverage.points)} points`),
      sources.length ? ` (${sources.join(", ")}): ` : ": ",
      el("span", { class: coverage.unresolved ? "bad" : "ok" }, `${count(coverage.unresolved)} unresolved`),
      `, ${count(coverage.retired)} retired, ${count(unknown)} of a type the catalog does not know.`);
  }

  async function main() {
    const coverage = await energy.api("coverage", { top: 20 });
    summary(coverage);
    buildingsTable(document.getElementById("buildings"), coverage);
    const unread = new Set(coverage.unresolved_units.map((u) => u.unit_id));
    document.getElementById("units").replaceChildren(simpleTable([
      ["Unit as written", (u) => el("code", {}, u.unit)],
      ["Points", (u) => count(u.points), true],
      ["For example", example],
    ], coverage.unresolved_units, "pint reads every unit."));
    document.getElementById("types").replaceChildren(simpleTable([
      ["Type", (t) => el("code", {}, t.type)],
      ["Points", (t) => count(t.points), true],
      ["For example", example],
    ], coverage.unknown_types, "Every point type is known."));
    document.getElementById("shapes").replaceChildren(simpleTable([
      ["Shape", (s) => el("code", {}, s.shape)],
      ["Source", (s) => s.source],
      ["Points", (s) => count(s.points), true],
      ["For example", example],
    ], coverage.unmatched_shapes, "Every name has a building."));
    await Promise.all([
      pointList(document.getElementById("unresolved"), { resolved: "false" }, [
        ["Point", (p) => explore(p.id, p.name)],
        ["Source", (p) => p.source],
        ["Building", building],
        ["Missing", (p) => missing(p, unread)],
      ], "Nothing to resolve.", document.getElementById("unresolved-title")),
      pointList(document.getElementById("retired"), { retired: "true" }, [
        ["Point", (p) => explore(p.id, p.name)],
        ["Source", (p) => p.source],
        ["Building", building],
        ["Retired", (p) => energy.isoTime(p.retired.at)],
        ["By file", (p) => p.retired.file],
      ], "No point is retired.", document.getElementById("retired-title")),
    ]);
  }

  /* #main's data-state: "ready" once every section is filled (the point lists say their own
     problems), "error" when the page could not be built; the tests wait for it. */
  const root = document.getElementById("main");
  main().then(() => { root.dataset.state = "ready"; }, (err) => {
    energy.problem(err);
    root.dataset.state = "error";
  });
})();
