"""The site file's regular expressions, compiled with RE2: matching time grows linearly with the
name, whatever the pattern, so no rule can stall the writers' lock by backtracking.

Linear, but with a factor: a pattern whose DFA explodes (`[ab]*a[ab]{1000}` must remember the
last thousand letters) is run as an NFA, at ~10 ns per instruction and character, after RE2 has
filled and flushed up to `max_mem` of DFA states per search. So a pattern's program
(MAX_PROGRAM), all patterns' programs together (site.MAX_PROGRAMS), a rule's DFA memory
(MAX_MEMORY) and the names a rule reads (MAX_TEXT) are bounded: the worst site file allowed
costs ~60 ms per point on the worst name, the example's rules ~20 µs (bench/rules).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import re2

from energy_ingest.errors import EnergyError

# The standard library's parser of the rules' syntax, and its names for what it finds.
_parser: Any = importlib.import_module("re._parser")
_constants: Any = importlib.import_module("re._constants")
_AT, _AT_BEGINNING, _AT_BEGINNING_STRING = (
    _constants.AT,
    _constants.AT_BEGINNING,
    _constants.AT_BEGINNING_STRING,
)
_LITERAL, _SUBPATTERN = _constants.LITERAL, _constants.SUBPATTERN
MAX_PROGRAM = 1_000  # instructions one pattern compiles to; the example's longest takes 35
MAX_TEXT = 256  # characters of the longest name a rule reads; no BAS name comes near
MAX_MEMORY = 32 << 10  # bytes of program and DFA per pattern; any MAX_PROGRAM program fits

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

    __slots__ = ("_head", "_re", "groupindex", "pattern", "size")

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self.groupindex: dict[str, int] = {k.decode(): v for k, v in compiled.groupindex.items()}
        self.size: int = compiled.programsize
        self._re = compiled
        self._head = literal_head(pattern)

    def search(self, text: str) -> Match | None:
        """The first match in `text`; none in a text over MAX_TEXT characters (cut, a `$` rule
        would match a name that does not end so)."""
        if len(text) > MAX_TEXT:
            return None
        raw = text.encode(errors="replace")
        if not raw.startswith(self._head):  # most names fail here, at a tenth of RE2's cost
            return None
        found = self._re.search(raw)
        return None if found is None else Match(found)


def literal_head(pattern: str) -> bytes:
    r"""What every match's text starts with: the literal characters an anchored pattern begins
    with, through plain groups (`^(?P<building>EV)\.(?P<floor>…` → b"EV."); b"" when it is not
    anchored, ignores case or is not plain Python syntax. Read with the standard library's own
    parser of this syntax, which every rule is checked with first (site.fields)."""
    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return b""
    if parsed.state.flags & (re.IGNORECASE | re.MULTILINE) or not len(parsed):
        return b""
    if parsed[0] not in ((_AT, _AT_BEGINNING), (_AT, _AT_BEGINNING_STRING)):
        return b""
    head: list[str] = []

    def literals(items: Any) -> bool:
        for op, value in items:
            if op is _LITERAL:
                head.append(chr(value))
            elif op is _SUBPATTERN and value[1] == value[2] == 0:  # a group with no flags
                if not literals(value[3]):
                    return False
            else:
                return False
        return True

    literals(parsed[1:])
    return "".join(head).encode()


class PatternError(EnergyError, ValueError):
    """A pattern RE2 cannot compile; the message says why and, if known, which construct."""


def compile_rule(text: str) -> Pattern:
    options = re2.Options()
    options.log_errors = False  # RE2 would print each error to stderr; we report it ourselves
    options.max_mem = MAX_MEMORY  # a DFA that needs more runs as an NFA: slower, never wrong
    try:
        pattern = Pattern(text, re2.compile(text.encode(), options))
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
        raise PatternError(f"{why}{_construct(text, why)}") from None
    if pattern.size > MAX_PROGRAM:
        raise PatternError(
            f"compiles to {pattern.size:,} instructions, over the limit of {MAX_PROGRAM:,} "
            "(a name costs time in proportion; a counted repetition like {1000} repeats its "
            "group that many times): write a shorter pattern"
        )
    return pattern


def _construct(text: str, why: str) -> str:
    for token, what in _UNSUPPORTED:
        if token in text:
            return f" — {token}…) is {what}; {_WHY}"
    if "invalid escape sequence: \\" in why and why[-1:].isdigit():
        return f" — {why.rsplit(': ', 1)[-1]} is a backreference; {_WHY}"
    if "bad repetition operator" in why and ("++" in why or "*+" in why or "?+" in why):
        return f" — a possessive quantifier; {_WHY}"
    return ""
