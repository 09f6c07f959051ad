"""Report timestamps: pick one text format per file, then turn naive local times into UTC instants."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from energy_ingest.errors import ParseError

DATES = ("%m/%d/%Y", "%Y/%m/%d", "%m/%d/%y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y")
TIMES = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%H:%M:%S.%f", "%I:%M:%S.%f %p")
COMBINED = tuple(f"{d} {t}" for d in DATES for t in TIMES)
WITH_ISO = (*COMBINED, "ISO8601")

EARLIEST, LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
NaiveArray = npt.NDArray[np.datetime64]
Int64Array = npt.NDArray[np.int64]


def parse_with(texts: npt.NDArray[np.object_], fmt: str) -> NaiveArray:
    """Naive datetime64[ns] (NaT where the text does not fit `fmt`); aware ISO times become UTC."""
    return parse_aware(texts, fmt)[0]


def parse_aware(texts: npt.NDArray[np.object_], fmt: str) -> tuple[NaiveArray, bool]:
    """Like parse_with, and whether the texts carried a UTC offset (then the result is UTC)."""
    index = pd.Index(texts, dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(index, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            try:  # mixed UTC offsets
                parsed = pd.to_datetime(index, format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                return np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]"), False
    aware = parsed.tz is not None
    if aware:
        parsed = parsed.tz_convert("UTC").tz_localize(None)
    # two-digit or garbage years: keep to what datetime64[ns] and a trend report can hold
    plausible = np.asarray((parsed >= EARLIEST) & (parsed < LATEST))
    values = np.array(parsed.to_numpy())  # a writable copy, in whatever unit pandas chose
    values[~plausible] = np.datetime64("NaT")
    return values.astype("datetime64[ns]"), aware


def choose_format(texts: npt.NDArray[np.object_], candidates: tuple[str, ...]) -> str | None:
    """The candidate that parses the most texts (earlier candidates win ties); None if none fits."""
    best, best_ok = None, 0
    sample = texts[:5000]
    for fmt in candidates:
        ok = int((~np.isnat(parse_with(sample, fmt))).sum())
        if ok > best_ok:
            best, best_ok = fmt, ok
            if ok == len(sample):
                break
    return best


_SHAPE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}[ T]+\d{1,2}:\d\d")


def looks_like_timestamp(text: str) -> bool:
    """Whether a single field reads as a date with a time of day."""
    text = text.strip()
    if len(text) > 40 or not _SHAPE.match(text):
        return False
    arr = np.array([text], dtype=object)
    return choose_format(arr, WITH_ISO) is not None


class TimeParser:
    """Parses one file's date/time texts with the one format that fits them best.

    The format is chosen on the first block where any candidate fits, so a few garbage rows
    at the start do not decide it; rows that do not fit are NaT (the caller rejects them).
    """

    def __init__(self, candidates: tuple[str, ...]) -> None:
        self.candidates = candidates
        self.fmt: str | None = None
        self.unreadable: tuple[int, str] | None = None  # (line, text) while no format fits

    def __call__(self, texts: npt.NDArray[np.object_], lines: list[int]) -> tuple[NaiveArray, bool]:
        if self.fmt is None:
            self.fmt = choose_format(texts, self.candidates)
            if self.fmt is None:
                if self.unreadable is None and len(texts):
                    self.unreadable = (lines[0], str(texts[0]))
                return np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]"), False
        return parse_aware(texts, self.fmt)


class Localizer:
    """Naive local times to UTC, remembering which ambiguous wall-clock times were already seen.

    In the autumn fall-back hour the first occurrence of a wall-clock time is daylight time and
    the next one standard time (row order decides; state survives chunk boundaries). Times that
    do not exist (spring-forward gap) come back as NaT with a reason.
    """

    def __init__(self, tz: str) -> None:
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self._seen: dict[tuple[int, datetime], int] = {}

    def localize(
        self, naive: NaiveArray, keys: npt.NDArray[np.int64] | None = None
    ) -> tuple[Int64Array, dict[int, str]]:
        """UTC nanoseconds per row and {row index: reason} for nonexistent times (NaT rows: caller)."""
        index = pd.DatetimeIndex(naive)
        aware = index.tz_localize(self.zone, ambiguous="NaT", nonexistent="NaT")
        utc = np.asarray(
            aware.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8, dtype=np.int64
        )
        problems: dict[int, str] = {}
        odd = np.flatnonzero(np.isnat(np.asarray(aware.tz_localize(None))) & ~np.isnat(naive))
        for i in odd.tolist():
            wall = pd.Timestamp(naive[i]).to_pydatetime(warn=False)
            back = wall.replace(tzinfo=self.zone).astimezone(UTC).astimezone(self.zone)
            if back.replace(tzinfo=None) != wall:
                problems[i] = f"nonexistent local time {wall:%Y-%m-%d %H:%M:%S} in {self.tz}"
                continue
            key = (0 if keys is None else int(keys[i]), wall)
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
            instant = wall.replace(tzinfo=self.zone, fold=0 if seen == 0 else 1).astimezone(UTC)
            # datetime has no nanoseconds: add them back from the naive value
            nanos = int(pd.Timestamp(naive[i]).nanosecond)
            utc[i] = pd.Timestamp(instant).as_unit("ns").value + nanos
        return utc, problems


def unreadable_dates(times: TimeParser, name: str) -> None:
    """ParseError when not a single row had a date/time in a known format."""
    if times.fmt is None and times.unreadable is not None:
        line, text = times.unreadable
        raise ParseError(
            f"dates like {text!r} are not in any known date/time format",
            file=name,
            line=line,
            hint="use M/D/YYYY or YYYY/MM/DD dates and H:MM:SS (or h:mm:ss AM/PM) times",
        )
