"""A parsed search (energy_ingest/catalog/search.py) → a SQL predicate that is never NULL, and its
bound parameters.

The predicate reads the row aliases of its entity: buildings `b`, rooms `r`, devices `d`, points
`p`, values `p` (the reading's point) and `x` (the reading). Every value of the search is a bound
parameter (`%(search_N)s`, one per distinct value), never text in the query, so a `%` or a quote
in a measurement is only data. Each term is its own test — `#1 and #2` means both tags and
`not #4` keeps the untagged — and every term is total (true or false, never NULL), so NOT never
drops a row to three-valued logic.

What a search costs the database is bounded by its size: and/or chains are flattened and
repeated terms dropped, and the facts a term needs beyond the row (its tags, a device's floor, a
point's measurement and value type) are read once per row in one subquery, whatever the number
of terms; a subquery per term would make PostgreSQL plan hundreds of joins (seconds for 100).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from psycopg import sql

from energy_ingest.catalog.search import ALLOWED, And, Node, Not, Or, Term
from energy_ingest.query.tags import TAG_LEVELS, tag_ids_sql

# The legacy value type id of point p: 1 Boolean, 2 Integer, 3 Float, or its enumeration's row.
TYPE_SQL: sql.Composable = sql.SQL(
    "(CASE WHEN p.kind = 'enum' AND cardinality(p.states) = 0 THEN 1"
    " WHEN p.kind = 'number' AND p.representation = 'Integer' THEN 2"
    " WHEN p.kind = 'number' THEN 3"
    " ELSE (SELECT vt.id FROM value_types vt WHERE vt.states = p.states) END)"
)

ALIAS = {"buildings": "b", "rooms": "r", "devices": "d", "points": "p", "values": "p"}
_OPS = {op: sql.SQL(op) for op in ("=", "!=", "<", ">", "<=", ">=")}

# Where an item's own id, building, room and device are (whose tags it has: query/tags.py).
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


# The facts beyond the row a term reads, by (fact, alias): computed once per row in `s`.
_FACTS: dict[tuple[str, str], sql.Composable] = {
    **{("tags", alias): sql.SQL(f"ARRAY({tag_ids_sql(alias)})") for alias in TAG_LEVELS},
    ("floor", "d"): sql.SQL("(SELECT f.floor FROM rooms f WHERE f.id = d.room_id)"),
    ("quantity", "p"): sql.SQL("(SELECT u.quantity FROM units u WHERE u.id = p.unit_id)"),
    ("type", "p"): TYPE_SQL,
}


class Predicate(NamedTuple):
    """SQL to put in a WHERE (or a select list) and the parameters to execute it with."""

    sql: sql.Composable
    params: dict[str, Any]


def simplified(node: Node) -> Node:
    """The same search with nested and/or chains flattened, repeated items dropped (in order)
    and double negations removed: `#1 and (#1 and #2)` → `#1 and #2`."""
    if isinstance(node, Not):
        inner = simplified(node.item)
        return inner.item if isinstance(inner, Not) else Not(inner)
    if isinstance(node, And | Or):
        chain = type(node)
        items: list[Node] = []
        for item in map(simplified, node.items):
            items.extend(item.items if isinstance(item, chain) else (item,))
        unique = tuple(dict.fromkeys(items))
        return unique[0] if len(unique) == 1 else chain(unique)
    return node


class _Compiler:
    """One search's predicate for one entity: each distinct value bound once, each fact named."""

    def __init__(self, entity: str, prefix: str) -> None:
        self.entity = entity
        self.prefix = prefix
        self.alias = ALIAS[entity]
        self.params: dict[str, Any] = {}
        self.names: dict[tuple[type, Any], str] = {}
        self.facts: dict[str, sql.Composable] = {}
        self.used_fact = False

    def bind(self, value: Any, cast: str) -> sql.Composable:
        name = self.names.setdefault((type(value), value), f"{self.prefix}_{len(self.names)}")
        self.params[name] = value
        return sql.SQL("{}::{}").format(sql.Placeholder(name), sql.SQL(cast))

    def fact(self, name: str) -> sql.Composable:
        self.facts[name] = _FACTS[name, self.alias]
        self.used_fact = True
        return sql.SQL("s.{}").format(sql.Identifier(name))

    def node(self, node: Node) -> sql.Composable:
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, Not):
            return sql.SQL("(NOT coalesce({}, false))").format(self.node(node.item))
        if not isinstance(node, And | Or) or not node.items:
            raise ValueError(f"not a search: {node!r}")
        joiner = sql.SQL(" AND " if isinstance(node, And) else " OR ")
        return sql.SQL("({})").format(joiner.join(self.node(item) for item in node.items))

    def compare(self, column: sql.Composable, op: str | None, value: int) -> sql.Composable:
        """`column op value`, false where the column is NULL (an AND the planner can index)."""
        return sql.SQL("({column} {op} {value} AND {column} IS NOT NULL)").format(
            column=column, op=_op(op), value=self.bind(value, "integer")
        )

    def term(self, term: Term) -> sql.Composable:
        alias = self.alias
        if term.kind not in ALLOWED[self.entity]:
            raise ValueError(f"a {term.kind} term cannot select {self.entity}")
        if term.kind == "tag":
            return sql.SQL("({} = ANY({}))").format(
                self.bind(_whole(term), "integer"), self.fact("tags")
            )
        if term.kind == "floor":
            column = self.fact("floor") if alias == "d" else sql.SQL(_COLUMN["floor", alias])
            return self.compare(column, term.op, _whole(term))
        if term.kind == "type":
            value = self.bind(_whole(term), "integer")
            return sql.SQL("coalesce({} = {}, false)").format(self.fact("type"), value)
        if term.kind == "measurement":
            if not isinstance(term.value, str):
                raise ValueError(f":measurement takes text, not {term.value!r}")
            value = self.bind(term.value, "text")
            return sql.SQL("coalesce({} = {}, false)").format(self.fact("quantity"), value)
        if term.kind == "value":
            return self.value(term)
        return self.compare(sql.SQL(_COLUMN[term.kind, alias]), "=", _whole(term))

    def value(self, term: Term) -> sql.Composable:
        """A reading against a number: an enumeration's reading is its state's index, so the
        state's number in the text table (defined_values, 1-based) is compared, false when it
        has none."""
        if not isinstance(term.value, int | float) or isinstance(term.value, bool):
            raise ValueError(f"~ takes a number, not {term.value!r}")
        number = self.bind(float(term.value), "float8")
        return sql.SQL(
            "(CASE WHEN p.kind <> 'enum' THEN coalesce(x.value {op} {n}, false)"
            " WHEN NOT coalesce(x.value >= 0 AND x.value < cardinality(p.defined_values), false)"
            " THEN false"
            " ELSE coalesce(p.defined_values[x.value::integer + 1] {op} {n}, false) END)"
        ).format(op=_op(term.op), n=number)


