"""Sums scaled by 2^-64 so that adding float8 readings can never overflow (rollups and the API).

Two readings of 1.7e308 make a float8 sum overflow, and PostgreSQL raises on it (and its avg()
on ±1e160 through the sum of squares). Multiplied by 2^-64 — exact, a power of two — the same
sums are the same bits, 2^-64 times smaller, and stay finite for any count of readings a bucket
can hold. The rollups' `sum` columns hold such scaled sums; `unscaled_sql` turns one back and
answers NULL for a sum beyond the float range. Only readings smaller than 1e-288 lose bits.
"""

from __future__ import annotations

import sys

SCALE = 2.0**-64
_LIMIT = sys.float_info.max * SCALE  # the largest scaled sum whose unscaled value is a float8


def scaled_sql(expr: str) -> str:
    return f"{expr} * {SCALE!r}::float8"


def unscaled_sql(expr: str) -> str:
    """SQL of the float8 `expr` times 2^64; NULL when that is beyond the float range."""
    return f"CASE WHEN abs({expr}) <= {_LIMIT!r}::float8 THEN {expr} * {2.0**64!r}::float8 END"
