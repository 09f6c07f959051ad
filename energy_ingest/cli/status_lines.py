"""The command line's lines about files (`status`, `import`, `demo`): each time in
ENERGY_TIMEZONE's local time with its offset (localtime.local), the JSON keeping ISO 8601; counts
in the singular for one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from energy_ingest.catalog.exports.point_export import FORMATS
from energy_ingest.localtime import local


def last_file(f: dict[str, Any], zone: str) -> str:
    """`  2026-12-07 00:14:07-06:00  ingested  siemens  name.csv  24 readings (24 new, 0 changed),
    4 rejected rows`; a point export says its points; a failed file its error."""
    when = local(datetime.fromisoformat(f["committed_at"]), zone)
    if f["status"] != "ingested":
        what = f["error"] or ""
    elif f["format"] in FORMATS:
        what = f"{f['points']:,} points ({f['points_new']:,} new, {f['points_changed']:,} changed)"
    else:
        what = f"{f['readings']:,} readings ({f['inserted']:,} new, {f['updated']:,} changed)"
    if f["status"] == "ingested" and f["rejected_rows"]:
        what += ", " + counted(f["rejected_rows"], "rejected row")
    return f"  {when}  {f['status']:<8}  {f['source']:<7}  {f['name']}  {what}"


def counted(n: int, thing: str) -> str:
    """'1 file', '2 files', '1,204 rejected rows'."""
    return f"{n:,} {thing}" + ("" if n == 1 else "s")
