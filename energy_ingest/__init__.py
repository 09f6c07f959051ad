"""energy_ingest: receive building-automation trend reports and load them into PostgreSQL.

upload/    the upload endpoint (its own process): POSTed files → the spool, nothing more
spool/     the spool's layout and the one rule for names, shared by upload and daemon
daemon/    `energy-ingest run`: watch the spool, take each complete file once, archive or fail it
cli/       `energy-ingest` and its command groups (catalog, rollups); check.py: `check`, no database
pipeline.py  one file end to end for the daemon and `import`: hash, parse, load, describe
parsing.py   the one pure parse: bytes → a trend report or a point export
file_kinds.py  the sources (siemens, alc) and the one content sniff for upload and daemon
formats/   pure parsers: Siemens Insight and ALC WebCTRL bytes → tidy readings
catalog/   pure catalog rules: point exports, the site file, resolution, units, search
rollups/   pure rollup rules: calendar and scale
write/     every writer: readings, ledger, exports, catalog application, rollups, their lock
store/     PostgreSQL: connections, migrations, binary COPY, the dev cluster
config.py: the settings; errors.py: the exception hierarchy
"""
