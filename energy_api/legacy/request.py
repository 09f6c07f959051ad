"""One legacy request's parameters: query string and form fields alike, jQuery's `name[]` arrays,
epoch-second times, and the search string parsed for the route it is sent to."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask import Response, request

from energy_api.errors import ApiError, bad_param
from energy_api.params import Params
from energy_ingest.catalog.search import Node, SearchError, parse

BOTH = ["GET", "POST"]  # the old API took both for every route
JQUERY = ("_",)  # jQuery's cache buster (`cache: false` adds _=<ms>): accepted and ignored
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


def params(*allowed: str) -> Params:
    """The request's parameters (GET query or POST form: the old API took both for every route);
    an unknown name is a 400 that lists the ones this route takes."""
    return Params(request, (*allowed, *JQUERY))


def search(p: Params, endpoint: str, *, required: bool = False) -> Node | None:
    text = p.get("search")
    if required and not (text or "").strip():
        raise bad_param(
            "search", f"search is required on {request.path}, e.g. search=(@1)and(:type 3)"
        )
    try:
        return parse(text, endpoint)
    except SearchError as exc:
        raise bad_param("search", str(exc), "invalid_search") from None


def epoch(p: Params, name: str) -> datetime:
    """An instant in epoch seconds, as the page sends it (`ms / 1000`, so decimals too)."""
    raw = p.get(name)
    if raw is None or not raw.strip():
        raise bad_param(name, f"{name} is required: seconds since 1970-01-01 UTC, e.g. 1514354400")
    seconds = _number(name, raw)
    try:
        moment = EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        moment = None
    if moment is None or not EPOCH <= moment <= LATEST:
        raise bad_param(name, f"{name}={raw} is outside 1970..9999")
    return moment


def number(p: Params, name: str, unit: str) -> float:
    raw = p.get(name)
    if raw is None or not raw.strip():
        raise bad_param(name, f"{name} is required: a number of {unit}")
    return _number(name, raw)


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise bad_param(name, f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise bad_param(name, f"{name}={raw!r} is not a finite number")
    return value


def ids(p: Params, name: str) -> list[int]:
    """`name[]=3&name[]=7` (jQuery) or `name=3&name=7` or `name=3,7`, in the order given."""
    out: list[int] = []
    for raw in (*p.all(f"{name}[]"), *p.all(name)):
        for part in raw.split(","):
            if part.strip():
                out.append(item_id(part.strip(), name))
    return list(dict.fromkeys(out))


def item_id(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise bad_param(what, f"{what} {text!r} is not an id (a whole number from 1)")
    return int(text)


def text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def refused(status: int, message: str) -> ApiError:
    return ApiError(status, "read_only", message)
