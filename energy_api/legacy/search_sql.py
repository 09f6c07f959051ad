"""A parsed search (energy_ingest/catalog/search.py) → a psycopg.sql predicate that is never NULL.

The predicate reads the row aliases of its entity: buildings `b`, rooms `r`, devices `d`, points
`p`, values `p` (the reading's point) and `x` (the reading). Every value of the search goes in
as an sql.Literal; everything else is text written here. Each term is its own test — a tag is an
EXISTS, not a join — so `#1 and #2` means both tags and `not #4` keeps the untagged. Every term
is total (true or false, never NULL), so NOT never drops a row to three-valued logic.
"""

from __future__ import annotations

from psycopg import sql

from energy_api.queries import TAG_LEVELS
from energy_ingest.catalog.search import ALLOWED, And, Node, Not, Or, Term

# The legacy value type id of point p: 1 Boolean, 2 Integer, 3 Float, or its enumeration's row.
TYPE_SQL: sql.Composable = sql.SQL(
    "(CASE WHEN p.kind = 'enum' AND cardinality(p.states) = 0 THEN 1"
    " WHEN p.kind = 'number' AND p.representation = 'Integer' THEN 2"
    " WHEN p.kind = 'number' THEN 3"
    " ELSE (SELECT vt.id FROM value_types vt WHERE vt.states = p.states) END)"
)

ALIAS = {"buildings": "b", "rooms": "r", "devices": "d", "points": "p", "values": "p"}
_OPS = {op: sql.SQL(op) for op in ("=", "!=", "<", ">", "<=", ">=")}

# Where an item's own id, building, room and device are (whose tags it has: queries.TAG_LEVELS).
_COLUMN = {
    ("building", "b"): "b.id",
    ("building", "r"): "r.building_id",
    ("building", "d"): "d.building_id",
    ("building", "p"): "p.building_id",
    ("room", "r"): "r.id",
    ("room", "d"): "d.room_id",
    ("room", "p"): "p.room_id",
    ("device", "d"): "d.id",
    ("device", "p"): "p.device_id",
    ("point", "p"): "p.id",
    ("floor", "r"): "r.floor",
    ("floor", "p"): "p.floor",
    ("unit", "p"): "p.unit_id",
}


def _compare(column: str, op: str, value: int | float | str) -> sql.Composable:
    """`column op value`, false where the column is NULL (an AND the planner can still index)."""
    return sql.SQL("({column} {op} {value} AND {column} IS NOT NULL)").format(
        column=sql.SQL(column), op=_op(op), value=sql.Literal(value)
    )


def _op(op: str | None) -> sql.Composable:
    if op not in _OPS:
        raise ValueError(f"not a comparison operator: {op!r}")
    return _OPS[op]


def _whole(term: Term) -> int:
    if not isinstance(term.value, int) or isinstance(term.value, bool):
        raise ValueError(f"{term.kind} takes a whole number, not {term.value!r}")
    return term.value


def _tagged(alias: str, tag: int) -> sql.Composable:
    tests = [
        sql.SQL(
            "EXISTS (SELECT 1 FROM {table} t WHERE t.{owner} = {id} AND t.tag_id = {tag})"
        ).format(
            table=sql.Identifier(f"{level}_tags"),
            owner=sql.Identifier(f"{level}_id"),
            id=sql.SQL(column),
            tag=sql.Literal(tag),
        )
        for level, column in TAG_LEVELS[alias]
    ]
    return sql.SQL("({})").format(sql.SQL(" OR ").join(tests))


def _value(term: Term) -> sql.Composable:
    """A reading against a number: an enumeration's reading is its state's index, so the state's
    number in the text table (defined_values, 1-based) is compared, false when it has none."""
    if not isinstance(term.value, int | float) or isinstance(term.value, bool):
        raise ValueError(f"~ takes a number, not {term.value!r}")
    number = sql.Literal(float(term.value))
    return sql.SQL(
        "(CASE WHEN p.kind <> 'enum' THEN coalesce(x.value {op} {n}, false)"
        " WHEN NOT coalesce(x.value >= 0 AND x.value < cardinality(p.defined_values), false)"
        " THEN false"
        " ELSE coalesce(p.defined_values[x.value::integer + 1] {op} {n}, false) END)"
    ).format(op=_op(term.op), n=number)


def _term(term: Term, entity: str) -> sql.Composable:
    alias = ALIAS[entity]
    if term.kind not in ALLOWED[entity]:
        raise ValueError(f"a {term.kind} term cannot select {entity}")
    if term.kind == "tag":
        return _tagged(alias, _whole(term))
    if term.kind == "floor" and alias == "d":
        return sql.SQL(
            "EXISTS (SELECT 1 FROM rooms f WHERE f.id = d.room_id AND f.floor {op} {n})"
        ).format(op=_op(term.op), n=sql.Literal(_whole(term)))
    if term.kind == "floor":
        return _compare(_COLUMN["floor", alias], term.op or "", _whole(term))
    if term.kind == "type":
        return sql.SQL("coalesce({} = {}, false)").format(TYPE_SQL, sql.Literal(_whole(term)))
    if term.kind == "measurement":
        if not isinstance(term.value, str):
            raise ValueError(f":measurement takes text, not {term.value!r}")
        return sql.SQL(
            "EXISTS (SELECT 1 FROM units u WHERE u.id = p.unit_id AND u.quantity = {})"
        ).format(sql.Literal(term.value))
    if term.kind == "value":
        return _value(term)
    return _compare(_COLUMN[term.kind, alias], "=", _whole(term))


def where(node: Node | None, entity: str) -> sql.Composable:
    """The predicate selecting `entity` ('buildings', 'rooms', 'devices', 'points', 'values')
    rows that match the search; TRUE for no search."""
    if entity not in ALIAS:
        raise ValueError(f"no such entity {entity!r}: one of {', '.join(ALIAS)}")
    if node is None:
        return sql.SQL("TRUE")
    if isinstance(node, Term):
        return _term(node, entity)
    if isinstance(node, Not):
        return sql.SQL("(NOT coalesce({}, false))").format(where(node.item, entity))
    if not isinstance(node, And | Or) or not node.items:
        raise ValueError(f"not a search: {node!r}")
    joiner = sql.SQL(" AND " if isinstance(node, And) else " OR ")
    return sql.SQL("({})").format(joiner.join(where(item, entity) for item in node.items))
