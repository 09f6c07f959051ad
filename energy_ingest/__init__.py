"""energy_ingest: receive building-automation trend reports and load them into PostgreSQL."""
