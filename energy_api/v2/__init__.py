"""The /api/v2 routes.

Modules: routes (index, health, points, values, latest, files, the OpenAPI document), catalog
(buildings, floors, rooms, devices, tags, units), filters (a parameter's catalog names → ids).
"""
