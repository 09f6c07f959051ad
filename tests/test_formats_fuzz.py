"""Fuzz: mutated real samples only ever give a Report or a ParseError, and never hang; every
Report keeps the chunk contract (dtypes, one reading per (point, ts) in a chunk, `repeat` exact)."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_ingest.errors import ParseError
from energy_ingest.formats import parse
from energy_ingest.formats.report import MAX_REJECTS, empty_chunk

DATA = Path(__file__).parent / "data"
SAMPLES = [p.read_bytes() for p in sorted(DATA.iterdir())]
DTYPES = empty_chunk().dtypes.to_dict()


def mutate(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.randrange(8)
    if kind == 0:  # truncation
        return data[: rnd.randrange(len(data) + 1)]
    if kind == 1:  # byte flips
        buf = bytearray(data)
        for _ in range(rnd.randint(1, 20)):
            if buf:
                buf[rnd.randrange(len(buf))] = rnd.randrange(256)
        return bytes(buf)
    lines = data.splitlines(keepends=True)
    if kind == 2:  # shuffled lines
        rnd.shuffle(lines)
        return b"".join(lines)
    if kind == 3:  # huge field
        at = rnd.randrange(len(data) + 1)
        filler = rnd.choice([b"x", b'"', b",", b"9", b" ", b"\r"]) * rnd.choice([10, 1000, 300_000])
        return data[:at] + filler + data[at:]
    if kind == 4 and lines:  # duplicated or dropped lines
        i = rnd.randrange(len(lines))
        return b"".join(
            lines[:i] + lines[i : i + rnd.randint(0, 3)] * rnd.randint(0, 4) + lines[i + 1 :]
        )
    if kind == 5:  # change line endings, maybe inconsistently
        ending = rnd.choice([b"\r", b"\n", b"\r\n", b"\n\r"])
        return b"".join(ln.rstrip(b"\r\n") + ending for ln in lines)
    if kind == 6:  # splice two samples
        other = rnd.choice(SAMPLES)
        return data[: rnd.randrange(len(data) + 1)] + other[rnd.randrange(len(other) + 1) :]
    # swap tokens that matter to the parser
    tokens = [b"No Data", b"Data Loss", b"Point_1", b"<>Date", b"End of Report", b"Key", b'"', b",",
              b"AM", b"/", b":", b"-", b"\xef\xbb\xbf", b"\x00", b"\xff\xfe"]  # fmt: skip
    src, dst = rnd.choice(tokens), rnd.choice(tokens)
    return data.replace(src, dst, rnd.randint(1, 5))


def outcome(data: bytes, chunk_rows: int) -> str:
    try:
        report = parse(data, name="fuzz.csv", chunk_rows=chunk_rows)
        chunks = []
        for chunk in report.chunks():
            assert chunk.dtypes.to_dict() == DTYPES
            assert not chunk.duplicated(["point", "ts"]).any()
            chunks.append(chunk[["point", "ts", "repeat"]])
        readings = pd.concat(chunks, ignore_index=True) if chunks else empty_chunk()
        # repeat: exactly the readings whose (point, ts) an earlier chunk already produced
        earlier = readings.duplicated(["point", "ts"], keep="first").to_numpy()
        assert (readings["repeat"].to_numpy() == earlier).all()
        assert len(readings) == report.values
        assert len(report.rejects) == min(report.rejected, MAX_REJECTS)
    except ParseError as exc:
        assert str(exc).startswith("fuzz.csv")
        assert not exc.message.startswith("could not parse"), exc  # the catch-all means a bug
        return "error"
    return "report"


@pytest.mark.slow
def test_thousands_of_mutated_samples_give_a_report_or_a_parse_error() -> None:
    rnd = random.Random(20241103)
    results = {"report": 0, "error": 0}
    for _ in range(2500):
        data = rnd.choice(SAMPLES)
        for _ in range(rnd.randint(1, 3)):
            data = mutate(data, rnd)
        results[outcome(data, rnd.choice([1, 2, 7, 20_000]))] += 1
    # both outcomes must really occur, or the fuzzer is not exercising anything
    assert results["report"] > 500
    assert results["error"] > 100


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_a_report_or_a_parse_error(data: bytes) -> None:
    outcome(data, 3)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list('"\r\n,;\t :/0123456789APMKey<>DatePoint_End of Report*NoData')
        ),
        max_size=400,
    )
)
def test_arbitrary_report_like_text_gives_a_report_or_a_parse_error(text: str) -> None:
    prefix = '"Key            Name:Suffix"\r\n"Point_1:","A","","x"\r\n'
    outcome((prefix + text).encode(), 2)