def _op(op: str | None) -> sql.Composable:
    if op not in _OPS:
        raise ValueError(f"not a comparison operator: {op!r}")
    return _OPS[op]


def _whole(term: Term) -> int:
    if not isinstance(term.value, int) or isinstance(term.value, bool):
        raise ValueError(f"{term.kind} takes a whole number, not {term.value!r}")
    return term.value


def where(node: Node | None, entity: str, *, prefix: str = "search") -> Predicate:
    """The predicate selecting `entity` ('buildings', 'rooms', 'devices', 'points', 'values')
    rows that match the search; TRUE for no search. The parts of a top-level `and` that read
    only the row stay outside the facts' subquery, where the planner can use their indexes.
    Its parameters are named `<prefix>_N`: two searches in one statement need two prefixes."""
    if entity not in ALIAS:
        raise ValueError(f"no such entity {entity!r}: one of {', '.join(ALIAS)}")
    if node is None:
        return Predicate(sql.SQL("TRUE"), {})
    compiler = _Compiler(entity, prefix)
    node = simplified(node)
    plain: list[sql.Composable] = []
    derived: list[sql.Composable] = []
    for item in node.items if isinstance(node, And) else (node,):
        compiler.used_fact = False
        compiled = compiler.node(item)
        (derived if compiler.used_fact else plain).append(compiled)
    if derived:
        facts = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(expr, sql.Identifier(name))
            for name, expr in compiler.facts.items()
        )  # OFFSET 0 keeps PostgreSQL from pasting each fact into every term that reads it
        plain.append(
            sql.SQL("(SELECT {} FROM (SELECT {} OFFSET 0) s)").format(
                sql.SQL(" AND ").join(derived), facts
            )
        )
    return Predicate(sql.SQL("({})").format(sql.SQL(" AND ").join(plain)), compiler.params)
