"""Request parameters: refuse unknown names, parse numbers and choices with errors that name them."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Request
from werkzeug.datastructures import MultiDict

from energy_api.errors import ApiError, bad_param

# Values whose own parser refuses NUL with a better message (lookup_zone names the value and
# suggests a zone; the legacy search parser names its position); every other value with a NUL is
# refused here.
SELF_CHECKED = frozenset({"tz", "search"})


class Params:
    """Query string plus (for POST) form fields, checked against the names a route accepts."""

    def __init__(self, request: Request, allowed: Iterable[str]) -> None:
        merged: MultiDict[str, str] = MultiDict(request.args)
        if request.method == "POST":
            for key, value in request.form.items(multi=True):
                merged.add(key, value)
        self.values = merged
        for key, value in merged.items(multi=True):
            if "\x00" in key or ("\x00" in value and key not in SELF_CHECKED):
                raise bad_param(key.replace("\x00", ""), "parameters cannot contain NUL characters")
        allowed = set(allowed)
        unknown = sorted(k for k in merged if k not in allowed)
        if unknown:
            raise ApiError(
                400,
                "unknown_parameter",
                f"unknown parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)};"
                f" this route accepts {', '.join(sorted(allowed)) or 'none'}",
                ",".join(unknown),
            )

    def get(self, name: str) -> str | None:
        values = self.values.getlist(name)
        if len(values) > 1:
            raise bad_param(name, f"{name} is given {len(values)} times; give it once")
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self.values.getlist(name)

    def int_or_none(self, name: str, lo: int, hi: int) -> int | None:
        """A whole number in lo..hi, or None when the parameter is absent or empty."""
        raw = self.get(name)
        return None if raw is None or raw == "" else self.int(name, 0, lo, hi)

    def int(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_param(name, f"{name}={raw!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise bad_param(name, f"{name}={value} is out of range; use {lo}..{hi}")
        return value

    def choice(self, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        options = list(choices)
        if raw not in options:
            raise bad_param(name, f"{name}={raw!r} is not one of {', '.join(options)}")
        return raw
