"""What every point-export parser returns: one record per point, the rejected records, and the
field names seen — pure data, like formats.report.Report for trend reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from energy_ingest.formats.report import MAX_REJECTS, Reject

__all__ = ["MAX_FIELD_CHARS", "MAX_REJECTS", "MAX_STATES", "PointExport", "Reject"]

# Bounds that keep a hostile export small, as for trend reports.
MAX_FIELD_CHARS = 4_096  # a longer field value is cut to this and a warning says so
MAX_STATES = 256  # text-table lines kept per point (formats' MAX_STATES for trend labels)


@dataclass
class PointExport:
    """One parsed export.

    `records` is a DataFrame with one row per point (Siemens) or per row (ALC), in file order: the
    columns each parser documents, `line` (1-based physical line where the record starts) first,
    and `extras` last — a dict of every field the parser does not know, by its label as written
    (kept, never an error). Cell values are stripped strings, None when absent or empty; numbers
    and lists are typed as each parser documents.
    """

    format: str  # "siemens-point-definitions" or "alc-points-list"
    source: str  # "siemens" or "alc"
    records: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)  # the first MAX_REJECTS
    rejected: int = 0  # all of them
    fields_seen: tuple[str, ...] = ()  # every field label met, in first-seen order
    complete: bool = True  # Siemens: the End of Report footer was seen; ALC: always True
    warnings: list[str] = field(default_factory=list)
