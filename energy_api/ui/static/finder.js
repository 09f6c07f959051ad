/* The explorer's finder (#finder): filters (building → floor → room → device, tag, unit, free
   text) narrow a list of up to 200 points whose boxes choose the points drawn; the chosen ones
   are chips above it (× removes one). The filters and the choice live in the URL: building,
   floor, room, device, tag, unit, q and points (point ids or exact names, energy.points()).

   energyFinder.init({ changed, buildingChanged })  builds the finder; changed() when the choice
       of points changed, buildingChanged() (async) after the building filter did
   energyFinder.loadFilters()  fills the filters' lists and the points (after the chart's first
       request: see explore.js)
   energyFinder.selected()     the chosen points (ids or names, strings), from the URL
   energyFinder.pointInfo(refs)  those points as /latest (or /points) describes them: ids,
       names, kinds, units, states, newest reading; one /latest for those not yet known
   energyFinder.renderChips()  redraws the chips from the URL */
"use strict";

const energyFinder = (() => {
  const $ = (id) => document.getElementById(id);
  const { el, state } = energy;
  const LIMIT = 200; // results shown
  const FILTERS = [
    ["building", "Building", "any building"],
    ["floor", "Floor", "any floor"],
    ["room", "Room", "any room"],
    ["device", "Device", "any device"],
    ["tag", "Tag", "any tag"],
    ["unit", "Unit", "any unit"],
  ];

  const info = new Map(); // point id and name → the point as /latest or /points describe it
  let listRun = 0; // a newer list makes an older one's answer moot
  let changed = () => {};
  let buildingChanged = async () => {};

  const selected = energy.points;
  /* The id of a point the URL names by id or name (the name itself until it is known). */
  const idOf = (ref) => (info.has(ref) ? String(info.get(ref).id) : ref);
  function remember(p) {
    const known = { ...info.get(String(p.id)), ...p };
    info.set(String(p.id), known);
    info.set(p.name, known);
  }

  async function pointInfo(refs) {
    const missing = refs.filter((ref) => !info.has(ref));
    if (missing.length) {
      const body = await energy.api("latest", { points: missing.join(",") });
      for (const p of body.data) remember(p);
      renderChips();
    }
    return refs.map((ref) => info.get(ref)).filter(Boolean);
  }

  function init(callbacks) {
    ({ changed, buildingChanged } = callbacks);
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

  /* A filter's choices; meta (the list's) says when the API listed fewer than there are. */
  function fill(name, entries, meta) {
    const select = $(`find-${name}`);
    const wanted = state.get(name) || "";
    select.replaceChildren(select.options[0]);
    for (const [value, label] of entries) select.append(el("option", { value }, label));
    if (meta && meta.total > meta.count) {
      select.append(el("option", { value: "", disabled: true },
        `… ${energy.count(meta.total - meta.count)} more not listed (the first ${energy.count(meta.count)} of ${energy.count(meta.total)})`));
    }
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
      .map((b) => [b.code, `${b.code} — ${b.name} (${energy.count(b.points)})`]), buildings.meta);
    fill("tag", tags.data.map((t) => [t.name, `${t.name} (${energy.count(t.points)})`]), tags.meta);
    fill("unit", units.data.map((u) => [u.key, `${u.symbol}${u.name && u.name !== u.symbol
      ? ` — ${u.name}` : ""} (${energy.count(u.points)})`]), units.meta);
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
      energy.api("floors", { building, limit: 10000 }),
      energy.api("rooms", { building, floor, limit: 10000 }),
      energy.api("devices", { building, floor, room, limit: 10000 }),
    ]);
    fill("floor", floors.data.map((f) => [String(f.floor), `floor ${f.floor} (${energy.count(f.points)})`]),
      floors.meta);
    fill("room", rooms.data.map((r) => [r.name, `${r.name} (${energy.count(r.points)})`]), rooms.meta);
    fill("device", devices.data.map((d) => [d.name, `${d.name} (${energy.count(d.points)})`]),
      devices.meta);
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
      if (name === "building") await buildingChanged();
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
    const chosen = new Set(selected().map(idOf));
    $("results").replaceChildren(...body.data.map((p) => {
      remember(p);
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

  /* Tick or untick a point (by id); the URL keeps the others as it names them. */
  function toggle(id, on) {
    const refs = selected().filter((ref) => idOf(ref) !== id);
    if (on) refs.push(id);
    state.set({ points: refs.join(",") });
    const ids = refs.map(idOf);
    for (const box of $("results").querySelectorAll("input[type=checkbox]")) {
      box.checked = ids.includes(box.value);
    }
    changed();
  }

  function renderChips() {
    const refs = selected();
    $("chips").replaceChildren(...(refs.length ? refs.map((ref) => {
      const name = info.get(ref) ? info.get(ref).name : /^\d+$/.test(ref) ? `point ${ref}` : ref;
      return el("li", { class: "chip" }, el("span", { class: "mono" }, name),
        el("button", { type: "button", "aria-label": `Remove ${name}`, title: `Remove ${name}`,
                       onclick: () => toggle(idOf(ref), false) }, "×"));
    }) : [el("li", { class: "muted" }, "None yet: tick points below.")]));
  }

  return { init, loadFilters, selected, pointInfo, renderChips };
})();
