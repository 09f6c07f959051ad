"""The site file's values read with the line each came from: typed fields, patterns and NULs
checked, every problem collected with its line (site.py builds the Site from them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from energy_ingest.catalog.regex import Pattern, PatternError, compile_rule
from energy_ingest.file_kinds import SOURCES

_NUL = "contains a NUL character (\\u0000), which PostgreSQL cannot store: remove it"


class TomlFields:
    """The text of one TOML file, the problems found in it so far, and readers of its values."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines = text.splitlines()
        self.path = path
        self.problems: list[str] = []

    # -- values -------------------------------------------------------------------------------

    def text(self, item: dict[str, Any], key: str, line: int, *, required: bool = True) -> str:
        value = item.get(key)
        if value is None:
            if required:
                self.problem(line, f"{key} is missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem(self.key_line(line, key), f"{key} must be a non-empty string")
            return ""
        return value.strip()

    def texts(
        self, item: dict[str, Any], key: str, line: int, *, required: bool = False
    ) -> tuple[str, ...]:
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(self.key_line(line, key), f"{key} must be a list of strings")
            return ()
        if required and not value:
            self.problem(self.key_line(line, key), f"{key} is missing or empty")
        return tuple(v.strip() for v in value)

    def choice(self, item: dict[str, Any], key: str, allowed: tuple[str, ...], line: int) -> str:
        value = item.get(key)
        if value is not None and value not in allowed:
            self.problem(
                self.key_line(line, key), f"{key} {value!r}: use one of {', '.join(allowed)}"
            )
            return ""
        return value or ""

    def source(self, item: dict[str, Any], line: int) -> str | None:
        return self.choice(item, "source", SOURCES, line) or None

    def regex(self, item: dict[str, Any], line: int) -> Pattern | None:
        text = self.text(item, "pattern", line)
        if not text:
            return None
        try:  # Python's words for a syntax error, with its position, are the clearer ones
            re.compile(text)
            return compile_rule(text)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            self.problem(self.key_line(line, "pattern"), f"pattern '{text}': {exc.msg}{where}")
        except PatternError as exc:
            self.problem(self.key_line(line, "pattern"), f"pattern '{text}': {exc}")
        return None

    def nul(self, value: Any, where: tuple[str | int, ...]) -> None:
        """A problem for every key or string holding NUL: PostgreSQL's text cannot hold it."""
        if isinstance(value, dict):
            for key, inner in value.items():
                if "\x00" in key:
                    self.problem(self.where(where), f"key {key!r} {_NUL}")
                self.nul(inner, (*where, key))
        elif isinstance(value, list):
            for n, inner in enumerate(value):
                self.nul(inner, (*where, n))
        elif isinstance(value, str) and "\x00" in value:
            key = next((k for k in reversed(where) if isinstance(k, str)), "a value")
            self.problem(self.where(where), f"{key} {_NUL}")

    def where(self, path: tuple[str | int, ...]) -> int:
        """The line of the key at `path` (table, [index of [[table]],] key …), else its table's."""
        if not path or not isinstance(path[0], str):
            return 0
        table, rest = path[0], path[1:]
        start = self.line_of(table)
        if rest and isinstance(rest[0], int):
            headers = self.headers(table)
            start, rest = (headers[rest[0]] if rest[0] < len(headers) else start), rest[1:]
        if rest and isinstance(rest[0], str) and "\x00" not in rest[0]:
            return self.key_line(start, rest[0])
        escape = re.compile(r"\\(u0000|U00000000)")  # a key with NUL: the line that writes it
        return next(
            (n for n in range(start, len(self.lines) + 1) if escape.search(self.lines[n - 1])),
            start,
        )

    def known(self, item: dict[str, Any], line: int, table: str, keys: tuple[str, ...]) -> None:
        for key in item:
            if key not in keys:
                self.problem(
                    self.key_line(line, key),
                    f"[[{table}]] has no key {key!r}; known: {', '.join(keys)}",
                )

    # -- where --------------------------------------------------------------------------------

    def problem(self, line: int, text: str) -> None:
        self.problems.append(f"line {line}: {text}" if line else text)

    def headers(self, table: str) -> list[int]:
        header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
        return [n for n, text in enumerate(self.lines, 1) if header.match(text)]

    def key_line(self, start: int, key: str) -> int:
        """The line of `key = …` in the table whose header is on line `start`."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for n in range(start, len(self.lines)):
            text = self.lines[n]
            if text.lstrip().startswith("["):
                break
            if pattern.match(text):
                return n + 1
        return start

    def line_of(self, key: str) -> int:
        pattern = re.compile(
            rf"^\s*(\[+\s*{re.escape(key)}\s*\]+|[\"']?{re.escape(key)}[\"']?\s*=)"
        )
        return next((n for n, text in enumerate(self.lines, 1) if pattern.match(text)), 0)
