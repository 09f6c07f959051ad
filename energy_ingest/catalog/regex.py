"""The site file's regular expressions, compiled with RE2: matching time grows linearly with the
name, whatever the pattern, so no rule can stall the writers' lock by backtracking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, cast

import re2

# RE2 has no backtracking, so no backreferences, lookarounds or atomic groups; its own words for
# them ("invalid escape sequence: \1") do not say so, hence this list.
_UNSUPPORTED = (
    ("(?P=", "a backreference"),
    ("(?=", "a lookahead"),
    ("(?!", "a lookahead"),
    ("(?<=", "a lookbehind"),
    ("(?<!", "a lookbehind"),
    ("(?>", "an atomic group"),
    ("(?(", "a conditional group"),
)
_WHY = (
    "rules are RE2 patterns, matched in linear time: no backreferences, lookarounds, atomic "
    "groups or possessive quantifiers"
)


class Match(Protocol):
    def groupdict(self) -> dict[str, str | None]: ...


class Pattern(Protocol):
    @property
    def pattern(self) -> str: ...

    @property
    def groupindex(self) -> Mapping[str, int]: ...

    def search(self, text: str) -> Match | None: ...


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says why and, if known, which construct."""


def compile_rule(text: str) -> Pattern:
    options = re2.Options()
    options.log_errors = False  # RE2 would print each error to stderr; we report it ourselves
    try:
        return cast(Pattern, re2.compile(text, options))
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
        raise PatternError(f"{why}{_construct(text, why)}") from None


def _construct(text: str, why: str) -> str:
    for token, what in _UNSUPPORTED:
        if token in text:
            return f" — {token}…) is {what}; {_WHY}"
    if "invalid escape sequence: \\" in why and why[-1:].isdigit():
        return f" — {why.rsplit(': ', 1)[-1]} is a backreference; {_WHY}"
    if "bad repetition operator" in why and ("++" in why or "*+" in why or "?+" in why):
        return f" — a possessive quantifier; {_WHY}"
    return ""
