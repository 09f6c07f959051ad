"""Round trip: Insight reports written from a known table (every variant) parse back to that table."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from formats_gen import Variant, expected, insight, slices, tidy
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_ingest.formats import parse

pytestmark = pytest.mark.slow

NAME_CHARS = st.sampled_from(list("ABCXYZabc0123456789 .:-_#/"))
names_st = st.lists(
    st.text(NAME_CHARS, min_size=1, max_size=20).filter(lambda s: s.strip() == s and s),
    min_size=1,
    max_size=6,
    unique=True,
)
LABELS = ["ON", "OFF", "P2 LEAD", "NGHT_HTG", "OCC1"]
MISSING = ["No Data", "Data Loss", ""]


def number_text(x: float, decimals: int, quoted: bool) -> str:
    text = f"{x:.{decimals}f}"
    return " " + text if quoted and text.startswith("-") else text


@st.composite
def reports(draw: st.DrawFn) -> tuple[list[str], list[datetime], list[list[str]], Variant]:
    names = draw(names_st)
    quoted = draw(st.booleans())
    variant = Variant(
        quoted=quoted,
        newline=draw(st.sampled_from(["\r\n", "\n", "\r"])),
        bom=draw(st.booleans()),
        delimiter=draw(st.sampled_from([",", "\t", ";", "|"])),
        pad=draw(st.booleans()),
        date_format=draw(
            st.sampled_from(["{d.month}/{d.day}/{d.year}", "{d:%Y/%m/%d}", "{d:%m/%d/%Y}"])
        ),
        time_format=draw(
            st.sampled_from(["{d:%H:%M:%S}", "{d.hour}:{d:%M:%S}", "{d:%I:%M:%S %p}"])
        ),
        five_fields=draw(st.booleans()),
        footer=draw(st.booleans()),
        reports=draw(st.integers(1, 3)),
        encoding=draw(st.sampled_from(["utf-8", "cp1252"])),
    )
    nrows = draw(st.integers(1, 40))
    start = datetime(2023, 6, 1) + timedelta(days=draw(st.integers(0, 60)))
    step = timedelta(minutes=draw(st.sampled_from([5, 15, 60])))
    times = [start + step * i for i in range(nrows)]
    kinds = [draw(st.sampled_from(["number", "label", "missing"])) for _ in names]
    cells = []
    for _ in times:
        row = []
        for kind in kinds:
            if draw(st.integers(0, 9)) == 0 or kind == "missing":
                row.append(draw(st.sampled_from(MISSING)))
            elif kind == "label":
                row.append(draw(st.sampled_from(LABELS)))
            else:
                value = draw(st.floats(-1e6, 1e6, allow_nan=False))
                row.append(number_text(value, draw(st.integers(0, 4)), quoted))
        cells.append(row)
    return names, times, cells, variant


@settings(max_examples=150, deadline=None)
@given(reports(), st.sampled_from([1, 3, 20_000]))
def test_a_generated_insight_report_parses_back_to_its_table(
    case: tuple[list[str], list[datetime], list[list[str]], Variant], chunk_rows: int
) -> None:
    names, times, cells, variant = case
    data = insight(names, times, cells, variant)
    report = parse(data, tz="America/Chicago", chunk_rows=chunk_rows)
    table = tidy(report.table())
    utc = [pd.Timestamp(t + timedelta(hours=5), tz="UTC") for t in times]  # CDT all summer
    pd.testing.assert_frame_equal(table, expected(names, utc, cells))
    assert list(report.points) == names
    assert report.reports == len(slices(len(times), variant.reports))
    assert report.footer is variant.footer
    assert report.rows == len(times)
    assert report.rejects == []
    missing = {"No Data": "no_data", "Data Loss": "data_loss", "": "blank"}
    for p, name in enumerate(names):
        counts = dict.fromkeys(["no_data", "data_loss", "blank", "error"], 0)
        for row in cells:
            if row[p] in missing:
                counts[missing[row[p]]] += 1
        assert report.points[name].missing == counts
