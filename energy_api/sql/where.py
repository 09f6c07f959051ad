"""Conditions and pages: the WHERE builder of every list, and its count-and-page query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from energy_ingest.query.like import like_escape

Conn = psycopg.Connection[Any]


@dataclass
class Where:
    """Conditions joined by AND, and their positional parameters."""

    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, condition: str, *params: Any) -> None:
        self.conditions.append(condition)
        self.params.extend(params)

    def equals(self, column: str, value: Any) -> None:
        if value is not None:
            self.add(f"{column} = %s", value)

    def substring(self, q: str | None, *columns: str) -> None:
        """Any of `columns` contains `q`, in any case."""
        if q:
            pattern = f"%{like_escape(q)}%"
            self.add(
                f"({' OR '.join(f'{c} ILIKE %s' for c in columns)})", *[pattern] * len(columns)
            )

    def ids(self, column: str, ids: Sequence[int] | None) -> None:
        if ids is not None:
            self.add(f"{column} = ANY(%s)", list(ids))

    def tags(self, tags_sql: str, names: Sequence[str]) -> None:
        """The item's tags (`tags_sql`, sorted names) include every one of `names`."""
        if names:
            self.add(f"{tags_sql} @> %s::text[]", list(names))

    def sql(self) -> str:
        return " AND ".join(self.conditions) or "true"


def page(
    conn: Conn,
    source: str,
    columns: str,
    where: Where,
    order: str,
    limit: int,
    offset: int,
    *,
    counted: str | None = None,
    total: int | None = None,
) -> tuple[int, list[tuple[Any, ...]]]:
    """(how many rows of `source` match, the page of them in `order`); `counted` is the same
    rows without what only the columns need (a lateral join), for the count; `total` that count
    when the caller knows it already (it is then not counted again)."""
    condition = where.sql()
    if total is None:
        row = conn.execute(
            f"SELECT count(*) FROM {counted or source} WHERE {condition}", where.params
        ).fetchone()
        total = row[0] if row else 0
    rows = conn.execute(
        f"SELECT {columns} FROM {source} WHERE {condition} ORDER BY {order} LIMIT %s OFFSET %s",
        [*where.params, limit, offset],
    ).fetchall()
    return total, rows
