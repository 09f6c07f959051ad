"""Sums added scaled by 2^-64 so that adding float8 readings can never overflow (rollups and the API).

Two readings of 1.7e308 make a float8 sum overflow, and PostgreSQL raises on it (and its avg()
on ±1e160 through the sum of squares). Multiplied by 2^-64 — exact, a power of two — the same
sums are the same bits, 2^-64 times smaller, and stay finite for any count of readings a bucket
can hold. A reading of at most 2^-1011 (about 2e-305) scales to 0 — numpy rounds it so, and
PostgreSQL would raise on the underflow — so only readings below 1e-288 lose bits.

The rollup tables' `sum` columns hold plain sums (the scaled sum times 2^64, same bits), or
±Infinity beyond the float8 range. Whoever adds stored sums scales them as it adds; a stored
infinity is no number to add, so that bucket's readings are added instead (first_ts..last_ts
bound them): sums over rollups equal sums over readings, and no +inf meets a -inf as NaN.
The API answers NULL for any sum beyond the float range (`unscaled_sql`). Migration 0007 holds
the same rules in SQL (energy_scaled, energy_plain, energy_rollups_months).
"""

from __future__ import annotations

import sys

SCALE = 2.0**-64
UNSCALE = 2.0**64
_LIMIT = sys.float_info.max * SCALE  # the largest scaled sum whose unscaled value is a float8
TINY = 2.0**-1011  # at most this, times 2^-64, rounds to 0 (energy_api.values.columns too)


def scaled_sql(expr: str) -> str:
    """SQL of the float8 `expr` times 2^-64, 0 where that underflows (as numpy rounds it)."""
    return f"CASE WHEN abs({expr}) <= {TINY!r}::float8 THEN 0 ELSE {expr} * {SCALE!r}::float8 END"


def unscaled_sql(expr: str) -> str:
    """SQL of the scaled sum `expr` times 2^64; NULL when that is not a float8 (nor is NaN)."""
    return f"CASE WHEN abs({expr}) <= {_LIMIT!r}::float8 THEN {expr} * {UNSCALE!r}::float8 END"


def avg_sql(scaled_sum: str, count: str) -> str:
    """SQL of the average of `count` readings whose scaled sum is `scaled_sum`; divided after
    unscaling while the sum is a float8 (a tiny scaled sum divided could underflow)."""
    return (
        f"CASE WHEN abs({scaled_sum}) <= {_LIMIT!r}::float8"
        f" THEN {scaled_sum} * {UNSCALE!r}::float8 / {count}"
        f" ELSE {unscaled_sql(f'({scaled_sum}) / {count}')} END"
    )


def rollup_scaled_sql(row: str) -> str:
    """SQL of the scaled sum of rollup row `row`: its stored sum scaled, or, for a stored
    ±Infinity (or NaN), its readings' (a sum of ±Infinity would not be the readings')."""
    return (
        f"CASE WHEN abs({row}.sum) < 'Infinity'::float8 THEN {scaled_sql(f'{row}.sum')}"
        f" ELSE (SELECT sum({scaled_sql('x.value')}) FROM readings x WHERE x.point_id ="
        f" {row}.point_id AND x.ts >= {row}.first_ts AND x.ts <= {row}.last_ts) END"
    )
