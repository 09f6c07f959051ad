"""Rollups: per point and UTC hour, and per point and local day, the aggregates of its readings.

`calendar` is the one rule for local days, weeks and months (the API's calendar buckets use it
too); `chunk` recomputes the buckets a loader's chunk touched, in its transaction; `state` reads
whether rollups are complete and rebuilds them; `commands` is `energy-ingest rollups`.
"""
