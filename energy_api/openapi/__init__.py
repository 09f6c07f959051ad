"""The OpenAPI 3.1 document of /api/v2 (served at /api/v2/openapi.json).

Modules: document (the whole document), v2 (the v2 routes' paths and schemas), catalog (the
catalog routes'), parts (the pieces both are made of).
"""
