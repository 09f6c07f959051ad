"""One file's bytes → a trend report or a point export: the one parse the daemon, `import` and
`check` share (pure: no database)."""

from __future__ import annotations

from typing import BinaryIO

from energy_ingest.catalog.exports import export_parser
from energy_ingest.catalog.exports.point_export import PointExport
from energy_ingest.file_kinds import not_a_report
from energy_ingest.formats import parse, sniff
from energy_ingest.formats.report import Report
from energy_ingest.formats.source import head

# Rows of a report per chunk: small enough to overlap parsing with storing, and to bound memory.
CHUNK_ROWS = 2000


def parse_file(fp: BinaryIO, name: str, *, tz: str, hint: str | None) -> Report | PointExport:
    """Parse `fp` from its start: a point export at once, a trend report lazily (by `chunks()`);
    the source is the content's, `hint` (the spool folder) only breaks a tie."""
    fp.seek(0)
    parser = export_parser(head(fp))
    if parser is not None:
        return parser(fp, name=name)
    return parse(fp, name=name, tz=tz, hint=hint, chunk_rows=CHUNK_ROWS)


def recognised(start: bytes) -> bool:
    """Whether a file's first bytes (`formats.source.head`) are those of a trend report or a
    point export, by the sniffs `parse_file` itself uses; a file that is recognised may still
    be broken further on (then parsing it fails, naming the line)."""
    if not_a_report(start) is not None:
        return False
    return export_parser(start) is not None or sniff(start) is not None
