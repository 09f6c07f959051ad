"""The legacy dashboard API at /api/ (docs/legacy-api.md)."""
