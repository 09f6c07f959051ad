"""energy_api: the read-only HTTP API over the stored points and readings."""
