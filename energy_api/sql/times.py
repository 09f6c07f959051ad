"""Instants as PostgreSQL renders them: ISO 8601 in the session's zone, whole epoch seconds."""

from __future__ import annotations


def iso_sql(expr: str) -> str:
    """ISO 8601 with offset, on the session's TimeZone (set per request to `tz`)."""
    return f"to_char({expr}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"


def epoch_sql(expr: str) -> str:
    return f"floor(date_part('epoch', {expr}))::bigint"  # float8: much cheaper than numeric
