"""The /api/v2 routes.

Modules: routes (index, health, points, latest, files, the OpenAPI document), values (readings),
catalog (buildings, floors, rooms, devices, tags, units), filters (a parameter's catalog names →
ids), selection (the points a request names).
"""
