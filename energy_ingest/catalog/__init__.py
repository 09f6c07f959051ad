"""The point catalog: what the building-automation systems' own point exports say about each point
(building, room, device, unit, type, states), resolved with the site file's rules.

    export.py          what an export parser returns (PointExport), and the kind of each point type
    siemens_points.py  Siemens Insight Point Definition report → one record per point
    siemens_point_record.py  one Point Definition record: fields cleaned, bounded, checked
    alc_points.py      ALC WebCTRL Points List report → one record per row
    units.py           BAS unit strings → canonical unit, quantity kind and plain-English names
    site.py            the site file (ENERGY_SITE_FILE): buildings, naming, floor, tag, unit rules
    site_fields.py     the site file's TOML values read and checked, with their lines
    vocabulary.py      what the site file and the API mean alike: building labels, anomaly tags
    resolve.py         one point → building, room, floor, device, tags, with their origins
    regex.py           the site rules' bounded (RE2) patterns
    search.py          the point search language: text → a small AST, and back
    search_tokens.py   its tokens, and the SearchError with advice for what is no token

Pure rules: the write layer stores what they decide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from energy_ingest.catalog.export import PointExport

Parser = Callable[..., "PointExport"]


def export_parser(head: bytes) -> Parser | None:
    """The parser for a point export whose first bytes are `head`; None for anything else
    (a trend report, or no report at all): the one sniff the daemon, import and check share.

    The parsers (pandas) are imported here, not with the package: the read API imports
    catalog.search and must not load them."""
    from energy_ingest.catalog.alc_points import looks_like_points_list, parse_points_list
    from energy_ingest.catalog.siemens_points import (
        looks_like_point_definitions,
        parse_point_definitions,
    )

    if looks_like_point_definitions(head):
        return parse_point_definitions
    if looks_like_points_list(head):
        return parse_points_list
    return None
