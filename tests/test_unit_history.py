"""A reading keeps the unit it was recorded in (issue 23, item 4): a newer export that changes a
point's unit keeps the earlier one with the second it was loaded, and /values — v2 in every
interval, layout and format, and the legacy /api/values — answers readings of either side in the
point's current unit, converted, and says so; or refuses when pint cannot convert them. A site
file that re-maps a unit string re-interprets, and adds no earlier unit.

Constructed cases through the daemon's parse-and-load path into a real PostgreSQL, read back
through the Flask test client. The readings lie hours before and after the moment the changing
export is loaded (that moment is where the new unit starts), so they are stamped from the clock.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import psycopg
from flask.testing import FlaskClient
from test_catalog_identity import definitions
from test_catalog_store import SITE, apply, put

from energy_api.openapi.document import document

ZONE = ZoneInfo("America/Chicago")
NAME = "EV.RM108.RT"
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
BEFORE_F = ["50", "59", "68", "77"]  # recorded in °F …
BEFORE_C = [10.0, 15.0, 20.0, 25.0]  # … which are these °C
AFTER_C = ["21.5", "22", "22.5", "23"]  # recorded in °C
ANSWERED = [*BEFORE_C, 21.5, 22.0, 22.5, 23.0]  # all eight, in °C


def export(unit: str, name: str = NAME) -> bytes:
    return definitions(
        {
            "Point System Name": name,
            "Point Name": name,
            "Point Type": "LAI",
            "Engineering Units": unit,
        }
    )


def trend_at(name: str, start: datetime, cells: list[str]) -> bytes:
    """A Siemens trend report of one point, a reading every quarter hour from `start` (UTC),
    written in Chicago wall-clock time as the Insight server writes it."""
    local = [(start + k * QUARTER).astimezone(ZONE) for k in range(len(cells))]
    lines = [
        '"Key            Name:Suffix                                Trend Definitions Used"',
        f'"Point_1:","{name}","","15 minutes"',
        '"Time Interval:","15 Minutes"',
        f'"Date Range:","{local[0]:%m/%d/%Y %H:%M:%S} - {local[-1]:%m/%d/%Y %H:%M:%S}"',
        '"Report Timings:","All Hours"',
        '""',
        '"<>Date","Time","Point_1"',
        *(f'"{t:%m/%d/%Y}","{t:%H:%M:%S}","{v}"' for t, v in zip(local, cells, strict=True)),
        '"********************************* End of Report *********************************"',
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def unambiguous(start: datetime) -> bool:
    """Whether an hour from `start` has no wall-clock time twice (the autumn night's repeated
    hour, which a report can only tell apart by order)."""
    local = [(start + k * QUARTER).astimezone(ZONE) for k in range(4)]
    return all(t.replace(fold=0).utcoffset() == t.replace(fold=1).utcoffset() for t in local)


class Case:
    """An export in `first`, readings, a newer export in `then` (loaded at `change`), more
    readings: an hour from `before`, three hours before the clock's hour, and from `after`, two
    hours after it (three more either way when one would fall in the repeated hour)."""

    def __init__(self, conn: psycopg.Connection[Any], first: str, then: str, name: str = NAME):
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.before = next(hour - h * HOUR for h in (3, 6) if unambiguous(hour - h * HOUR))
        self.after = next(hour + h * HOUR for h in (2, 5) if unambiguous(hour + h * HOUR))
        self.name = name
        put(conn, export(first, name))
        put(conn, trend_at(name, self.before, BEFORE_F))
        put(conn, export(then, name), name=f"{name} newer points.csv")
        put(conn, trend_at(name, self.after, AFTER_C))
        conn.commit()
        row = conn.execute(
            "SELECT p.id, date_trunc('second', f.ingested_at) FROM points p, files f"
            " WHERE p.name = %s AND f.name = %s",
            (name, f"{name} newer points.csv"),
        ).fetchone()
        assert row is not None
        self.id, self.change = int(row[0]), row[1]
        conn.commit()  # the next file's transaction, and its now(), start when it is loaded
        assert self.before + HOUR < self.change < self.after

    def stamps(self) -> list[int]:
        """The epoch seconds of the eight readings."""
        return [
            int((s + k * QUARTER).timestamp()) for s in (self.before, self.after) for k in range(4)
        ]

    def iso(self, moment: datetime) -> str:
        return moment.astimezone(ZONE).isoformat()


def values(client: FlaskClient, **params: Any) -> Any:
    response = client.get("/api/v2/values", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def whole_range(case: Case) -> dict[str, str]:
    """Whole hours around both sides: on rollups, were it not for the change."""
    return {"start": case.iso(case.before - HOUR), "end": case.iso(case.after + 2 * HOUR)}


def grouped(case: Case, key: Any) -> list[list[Any]]:
    """The converted readings by `key(epoch)` → [bucket epoch, avg, min, max, count, first,
    last, sum], as /values should answer agg=avg,min,max,count,first,last,sum."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for t, v in zip(case.stamps(), BEFORE_C + [float(c) for c in AFTER_C], strict=True):
        buckets[key(t)].append(v)
    return [
        [b, sum(vs) / len(vs), min(vs), max(vs), len(vs), vs[0], vs[-1], sum(vs)]
        for b, vs in sorted(buckets.items())
    ]


