"""What every point-export parser returns: one record per point, the rejected records, and the
field names seen — pure data, like formats.report.Report for trend reports. (The kind of value
each point type holds is catalog/point_types.py's.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO
from zoneinfo import ZoneInfo

import pandas as pd

from energy_ingest.errors import ParseError
from energy_ingest.formats.report import (
    FOOTER,
    MAX_REJECTS,
    SHOW_REJECTS,
    Description,
    Reject,
    notes,
)
from energy_ingest.formats.source import guess_encoding, head, seekable

__all__ = [
    "MAX_FIELD_CHARS",
    "MAX_REJECTS",
    "MAX_STATES",
    "PointExport",
    "Reject",
    "parse_export",
]

# Bounds that keep a hostile export small, as for trend reports.
MAX_FIELD_CHARS = 4_096  # a longer field value is cut to this and a warning says so
MAX_STATES = 256  # text-table lines kept per point (formats' MAX_STATES for trend labels)


FORMATS = ("siemens-point-definitions", "alc-points-list")  # a ledger row's `format` says export


@dataclass
class PointExport:
    """One parsed export.

    `records` is a DataFrame with one row per point (Siemens) or per row (ALC), in file order: the
    columns each parser documents, `line` (1-based physical line where the record starts) first,
    and `extras` last — a dict of every field the parser does not know, by its label as written
    (kept, never an error). Cell values are stripped strings, None when absent or empty; numbers
    and lists are typed as each parser documents.
    """

    format: str  # one of FORMATS
    source: str  # "siemens" or "alc"
    records: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)  # the first MAX_REJECTS
    rejected: int = 0  # all of them
    fields_seen: tuple[str, ...] = ()  # every field label met, in first-seen order
    complete: bool = True  # Siemens: the End of Report footer was seen; ALC: always True
    warnings: list[str] = field(default_factory=list)

    @property
    def values(self) -> int:
        """What a progress count counts: records."""
        return len(self.records)

    @property
    def unfinished(self) -> bool:
        """No End of Report footer (yet) in a Siemens Point Definition report."""
        return self.source == "siemens" and not self.complete

    def describe(self, name: str, zone: ZoneInfo) -> Description:
        """What `energy-ingest check` says of the file: the records the catalog would import."""
        footer = self.complete if self.source == "siemens" else None
        facts = {
            "file": name,
            "format": self.format,
            "records": len(self.records),
            "rejected": self.rejected,
            "rejects": [{"line": r.line, "reason": r.reason} for r in self.rejects[:SHOW_REJECTS]],
            "fields_seen": list(self.fields_seen),
            "footer": footer,
            "warnings": self.warnings,
            "errors": [],
        }
        lines = [
            f"{name}: {self.format} (point export for the catalog), {len(self.records)} records,"
            f" {self.rejected} rejected, {FOOTER[footer]}",
            f"  fields seen: {', '.join(self.fields_seen) or 'none'}",
        ]
        return Description(
            facts, lines + notes(self.warnings, self.rejects, self.rejected, "records")
        )

    # An export has no data time (what a trend report's first and last readings are).
    first_ts: None = None
    last_ts: None = None


def parse_export(
    data: bytes | BinaryIO,
    name: str,
    refuse: Callable[[BinaryIO, str], None],
    read: Callable[[BinaryIO, str, str], PointExport],
) -> PointExport:
    """The one boundary of the export parsers: `refuse` what is no text report, `read(raw,
    encoding, name)` it (again as cp1252 when it is not UTF-8), and let nothing but a ParseError
    naming the file reach the caller."""
    raw: BinaryIO | None = None
    try:
        raw = seekable(data)
        refuse(raw, name)
        try:
            return read(raw, guess_encoding(head(raw)), name)
        except UnicodeDecodeError:
            export = read(raw, "cp1252", name)
            export.warnings.append("the file is not UTF-8; decoded as Windows-1252 (cp1252)")
            return export
    except ParseError as exc:
        raise exc.with_file(name or exc.file) from None
    except MemoryError:
        raise ParseError("the file needs too much memory to parse", file=name) from None
    except Exception as exc:  # a bug: say so rather than show a traceback
        raise ParseError(
            f"could not parse ({type(exc).__name__}: {exc})",
            file=name,
            hint="this is a parser bug or a very unusual file; keep the file and report it",
        ) from exc
    finally:
        if raw is not None and raw is not data:  # our copy (of bytes, or of a pipe)
            raw.close()
