"""Text in a search is only data: a `:measurement` holding `%`, `%%`, `%s`, `%(x)s`, `{}`, quotes or
backslashes selects, on every legacy route that takes a search (GET and POST, and a rule's
stored point_search), exactly what a plain measurement selects — beside every other kind of
literal (ids, a floor, a reading's number) in the same search.

The sample campus's temperature unit is renamed to each odd text in turn (this module's own
database: nothing else reads it), and the answers compared with those for `temperature`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from legacy_campus import T0

PLAIN = "temperature"
ODD = [
    "100%", "%", "%%", "%s", "%b", "%t", "%(start)s", "%(x)s", "%(search_0)s", "{}", "{0}",
    "{start}", "it's", "''", "back\\slash", "\\", "\\'", "50 % {} 'x' \\% %%s",
]  # fmt: skip
ABSENT = 999_999  # no item has this id
POINTS = ["HU.R102.RMT", "HU.R102.EDMP", "HU.R102.OCC"]  # RMT is the one measuring temperature


def search(measurement: str, values: bool = False) -> str:
    """A search with `measurement` and every other kind of literal, selecting what it selects."""
    quoted = measurement.replace("'", "''")
    text = (
        f"(:measurement '{quoted}' or *{ABSENT} or :unit {ABSENT} or :type {ABSENT})"
        f" and not (@{ABSENT} or #{ABSENT} or ${ABSENT} or %{ABSENT} or :floor < -1000)"
    )
    return text + " and (~ > 75.5 or ~ <= 0.5)" if values else text


@contextmanager
def quantity(url: str, text: str) -> Iterator[None]:
    """The temperature unit's measurement is `text` meanwhile (and the example rule's
    point_search selects it)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE units SET quantity = %s WHERE key = 'degree_Fahrenheit'", (text,))
        conn.execute("UPDATE rules SET point_search = %s", (search(text),))
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE units SET quantity = %s WHERE key = 'degree_Fahrenheit'", (PLAIN,))
            conn.execute("UPDATE rules SET point_search = %s", (search(PLAIN),))


def answers(client: FlaskClient, method: str, measurement: str) -> dict[str, Any]:
    """Route → what it answers for the search with `measurement`."""
    names = {p["point_name"]: p["point_id"] for p in client.get("/api/points").get_json()}
    window = {"start_time": T0, "end_time": T0 + 2700}
    out: dict[str, Any] = {}
    for route in ("points", "points/ids", "points/verify", "values", "values/verify"):
        params: dict[str, Any] = {"search": search(measurement, route.startswith("values"))}
        if route.startswith("values"):
            params |= {**window, "point_ids[]": [names[n] for n in POINTS]}
        if method == "GET":
            response = client.get(f"/api/{route}", query_string=params)
        else:
            response = client.post(f"/api/{route}", data=params)
        body = response.get_data(as_text=True)
        if route == "points" and response.status_code == 200:  # its items show the measurement
            body = " ".join(p["point_name"] for p in response.get_json())
        out[route] = (response.status_code, body)
    rule = client.get("/api/rules").get_json()[0]["rule_id"]
    for route in ("count", "matches"):
        response = client.open(f"/api/rule/{rule}/{route}", method=method, query_string=window)
        out[f"rule/{route}"] = (response.status_code, response.get_data(as_text=True))
    return out


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("odd", ODD)
def test_odd_text_in_a_measurement_selects_what_plain_text_selects(
    legacy: FlaskClient, campus_url: str, method: str, odd: str
) -> None:
    with quantity(campus_url, odd):
        got = answers(legacy, method, odd)
    want = answers(legacy, method, PLAIN)
    assert all(status == 200 for status, _ in want.values()), want
    assert "HU.R102.RMT" in want["points"][1] and "HU.R102.EDMP" not in want["points"][1]
    assert want["values/verify"][1] == "3 values found", want  # RMT: 81.5, 82 and 79
    assert want["rule/count"][1] == "2", want
    for route, answer in want.items():
        assert got[route] == answer, (route, got[route][1][:300])


def test_odd_text_that_is_no_measurement_selects_nothing(legacy: FlaskClient) -> None:
    """`%%` is not `%`, `%(start)s` is not a time: each is compared as written."""
    for odd in ODD:
        response = legacy.post("/api/points", data={"search": search(odd)})
        assert (response.status_code, response.get_json()) == (200, []), odd
        params = {
            "search": search(odd, True),
            "point_ids[]": [p["point_id"] for p in legacy.get("/api/points").get_json()][:50],
            "start_time": T0,
            "end_time": T0 + 2700,
        }
        response = legacy.post("/api/values/verify", data=params)
        assert (response.status_code, response.get_data(as_text=True)) == (200, "0 values found")