def stated(case: Case, earlier: str = "°F", unit: str = "°C") -> list[dict[str, Any]]:
    """What meta says of a range across the change."""
    return [
        {
            "point": case.id,
            "name": case.name,
            "unit": unit,
            "recorded": [
                {"unit": earlier, "since": None, "until": case.iso(case.change)},
                {"unit": unit, "since": case.iso(case.change), "until": None},
            ],
        }
    ]


AGGS = "avg,min,max,count,first,last,sum"


def conforms(body: Any, status: str) -> None:
    """`body` is what the OpenAPI document says /values answers with `status`."""
    doc = document()
    schema = doc["paths"]["/values"]["get"]["responses"][status]["content"]["application/json"]
    jsonschema.validate(body, {**schema["schema"], "components": doc["components"]})
    assert (
        "unit_changes" in doc["components"]["schemas"]["Values"]["properties"]["meta"]["properties"]
    )


def test_readings_before_a_unit_change_come_converted_into_the_current_unit(
    conn: psycopg.Connection[Any], client: FlaskClient
) -> None:
    apply(conn)
    case = Case(conn, "DEG F", "DEG C")
    # raw, JSON
    body = values(client, points=case.id, **whole_range(case)).get_json()
    series = body["series"][0]
    assert series["point"]["unit"] == "°C"
    assert [row[1] for row in series["data"]] == case.stamps()
    assert [row[2] for row in series["data"]] == ANSWERED
    assert body["meta"]["unit_changes"] == stated(case)
    assert body["meta"]["source"] == "readings"
    conforms(body, "200")
    # hourly and daily aggregates: never a rollup bucket of mixed units
    hourly = values(client, points=NAME, interval="1h", agg=AGGS, **whole_range(case))
    body = hourly.get_json()
    assert [row[1:] for row in body["series"][0]["data"]] == grouped(case, lambda t: t - t % 3600)
    assert body["series"][0]["data"][0][2:] == [17.5, 10.0, 25.0, 4, 10.0, 25.0, 70.0]
    assert (body["meta"]["source"], hourly.headers["X-Energy-Source"]) == ("readings", "readings")
    assert body["meta"]["unit_changes"] == stated(case)
    first_day = case.before.astimezone(ZONE).date()
    last_day = case.after.astimezone(ZONE).date() + timedelta(days=1)
    daily = values(client, points=NAME, interval="1d", agg=AGGS, start=first_day, end=last_day)
    body = daily.get_json()

    def midnight(t: int) -> int:
        day = datetime.fromtimestamp(t, ZONE).date()
        return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())

    assert [row[1:] for row in body["series"][0]["data"]] == grouped(case, midnight)
    assert body["meta"]["unit_changes"] == stated(case)
    # long and wide JSON
    for layout in ("long", "wide"):
        body = values(client, points=NAME, layout=layout, **whole_range(case)).get_json()
        assert [row[-1] for row in body["data"]] == ANSWERED
        assert body["meta"]["unit_changes"] == stated(case)
    # what the catalog keeps: the earlier unit, until the second the newer export was loaded
    history = conn.execute(
        "SELECT h.until, h.unit, u.symbol, h.scale, h.shift FROM unit_history h"
        " JOIN units u ON u.id = h.unit_id WHERE h.point_id = %s",
        (case.id,),
    ).fetchall()
    assert history == [(case.change, "DEG F", "°F", 5 / 9, -160 / 9)]
    since = conn.execute("SELECT unit_since FROM points WHERE id = %s", (case.id,)).fetchone()
    assert since == (case.change,)


