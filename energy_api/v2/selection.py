"""The points a request names: ids or exact names, in the order asked, each once."""

from __future__ import annotations

from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_api.sql.points import PointRef, find_points
from energy_api.sql.where import Conn

MAX_POINTS = 1000


def tokens(params: Params) -> list[str]:
    found: list[str] = []
    for value in params.all("points"):
        found += [t.strip() for t in value.split(",") if t.strip()]
    unique = list(dict.fromkeys(found))
    if len(unique) > MAX_POINTS:
        raise ApiError(
            400,
            "too_many_points",
            f"{len(unique)} points asked for; at most {MAX_POINTS} per request — split the list",
            "points",
        )
    return unique


def is_id(token: str) -> bool:
    return token.isascii() and token.isdigit() and len(token) < 10


def resolve(conn: Conn, tokens: list[str], param: str = "points") -> list[PointRef]:
    """Ids or exact names → points, in the order asked; 404 naming the unknown ones."""
    ids = [int(t) for t in tokens if is_id(t)]
    found = find_points(conn, ids, [t for t in tokens if not is_id(t)])
    known = {p.id for p in found}
    numeric_names = [t for t in tokens if is_id(t) and int(t) not in known]
    if numeric_names:  # a name made of digits only: rare, so looked up only when needed
        found += find_points(conn, [], numeric_names)
    by_id = {p.id: p for p in found}
    by_name: dict[str, list[PointRef]] = {}
    for p in found:
        by_name.setdefault(p.name, []).append(p)
    result, unknown = [], []
    for token in tokens:
        if is_id(token) and int(token) in by_id:
            result.append(by_id[int(token)])
        elif token in by_name:
            matches = by_name[token]
            if len(matches) > 1:
                raise bad_param(
                    param,
                    f"point name {token!r} exists in several sources"
                    f" ({', '.join(p.source for p in matches)}); use its id"
                    f" ({', '.join(str(p.id) for p in matches)})",
                    "ambiguous_point",
                )
            result.append(matches[0])
        else:
            unknown.append(token)
    if unknown:
        raise ApiError(
            404,
            "unknown_point",
            f"no such point: {', '.join(unknown)}; list points with /api/v2/points?q=...",
            param,
        )
    return list({p.id: p for p in result}.values())
