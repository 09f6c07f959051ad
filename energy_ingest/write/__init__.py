"""The write layer: everything that changes the database, above the store and below the processes.

ledger.py          the `files` ledger: a file's row claimed, completed or marked failed
readings.py        a trend report's readings in one transaction
points.py          the points a report's load meets: registered, resolved, states indexed
importer.py        a point export into the catalog, in one transaction with its ledger row
retirement.py      the points a newer export leaves out of one it supersedes, retired (kept)
applied_site.py    the site file applied, and each process's parsed copy of it (AppliedSite)
resolution.py      points resolved with a site: buildings, rooms, devices, units, tags
unit_history.py    each point's earlier units, kept when an export changes it, and their meanings
rollup_buckets.py  the buckets a loader's chunk touched, recomputed in its transaction
rollup_rebuild.py  rollups rebuilt from readings by rollup_buckets, a batch of points per transaction
"""
