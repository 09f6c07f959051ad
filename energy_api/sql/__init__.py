"""The API's SQL, shared by the v2 and the legacy routes.

Modules: points (points, their catalog facts, the /points filter, latest values), catalog (the
catalog lists and the filters' lookups), ledger (files, health, the ETag watermark), legacy (the
legacy catalog's lists), search (the legacy search language as a predicate).
"""
