"""Readings over a range, for /api/v2/values.

Modules: plan (what decides the rows: points, range, zone, interval, aggregates, cursor), query
(a plan's SQL), rows (its rows as JSON or CSV), rollups (which table answers each bucket),
recorded (readings of a unit a point had earlier: converted in SQL, as recorded, or refused).
"""
