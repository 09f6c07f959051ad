"""The legacy dashboard API at /api/ (docs/legacy-api.md): the old backend's routes and JSON
shapes, served read-only over the catalog and the readings. /api/v2 is the API for new clients.

Modules: catalog (catalog routes), values (reading, rule and anomaly routes), request
(parameters as the old API took them); their SQL is in energy_api.sql (legacy, search).
"""
