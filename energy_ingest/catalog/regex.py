"""The site file's regular expressions, compiled with RE2: matching time grows linearly with the
name, whatever the pattern, so no rule can stall the writers' lock by backtracking."""

from __future__ import annotations

from typing import Any

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


class Match:
    """What a rule found: its named groups."""

    __slots__ = ("_found",)

    def __init__(self, found: Any) -> None:
        self._found = found

    def groupdict(self) -> dict[str, str | None]:
        return {
            k.decode(): None if v is None else v.decode(errors="replace")
            for k, v in self._found.groupdict().items()
        }


class Pattern:
    """A compiled rule. Matched on UTF-8 bytes: re2's str interface maps every offset back to
    characters, several times slower for names that are ASCII anyway."""

    __slots__ = ("_re", "groupindex", "pattern")

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self.groupindex: dict[str, int] = {k.decode(): v for k, v in compiled.groupindex.items()}
        self._re = compiled

    def search(self, text: str) -> Match | None:
        found = self._re.search(text.encode(errors="replace"))
        return None if found is None else Match(found)


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says why and, if known, which construct."""


def compile_rule(text: str) -> Pattern:
    options = re2.Options()
    options.log_errors = False  # RE2 would print each error to stderr; we report it ourselves
    try:
        return Pattern(text, re2.compile(text.encode(), options))
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
