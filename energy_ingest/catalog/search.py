"""The legacy dashboard's search language (docs/legacy-api.md): text → a small AST, and back.

    or      := and ('or' and)*          and := unary ('and' unary)*
    unary   := 'not' unary | primary    primary := '(' or ')' | term
    term    := @N | #N | $N | %N | *N | :floor OP N | :type N | :unit N
             | :measurement 'text' | ~OP number           OP := = != < > <= >=

Pure Python, standard library only: the site-file checker validates rules' searches with it and
energy_ingest/query/search.py compiles its AST to SQL. Every problem in the text is a SearchError
naming the 1-based position, the offending text and what to write instead; nothing else escapes
parse() for any string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from energy_ingest.catalog.search_tokens import (
    BAD_OPS,
    OPS,
    SIGILS,
    SPACE,
    SearchError,
    Token,
    not_a_term,
    search_error,
    shown_text,
    tokens,
)

__all__ = [
    "ALLOWED", "MAX_DEPTH", "MAX_LENGTH", "MAX_TERMS", "OPS", "SIGILS", "And", "Node", "Not", "Or",
    "SearchError", "Term", "kinds", "parse", "render",
]  # fmt: skip

MAX_LENGTH = 65_536
MAX_DEPTH = 64  # parentheses and `not`s, nested
MAX_TERMS = 1_000  # @N, #N, :floor … each counts, repeated or not
MAX_ID = 2_147_483_647
MIN_FLOOR = -2_147_483_648

# kind → how the term is written, in the order every list of them is shown
SYNTAX = {
    "building": "@N",
    "tag": "#N",
    "room": "$N",
    "device": "%N",
    "point": "*N",
    "floor": ":floor OP N",
    "type": ":type N",
    "unit": ":unit N",
    "measurement": ":measurement 'text'",
    "value": "~OP number",
}
_SIGIL_OF = {kind: sigil for sigil, kind in SIGILS.items()}
FIELDS = ("floor", "type", "unit", "measurement")
_ROUTE = {
    "building": "/api/buildings",
    "tag": "/api/tags",
    "room": "/api/rooms",
    "device": "/api/devices",
    "point": "/api/points",
    "type": "/api/types",
    "unit": "/api/units",
}

_PLACES = {"building", "tag"}
_POINT_KINDS = _PLACES | {"room", "device", "point", "floor", "type", "unit", "measurement"}
ALLOWED: dict[str, frozenset[str]] = {
    "buildings": frozenset(_PLACES),
    "floors": frozenset(_PLACES),
    "rooms": frozenset(_PLACES | {"room", "floor"}),
    "devices": frozenset(_PLACES | {"room", "device", "floor"}),
    "points": frozenset(_POINT_KINDS),
    "values": frozenset(_POINT_KINDS | {"value"}),
}


@dataclass(frozen=True)
class Term:
    kind: str
    op: str | None
    value: int | float | str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    item: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Term | Not | And | Or


def _number(text: str) -> int | float | None:
    """A number as written (int without a '.', else float); None when it is too large."""
    number = float(text)
    if number in (float("inf"), float("-inf")):
        return None
    if "." in text:
        return number
    digits = text.removeprefix("-").lstrip("0") or "0"
    return -int(digits) if text.startswith("-") else int(digits)


class _Parser:
    """Recursive descent over a lazy token stream, so the leftmost problem is the one named."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.stream = tokens(text)
        self.previous: Token | None = None
        self.tok = next(self.stream)
        self.terms: list[tuple[Term, str]] = []  # every term in order, with its source text

    def advance(self) -> Token:
        self.previous, self.tok = self.tok, next(self.stream, self.tok)
        return self.previous

    def at(self, keyword: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.text == keyword

    def since(self, start: int, end: int) -> str:
        return self.text[start:end].strip(SPACE)

    def fail(self, start: int, advice: str, end: int | None = None) -> SearchError:
        """An error naming the text from `start` to the end of the current token (or `end`)."""
        return search_error(start, self.since(start, self.tok.end if end is None else end), advice)

    def glued_end(self, after: Token) -> int:
        """Where the mistake after `after` ends: the current token's end when it touches `after`
        (`@x` is one mistake, `@ x` names only the `@`)."""
        touching = self.tok.kind not in ("end", "(", ")", "keyword") and self.tok.start == after.end
        return self.tok.end if touching else after.end

    # or / and / unary

    def parse_or(self, depth: int) -> Node:
        items = [self.parse_and(depth)]
        while self.at("or"):
            self.advance()
            items.append(self.parse_and(depth))
        flat = tuple(x for i in items for x in (i.items if isinstance(i, Or) else (i,)))
        return flat[0] if len(flat) == 1 else Or(flat)

    def parse_and(self, depth: int) -> Node:
        start = self.tok.start
        items = [self.parse_unary(depth)]
        while not (self.tok.kind in ("end", ")") or self.at("or")):
            if not self.at("and"):
                raise self.juxtaposed(self.since(start, self.tok.start))
            self.advance()
            start = self.tok.start
            items.append(self.parse_unary(depth))
        flat = tuple(x for i in items for x in (i.items if isinstance(i, And) else (i,)))
        return flat[0] if len(flat) == 1 else And(flat)

    def parse_unary(self, depth: int) -> Node:
        tok = self.tok
        opens = tok.kind == "(" or self.at("not")
        if opens and depth >= MAX_DEPTH:
            raise SearchError(
                f"search: {shown_text(tok.text)} at {tok.start + 1} nests deeper than {MAX_DEPTH};"
                f" write a flatter search (at most {MAX_DEPTH} parentheses and nots inside one"
                " another)",
                tok.start + 1,
                tok.text,
            )
        if self.at("not"):
            self.advance()
            return Not(self.parse_unary(depth + 1), tok.start + 1)
        if tok.kind == "(":
            self.advance()
            if self.tok.kind == ")":
                raise self.fail(tok.start, "write a term inside the parentheses: '(@1)'")
            node = self.parse_or(depth + 1)
            if self.tok.kind != ")":  # parse_and stops only at ')', 'or' or the end
                inside = self.since(tok.start + 1, self.tok.start)
                raise search_error(
                    tok.start, "(", f"write ')' after {shown_text(inside)}", "unclosed"
                )
            self.advance()
            return node
        return self.parse_term()

    def juxtaposed(self, left: str) -> SearchError:
        """What follows a complete term or group (`left`) with no and/or between them."""
        tok = self.tok
        if tok.kind in ("sigil", "field", "tilde"):
            self.parse_term()
            right = self.terms[-1][1]
            both = f"{shown_text(f'{left} or {right}')} or {shown_text(f'{left} and {right}')}"
            return search_error(tok.start, right, f"write {both}")
        if tok.kind == "(" or self.at("not"):
            return search_error(
                tok.start, tok.text, f"write 'and' or 'or' between {shown_text(left)} and it"
            )
        return not_a_term(self.tok, self.previous)

    # terms

    def parse_term(self) -> Term:
        tok = self.tok
        if tok.kind == "sigil":
            term = self.id_term(tok, SIGILS[tok.text], f"{tok.text}1")
        elif tok.kind == "field":
            term = self.field_term(tok)
        elif tok.kind == "tilde":
            term = self.value_term(tok)
        else:
            raise not_a_term(self.tok, self.previous)
        self.terms.append((term, self.since(tok.start, self.previous_end())))
        if len(self.terms) > MAX_TERMS:  # each term is a test in SQL: a bound on the query's cost
            raise SearchError(
                f"search: {shown_text(self.terms[-1][1])} at {tok.start + 1} is one of more than"
                f" {MAX_TERMS:,} terms; write at most {MAX_TERMS:,} — split it into several"
                " searches",
                tok.start + 1,
                self.terms[-1][1],
            )
        return term

    def previous_end(self) -> int:
        return self.previous.end if self.previous is not None else 0

    def whole(self, start: int, what: str, example: str, low: int, high: int) -> int:
        """The current token as a whole number in [low, high]; an error names the text from
        `start` (the term) and says `example`."""
        tok = self.tok
        if tok.kind != "number":
            end = self.glued_end(self.previous) if self.previous else tok.end
            raise self.fail(start, f"write {what} after it: {shown_text(example)}", end)
        if "." in tok.text:
            raise self.fail(start, f"{what} is a whole number: {shown_text(example)}")
        digits = tok.text.removeprefix("-").lstrip("0") or "0"
        number = int(digits) if len(digits) <= 10 else MAX_ID + 1  # no 65,536-digit int()
        number = -number if tok.text.startswith("-") else number
        if not low <= number <= high:
            raise self.fail(start, f"{what} is from {low} to {high}: {shown_text(example)}")
        self.advance()
        return number

    def id_term(self, tok: Token, kind: str, example: str) -> Term:
        self.advance()
        value = self.whole(tok.start, f"a {kind} id", example, 1, MAX_ID)
        return Term(kind, None, value, tok.start + 1)

    def field_term(self, tok: Token) -> Term:
        name = tok.text[1:]
        if name not in FIELDS:
            if name.lower() in FIELDS:
                return self.fail_now(tok, f"write ':{name.lower()}' (lower case)")
            return self.fail_now(tok, "write :floor, :type, :unit or :measurement", "unknown")
        if name == "floor":
            self.advance()
            op = self.operator(
                tok, lambda n: f"write {shown_text(f':floor = {n}')}", "':floor = 3'"
            )
            floor = self.whole(tok.start, "a floor", f":floor {op} 3", MIN_FLOOR, MAX_ID)
            return Term("floor", op, floor, tok.start + 1)
        if name == "measurement":
            self.advance()
            return self.measurement(tok)
        example = ":type 3" if name == "type" else ":unit 4"
        where = f"ids at {_ROUTE[name]}"
        self.advance()
        if self.tok.kind == "op":
            self.advance()
            n = self.tok.text if self.tok.kind == "number" else example.split()[1]
            end = self.tok.end if self.tok.kind == "number" else self.previous_end()
            raise self.fail(
                tok.start, f"write {shown_text(f':{name} {n}')} (no operator; {where})", end
            )
        if self.tok.kind in ("quoted", "word"):
            advice = f":{name} takes a {name} id: write {shown_text(example)} ({where})"
            raise self.fail(tok.start, advice)
        value = self.whole(tok.start, f"a {name} id", f"{example} ({where})", 1, MAX_ID)
        return Term(name, None, value, tok.start + 1)

    def fail_now(self, tok: Token, advice: str, what: str = "unexpected") -> Term:
        raise search_error(tok.start, tok.text, advice, what)

    def operator(self, tok: Token, with_number: Callable[[str], str], example: str) -> str:
        """The comparison operator after `tok` (:floor or ~)."""
        if self.tok.kind == "op" and self.tok.text in OPS:
            return self.advance().text
        if self.tok.kind == "op":
            better = BAD_OPS[self.tok.text]
            raise self.fail(
                tok.start, f"write {shown_text(better)} for {shown_text(self.tok.text)}"
            )
        if self.tok.kind == "number":
            raise self.fail(tok.start, with_number(self.tok.text))
        advice = f"write a comparison such as {example} (an operator = != < > <= >=, then a number)"
        raise self.fail(tok.start, advice, self.glued_end(tok))

    def measurement(self, tok: Token) -> Term:
        if self.tok.kind == "quoted":
            return Term("measurement", None, self.advance().value, tok.start + 1)
        if self.tok.kind == "bad":
            raise search_error(self.tok.start, self.tok.text, self.tok.value)
        if self.tok.kind == "word":
            words = [self.tok.text]
            while self.advance() and self.tok.kind == "word":
                words.append(self.tok.text)
            quoted = "'" + " ".join(words) + "'"
            raise self.fail(
                tok.start, f"quote it: {shown_text(':measurement ' + quoted)}", self.previous_end()
            )
        advice = "write the measurement in quotes: :measurement 'temperature'"
        if self.tok.kind == "op":
            raise self.fail(tok.start, advice + " (no operator)")
        raise self.fail(tok.start, advice, self.glued_end(tok))

    def value_term(self, tok: Token) -> Term:
        self.advance()
        op = self.operator(tok, lambda n: f"write '~={n}' or '~>{n}'", "'~>80' or '~ <= 0.5'")
        if self.tok.kind != "number":
            end = self.glued_end(self.previous) if self.previous else self.tok.end
            raise self.fail(tok.start, f"write a number after it: '~{op}80'", end)
        value = _number(self.tok.text)
        if value is None:
            raise self.fail(tok.start, f"the number is too large: '~{op}80'")
        self.advance()
        return Term("value", op, value, tok.start + 1)


# --- the interface -----------------------------------------------------------------------


def parse(text: str | None, endpoint: str | None = None) -> Node | None:
    """The AST of a search; None for None or blank (everything). With `endpoint` (a key of
    ALLOWED), a term that endpoint does not allow is an error too."""
    if endpoint is not None and endpoint not in ALLOWED:
        raise ValueError(f"no such endpoint {endpoint!r}: one of {', '.join(ALLOWED)}")
    if text is None:
        return None
    if len(text) > MAX_LENGTH:
        raise SearchError(
            f"search: too long at {MAX_LENGTH + 1} ({len(text):,} characters); write at most"
            f" {MAX_LENGTH:,} — split it into several searches",
            MAX_LENGTH + 1,
            text[MAX_LENGTH : MAX_LENGTH + 1],
        )
    if not text.strip(SPACE):
        return None
    parser = _Parser(text)
    node = parser.parse_or(0)
    if parser.tok.kind == ")":
        raise search_error(parser.tok.start, ")", "no '(' opens it: remove it")
    if endpoint is not None:
        allowed = ALLOWED[endpoint]
        for term, source in parser.terms:
            if term.kind not in allowed:
                there = ", ".join(s for k, s in SYNTAX.items() if k in allowed)
                raise SearchError(
                    f"search: {shown_text(source)} at {term.pos} is not allowed on /api/{endpoint};"
                    f" there: {there}",
                    term.pos,
                    source,
                )
    return node


def _render_number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def _render_term(term: Term) -> str:
    if term.kind in _SIGIL_OF:
        return f"{_SIGIL_OF[term.kind]}{term.value}"
    if term.kind == "floor":
        return f":floor {term.op} {term.value}"
    if term.kind in ("type", "unit"):
        return f":{term.kind} {term.value}"
    if term.kind == "measurement":
        quoted = str(term.value).replace("'", "''")
        return f":measurement '{quoted}'"
    if term.kind == "value" and isinstance(term.value, int | float):
        return f"~{term.op}{_render_number(term.value)}"
    raise ValueError(f"not a search term: {term!r}")


def render(node: Node | None) -> str:
    """The canonical text of a search ('' for None): parse(render(n)) == n."""
    if node is None:
        return ""
    if isinstance(node, Term):
        return _render_term(node)
    if isinstance(node, Not):
        inner = render(node.item)
        return f"not ({inner})" if isinstance(node.item, And | Or) else f"not {inner}"
    joiner = " and " if isinstance(node, And) else " or "
    return joiner.join(
        f"({render(item)})" if isinstance(item, And | Or) else render(item) for item in node.items
    )


def kinds(node: Node | None) -> set[str]:
    """The kinds of term a search uses ('building', 'floor', 'value' …)."""
    if node is None:
        return set()
    if isinstance(node, Term):
        return {node.kind}
    if isinstance(node, Not):
        return kinds(node.item)
    return set().union(*(kinds(item) for item in node.items))
