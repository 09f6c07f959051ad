"""What a search costs the database is bounded by its size: hundreds of repeated or distinct terms
answer like one term (with a 5 s statement timeout, a search the database chews on is a 503, not a
slow 200), and a search past the term or nesting limit is a 400 naming the limit, never a 503."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from energy_api import create_app
from energy_ingest.catalog.search import MAX_DEPTH, MAX_TERMS


@pytest.fixture(scope="module")
def client(campus_app: Flask, campus_url: str) -> Iterator[FlaskClient]:
    """The sample campus, with Hulings and Goodhue Hall tagged `elec` (it tags no building)."""
    with psycopg.connect(campus_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO building_tags (building_id, tag_id) SELECT b.id, t.id FROM buildings b,"
            " tags t WHERE b.name IN ('Hulings Hall', 'Goodhue Hall') AND t.name = 'elec'"
        )
    settings = dataclasses.replace(
        campus_app.extensions["energy_settings"], statement_timeout_ms=5_000
    )
    app = create_app(settings)
    yield app.test_client()
    app.extensions["energy_db"].close()


def answer(client: FlaskClient, route: str, search: str) -> Any:
    response = client.post(f"/api/{route}", data={"search": search})
    assert response.status_code == 200, (search[:40], response.get_data(as_text=True)[:300])
    return response.get_json()


def building_tag(client: FlaskClient) -> int:
    """The tag two of the five buildings carry."""
    tag: int = next(
        t["tag_id"] for t in client.get("/api/tags").get_json() if t["tag_name"] == "elec"
    )
    assert len(answer(client, "buildings", f"#{tag}")) == 2
    return tag


@pytest.mark.parametrize("route", ["buildings", "floors"])
def test_three_hundred_repeated_terms_answer_what_one_term_answers(
    client: FlaskClient, route: str
) -> None:
    tag = building_tag(client)
    one = answer(client, route, f"#{tag}")
    assert one, "the tag selects something"
    repeated = " and ".join([f"#{tag}"] * 300)
    assert len(repeated) > 2_000
    assert answer(client, route, repeated) == one
    assert answer(client, route, f"({' or '.join([f'#{tag}'] * 300)})") == one


@pytest.mark.parametrize("route", ["buildings", "floors", "rooms", "devices", "points"])
def test_hundreds_of_distinct_terms_answer_in_one_statement_timeout(
    client: FlaskClient, route: str
) -> None:
    tag = building_tag(client)
    absent = range(100_000, 100_000 + 499)  # no tag has these ids
    everything = answer(client, route, "")
    assert answer(client, route, " and ".join(f"#{i}" for i in (tag, *absent))) == []
    either = answer(client, route, " or ".join(f"#{i}" for i in (tag, *absent)))
    assert either == answer(client, route, f"#{tag}")
    assert answer(client, route, " and ".join(f"not #{i}" for i in absent)) == everything


@pytest.mark.parametrize("route", ["buildings", "floors", "points", "values/verify"])
def test_a_64_kb_search_is_a_400_naming_the_term_limit(client: FlaskClient, route: str) -> None:
    search = " and ".join(["#1"] * 9_000)
    assert len(search) > 62_000
    data: dict[str, Any] = {"search": search}
    if route.startswith("values"):
        data |= {"point_ids[]": 1, "start_time": 0, "end_time": 1}
    response = client.post(f"/api/{route}", data=data)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("invalid_search", "search"), error
    assert f"more than {MAX_TERMS:,} terms" in error["message"], error
    assert f"at {len('#1 and ' * MAX_TERMS) + 1} " in error["message"], error


def test_the_term_limit_is_reached_exactly_at_its_number(client: FlaskClient) -> None:
    tag = building_tag(client)
    at_limit = " or ".join([f"#{tag}"] * MAX_TERMS)
    assert answer(client, "buildings", at_limit) == answer(client, "buildings", f"#{tag}")
    response = client.post("/api/buildings", data={"search": at_limit + f" or #{tag}"})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]


def test_a_search_nested_past_the_limit_is_a_400_naming_the_limit(client: FlaskClient) -> None:
    tag = building_tag(client)
    deepest = "(" * MAX_DEPTH + f"#{tag} or #{tag}" + ")" * MAX_DEPTH
    assert answer(client, "buildings", deepest) == answer(client, "buildings", f"#{tag}")
    alternating = "".join(f"(#{tag} or not " for _ in range(MAX_DEPTH // 2)) + f"#{tag}"
    alternating += ")" * (MAX_DEPTH // 2)
    assert len(answer(client, "buildings", alternating)) > 0
    for too_deep in ("(" * (MAX_DEPTH + 1) + "#1" + ")" * (MAX_DEPTH + 1), "not " * 2_000 + "#1"):
        response = client.post("/api/buildings", data={"search": too_deep})
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        error = response.get_json()["error"]
        assert (error["code"], error["param"]) == ("invalid_search", "search"), error
        assert f"nests deeper than {MAX_DEPTH}" in error["message"], error
