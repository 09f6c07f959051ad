"""The API's SQL, shared by the v2 and the legacy routes.

Modules: where (the WHERE builder and count-and-page every list uses), times (instants rendered
by PostgreSQL), points (points, their catalog facts, the /points filter, latest values), catalog
(the catalog lists and the filters' lookups), ledger (files, health, the ETag watermark), legacy
(the legacy catalog's lists). The tags an item carries and the legacy search language as a
predicate are energy_ingest.query's: the daemon's rules use them too.
"""
