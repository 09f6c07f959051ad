"""Catalog questions as SQL, shared by the read API and the daemon's health rules.

    search.py  a parsed legacy search (energy_ingest/catalog/search.py) → a predicate that is
               never NULL, with bound parameters, for buildings, rooms, devices, points, values
    tags.py    the tags an item carries: its own and those of everything above it

Pure: these build psycopg.sql compositions and execute nothing.
"""
