"""One point resolved with the site file's rules: building, room, floor, device, point part and
tags, and for each attribute where it came from. Pure: no database, no files.

Naming rules are tried in the file's order: for each field (a Siemens name or descriptor; an ALC
row's control program, name or Location) the first rule that applies (its source) and matches is
the one used, so specific rules go first and a general one last; rules on different fields add
up. A building group's text is looked up among codes, names and aliases; for ALC points the
Location's second segment names the building first. A captured value then goes through its
[[rewrite]]; a device without a room takes its [[devices]] room; a floor comes from a floor group,
else from the room (the building's floor rules) — and only in a building. Tag rules add tags at
their level; the first [[unit_rules]] entry that matches offers a unit (write.resolution uses it
only where no override, export or trend report gives one); a [[points]] override (by name or
pattern) has the last word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from energy_ingest.catalog.site import Site

ATTRIBUTES = ("building", "room", "floor", "device", "point", "unit")


@dataclass(frozen=True)
class Resolved:
    building: str | None = None  # a [[buildings]] code
    room: str | None = None
    floor: int | None = None
    device: str | None = None
    point: str | None = None  # what the naming rule's point group found
    unit: str | None = None  # only from an override: the export's unit stays the export's
    tags: tuple[tuple[str, str], ...] = ()  # (tag, level), in rule order, no repeats
    origins: dict[str, str] = field(default_factory=dict)  # attribute -> where it came from
    unknown_building: str | None = None  # a building group's text that names no building
    by_rule: tuple[str, str] | None = None  # (unit, origin) of the first matching [[unit_rules]]


def resolve(
    site: Site,
    name: str,
    source: str,
    *,
    descriptor: str | None = None,
    control_program: str | None = None,
    alc_name: str | None = None,
    location: tuple[str, ...] = (),
) -> Resolved:
    """Resolve the point `name` of `source` ("siemens" or "alc"); ALC points pass what their
    Points List row says (control program, name, Location segments)."""
    found: dict[str, object] = {}
    origins: dict[str, str] = {}
    unknown: str | None = None

    def put(attribute: str, value: object, origin: str) -> None:
        if value not in (None, "") and attribute not in found:
            found[attribute] = value
            origins[attribute] = origin

    if source == "alc" and len(location) > 1 and (b := site.building(location[1])):
        put("building", b.code, "points list Location")
    fields = _fields(name, source, descriptor, control_program, alc_name, location)
    matched: set[str] = set()
    for rule in site.naming:
        if rule.source not in (None, source) or rule.field in matched:
            continue
        match = rule.pattern.search(fields.get(rule.field) or "")
        if match is None:
            continue
        matched.add(rule.field)
        origin = f"site rule line {rule.line}"
        groups = {k: (v or "").strip() for k, v in match.groupdict().items()}
        if groups.get("building"):
            named = site.building(groups["building"])
            if named is None:
                unknown = unknown or groups["building"]
            else:
                put("building", named.code, origin)
        elif rule.building:
            put("building", rule.building, origin)
        for attribute in ("room", "device", "point"):
            put(attribute, groups.get(attribute), origin)
        put("floor", site.floor_named(groups.get("floor")), origin)
    building = _str(found.get("building"))
    if site.rewrites:
        _rewrite(site, source, building, found, origins)
    if site.devices and building and "device" in found and "room" not in found:
        entry = site.device_room(building, str(found["device"]))
        if entry is not None:
            put("room", entry.room, f"device line {entry.line}")
    if "room" in found and building:  # a room is stored in its building, or not at all
        put("floor", site.room_floor(building, str(found["room"])), origins["room"])
    if not building:  # nor is a floor of no building
        found.pop("floor", None)
        origins.pop("floor", None)

    tags: list[tuple[str, str]] = []
    texts = {
        "point": str(found.get("point") or name),
        "name": name,
        "descriptor": descriptor or "",
        "alc_name": alc_name or "",
    }
    for tag_rule in site.tags:
        if tag_rule.source in (None, source) and tag_rule.pattern.search(texts[tag_rule.on]):
            for tag in tag_rule.tags:
                if (tag, tag_rule.level) not in tags:
                    tags.append((tag, tag_rule.level))
    if tags:
        origins["tags"] = "site tag rules"
    by_rule = next(
        (
            (u.unit, f"unit rule line {u.line}")
            for u in site.unit_rules
            if u.source in (None, source) and u.pattern.search(texts[u.on])
        ),
        None,
    )

    override = site.override(name, source)
    if override is not None:
        origin = f"override line {override.line}"
        for key, value in override.values.items():
            if key == "tags":
                tags = [(t, "point") for t in value]
            elif key == "building" and (b := site.building(str(value))):
                found["building"] = b.code
            elif key != "building":
                found[key] = value
            origins[key] = origin
        if "room" in override.values and "floor" not in override.values and "building" in found:
            found["floor"] = site.room_floor(str(found["building"]), str(found["room"]))
            origins["floor"] = origin
    floor = found.get("floor")
    return Resolved(
        building=_str(found.get("building")),
        room=_str(found.get("room")),
        floor=floor if isinstance(floor, int) else None,
        device=_str(found.get("device")),
        point=_str(found.get("point")),
        unit=_str(found.get("unit")),
        tags=tuple(tags),
        origins=origins,
        unknown_building=None if "building" in found else unknown,
        by_rule=by_rule,
    )


def naming_matches(
    site: Site,
    name: str,
    source: str,
    *,
    descriptor: str | None = None,
    control_program: str | None = None,
    alc_name: str | None = None,
    location: tuple[str, ...] = (),
) -> list[list[int]]:
    """Per field, the lines of the naming rules that apply to the point and match it, in the
    file's order: the first is the one `resolve` uses, the others it shadows."""
    fields = _fields(name, source, descriptor, control_program, alc_name, location)
    by_field: dict[str, list[int]] = {}
    for rule in site.naming:
        if rule.source in (None, source) and rule.pattern.search(fields.get(rule.field) or ""):
            by_field.setdefault(rule.field, []).append(rule.line)
    return list(by_field.values())


def _fields(
    name: str,
    source: str,
    descriptor: str | None,
    control_program: str | None,
    alc_name: str | None,
    location: tuple[str, ...],
) -> dict[str, str]:
    """The texts naming rules read: a Siemens name and descriptor; an ALC row's name (its
    Points List Name, else the trend's name), control program and Location path."""
    if source == "alc":
        return {
            "name": alc_name or name,
            "control_program": control_program or "",
            "location": "/".join(location),
        }
    return {"name": name, "descriptor": descriptor or ""}


def _rewrite(
    site: Site, source: str, building: str | None, found: dict[str, object], origins: dict[str, str]
) -> None:
    """Each captured room, device or point through its first matching [[rewrite]] (`02` → `002`)."""
    for group in ("room", "device", "point"):
        value = found.get(group)
        done = site.rewrite(group, source, building, value) if isinstance(value, str) else None
        if done is not None:
            found[group] = done[0]
            origins[group] += f", rewritten by line {done[1].line}"


def _str(value: object) -> str | None:
    return None if value in (None, "") else str(value)
