"""Readings over a range: what decides the rows (plan), and which table answers them (rollups).

Modules: plan (points, range, interval, aggregates, cursor → SQL → JSON or CSV rows), rollups
(readings or a rollup table, per bucket).
"""
