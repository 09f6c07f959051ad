"""The store: PostgreSQL connections, migrations and binary COPY, below the write layer.

db.py        connections (ENERGY_DATABASE_URL, or the embedded cluster)
migrate.py   the numbered migrations in sql/
binary.py    binary COPY framing and Unix-microsecond instants
lock.py      the writers' lock (one advisory lock per transaction; the conversion holds it throughout)
partitions.py  readings' yearly partitions: created as loads need them, converted, dropped
rollup_state.py  whether rollups are complete, and their day zone (the loader, status, the API)
embedded.py  the embedded development cluster
"""
