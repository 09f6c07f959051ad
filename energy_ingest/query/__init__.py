"""Catalog questions as SQL, shared by the read API, the daemon's health rules and the CLI.

    search.py  a parsed legacy search (energy_ingest/catalog/search.py) → a predicate that is
               never NULL, with bound parameters, for buildings, rooms, devices, points, values
    tags.py    the tags an item carries: its own and those of everything above it
    like.py    text for SQL LIKE: a substring or a name glob
    coverage.py  how much of the catalog is resolved (`catalog coverage`, /api/v2/coverage)

Pure but coverage.py: these build SQL and execute nothing; coverage.py runs its read-only
queries, so the command line and the API report the same facts.
"""
