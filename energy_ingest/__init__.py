"""energy_ingest: receive building-automation trend reports and load them into PostgreSQL.

upload/    the upload endpoint (its own process): POSTed files → the spool, nothing more
spool/     the spool's layout and the one rule for names, shared by upload and daemon
daemon/    `energy-ingest run`: watch the spool, take each complete file once, archive or fail it
formats/   pure parsers: Siemens Insight and ALC WebCTRL bytes → tidy readings
store/     PostgreSQL: connections, migrations, the one-transaction loader, the dev cluster
cli.py     `energy-ingest` (config.py: the settings; errors.py: the exception hierarchy)
"""
