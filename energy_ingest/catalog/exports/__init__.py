"""The BAS's own point exports, parsed (pure: bytes in, PointExport out).

point_export.py          what an export parser returns (PointExport), and the kind of each
                         point type
siemens_points.py        Siemens Insight Point Definition report → one record per point
siemens_point_record.py  one Point Definition record: fields cleaned, bounded, checked
alc_points.py            ALC WebCTRL Points List report → one record per row
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from energy_ingest.catalog.exports.point_export import PointExport

Parser = Callable[..., "PointExport"]


def export_parser(head: bytes) -> Parser | None:
    """The parser for a point export whose first bytes are `head`; None for anything else
    (a trend report, or no report at all): the one sniff the daemon, import and check share.

    The parsers (pandas) are imported here, not with the package: the read API imports
    catalog.search and must not load them."""
    from energy_ingest.catalog.exports.alc_points import looks_like_points_list, parse_points_list
    from energy_ingest.catalog.exports.siemens_points import (
        looks_like_point_definitions,
        parse_point_definitions,
    )

    if looks_like_point_definitions(head):
        return parse_point_definitions
    if looks_like_points_list(head):
        return parse_points_list
    return None
