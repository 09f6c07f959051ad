"""The tags an item carries: its own and those of everything above it — a room its building's;
a device its room's and building's; a point its device's, room's and building's."""

from __future__ import annotations

# By the item's alias: (level, the column holding that level's id); tags at a level are in
# <level>_tags, the item's own level first.
TAG_LEVELS: dict[str, tuple[tuple[str, str], ...]] = {
    "b": (("building", "b.id"),),
    "r": (("room", "r.id"), ("building", "r.building_id")),
    "d": (("device", "d.id"), ("room", "d.room_id"), ("building", "d.building_id")),
    "p": (
        ("point", "p.id"),
        ("device", "p.device_id"),
        ("room", "p.room_id"),
        ("building", "p.building_id"),
    ),
}


def tag_ids_sql(alias: str, *, own: bool = False) -> str:
    """A subquery of the ids of the tags the item `alias` carries (`own`: attached to it)."""
    levels = TAG_LEVELS[alias][:1] if own else TAG_LEVELS[alias]
    return " UNION ALL ".join(
        f"SELECT tag_id FROM {level}_tags WHERE {level}_id = {column}" for level, column in levels
    )


def tags_sql(alias: str, *, own: bool = False) -> str:
    """The sorted names of the tags the item `alias` carries (`own`: attached to it)."""
    return (
        f"ARRAY(SELECT t.name FROM tags t WHERE t.id IN ({tag_ids_sql(alias, own=own)})"
        ' ORDER BY t.name COLLATE "C")'
    )


POINT_TAGS = tags_sql("p")
