"""Schemathesis hooks for test_api_openapi.py: ST202 (valid data refused) less what no schema says."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

# The /values rules that no schema of one parameter can state (the descriptions say them):
# range or start/end, not both; end after start; times within 1900..2199 on real calendar days;
# agg suited to the kinds and states of the points selected; a cursor the API issued for this
# very query; layout=series only as JSON. A 400 naming one of these is not a gap in the document.
UNSTATABLE = {
    "/values": {"start", "end", "range", "agg", "cursor", "layout"},
    "/points/{ref}/gaps": {"start", "end"},
}
# Nor can a schema list the buildings, rooms, devices, tags, units and quantities of the database
# at hand: a catalog filter naming none of them is 400 not_in_catalog. Nor say that a name and
# its id (building, building_id) are not given together: name_and_id.
# A point's gaps need its interval, which the data (the daemon's evaluation) gives or not.
CATALOG_CODES = {"not_in_catalog", "name_and_id", "interval_unknown"}


@schemathesis.check
def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """positive_data_acceptance, except a 400 that names a parameter of UNSTATABLE or says a
    value is not in the catalog."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            code, param = _error(response)
            if param in UNSTATABLE.get(case.path, ()) or code in CATALOG_CODES:
                return None
        raise


def _error(response: Any) -> tuple[str | None, str | None]:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    code, param = error.get("code"), error.get("param")
    return (
        code if isinstance(code, str) else None,
        param if isinstance(param, str) else None,
    )