def test_csv_answers_converted_and_says_so_in_a_header(
    conn: psycopg.Connection[Any], client: FlaskClient
) -> None:
    apply(conn)
    case = Case(conn, "DEG F", "DEG C")
    for layout in ("long", "wide"):
        for interval, expected in (
            ("raw", ["10", "15", "20", "25", "21.5", "22", "22.5", "23"]),
            ("1h", ["17.5", "22.25"]),
        ):
            response = values(
                client,
                points=NAME,
                format="csv",
                layout=layout,
                interval=interval,
                **whole_range(case),
            )
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
            assert [row[-1] for row in rows[1:]] == expected, (layout, interval)
            assert json.loads(response.headers["X-Energy-Unit-Changes"]) == stated(case)
            assert response.headers["X-Energy-Source"] == "readings"


def test_the_legacy_values_agree(conn: psycopg.Connection[Any], client: FlaskClient) -> None:
    apply(conn)
    case = Case(conn, "DEG F", "DEG C")
    stamps = case.stamps()
    response = client.get(
        "/api/values",
        query_string={"point_ids[]": case.id, "start_time": stamps[0], "end_time": stamps[-1]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [(r["timestamp"], r["value"]) for r in body] == list(zip(stamps, ANSWERED, strict=True))
    # its value search compares what it answers: converted values
    search = client.get(
        "/api/values/verify",
        query_string={
            "point_ids[]": case.id,
            "start_time": stamps[0],
            "end_time": stamps[-1],
            "search": "~>21",
        },
    )
    assert search.get_data(as_text=True) == "5 values found"


def test_a_change_pint_cannot_convert_is_refused_across_and_answered_on_either_side(
    conn: psycopg.Connection[Any], client: FlaskClient
) -> None:
    apply(conn)
    case = Case(conn, "DEG F", "KW")
    change = case.iso(case.change)
    epoch = int(case.change.timestamp())
    for fmt in ("json", "csv"):
        response = client.get(
            "/api/v2/values", query_string={"points": NAME, "format": fmt, **whole_range(case)}
        )
        assert response.status_code == 400
        conforms(response.get_json(), "400")
        error = response.get_json()["error"]
        assert (error["code"], error["param"]) == ("unit_not_convertible", "points")
        assert error["message"] == (
            f"point {NAME} (id {case.id}) was recorded in °F before {change} (t={epoch}) and in"
            f" kW from then on, which cannot be converted into one another; ask for a range"
            f" that ends by {change} or starts there"
        )
    stamps = case.stamps()
    legacy = client.get(
        "/api/values",
        query_string={"point_ids[]": case.id, "start_time": stamps[0], "end_time": stamps[-1]},
    )
    assert legacy.status_code == 400
    error = legacy.get_json()["error"]
    assert (error["code"], error["param"]) == ("unit_not_convertible", "point_ids[]")
    assert (
        f"recorded in °F before {case.change.astimezone(UTC).isoformat()} (t={epoch})"
        in (error["message"])
    )
    # Before the change: the readings as recorded, in °F, and meta says so.
    body = values(client, points=NAME, start=case.iso(case.before), end=change).get_json()
    assert [row[2] for row in body["series"][0]["data"]] == [50.0, 59.0, 68.0, 77.0]
    assert body["series"][0]["point"]["unit"] == "°F"
    assert body["meta"]["unit_changes"] == [
        {
            "point": case.id,
            "name": NAME,
            "unit": "°F",
            "recorded": [{"unit": "°F", "since": None, "until": change}],
        }
    ]
    # From the change on: kW, as the point is now; nothing to say.
    body = values(client, points=NAME, start=change, end=case.iso(case.after + HOUR)).get_json()
    assert [row[2] for row in body["series"][0]["data"]] == [21.5, 22.0, 22.5, 23.0]
    assert body["series"][0]["point"]["unit"] == "kW"
    assert "unit_changes" not in body["meta"]


def test_a_site_file_remapping_re_interprets_and_records_no_earlier_unit(
    conn: psycopg.Connection[Any], client: FlaskClient
) -> None:
    apply(conn)
    # XDEG: a unit string pint cannot read, until the site file maps it.
    case = Case(conn, "XDEG", "DEG C")  # a point recorded in XDEG, then in °C
    put(conn, export("XDEG", "EV.RM109.RT"))  # and one recorded in XDEG all along
    put(conn, trend_at("EV.RM109.RT", case.before, BEFORE_F))
    conn.commit()
    mapped = SITE.read_text().replace(
        '"PERCNT" = "percent"\n', '"PERCNT" = "percent"\n"XDEG" = "degF"\n'
    )
    refused = client.get("/api/v2/values", query_string={"points": NAME, **whole_range(case)})
    assert refused.status_code == 400, "XDEG cannot be converted to °C while unresolved"
    applied = apply(conn, mapped)
    conn.commit()
    assert "EV.RM109.RT: unit XDEG → degree_Fahrenheit" in applied.changes
    # The remapped point: a new meaning, no earlier unit; its hours come from the rollups.
    kept = conn.execute(
        "SELECT p.name, h.unit FROM unit_history h JOIN points p ON p.id = h.point_id ORDER BY 1"
    ).fetchall()
    assert kept == [(NAME, "XDEG")]
    since = conn.execute("SELECT unit_since FROM points WHERE name = 'EV.RM109.RT'").fetchone()
    assert since == (None,)
    response = values(client, points="EV.RM109.RT", interval="1h", agg="avg", **whole_range(case))
    body = response.get_json()
    assert body["series"][0]["point"]["unit"] == "°F"
    assert body["series"][0]["data"][0][2] == 63.5  # as recorded: °F
    assert body["meta"]["source"] == "readings_hourly" and "unit_changes" not in body["meta"]
    # The point recorded in XDEG before °C: the earlier unit re-read as °F, now converted.
    body = values(client, points=NAME, **whole_range(case)).get_json()
    assert [row[2] for row in body["series"][0]["data"]] == ANSWERED
    assert body["meta"]["unit_changes"] == stated(case)


def test_a_respelled_unit_and_a_reimported_export_cost_nothing(
    conn: psycopg.Connection[Any], client: FlaskClient
) -> None:
    apply(conn)
    case = Case(conn, "DEG F", "deg  F")  # the same string, folded: no change at all
    put(conn, export("°F") + b"\r\n")  # another spelling of the same unit: kept, converts as is
    conn.commit()
    rows = conn.execute("SELECT unit, scale, shift FROM unit_history").fetchall()
    assert rows == [("deg  F", 1.0, 0.0)]
    response = values(client, points=NAME, interval="1h", agg="avg", **whole_range(case))
    body = response.get_json()
    assert body["meta"]["source"] == "readings_hourly" and "unit_changes" not in body["meta"]
    assert [row[2] for row in body["series"][0]["data"]] == [63.5, 22.25]


def test_a_refusal_names_the_unit_that_cannot_be_given_in_the_current_one(
    conn: psycopg.Connection[Any], client: FlaskClient
) -> None:
    apply(conn)
    case = Case(conn, "DEG F", "DEG C")
    # A change within the second of the last one would leave °C no time: wait for the next.
    time.sleep(max(0.0, case.change.timestamp() + 1.01 - time.time()))
    put(conn, export("KW"))  # °F and °C convert into one another, but neither into kW
    conn.commit()
    response = client.get("/api/v2/values", query_string={"points": NAME, **whole_range(case)})
    assert response.status_code == 400
    change = case.iso(case.change)
    assert response.get_json()["error"]["message"] == (
        f"point {NAME} (id {case.id}) was recorded in °F before {change}"
        f" (t={int(case.change.timestamp())}) and in °C from then on, and °F cannot be converted"
        f" into kW, its unit now; ask for a range that ends by {change} or starts there"
    )
