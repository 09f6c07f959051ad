"""The legacy dashboard's search language (docs/legacy-api.md): text → a small AST, and back.

    or      := and ('or' and)*          and := unary ('and' unary)*
    unary   := 'not' unary | primary    primary := '(' or ')' | term
    term    := @N | #N | $N | %N | *N | :floor OP N | :type N | :unit N
             | :measurement 'text' | ~OP number           OP := = != < > <= >=

Pure Python, standard library only: the site-file checker validates rules' searches with it and
the API compiles its AST to SQL (energy_api/legacy/search_sql.py). Every problem in the text is
a SearchError naming the 1-based position, the offending text and what to write instead; nothing
else escapes parse() for any string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

MAX_LENGTH = 65_536
MAX_DEPTH = 64  # parentheses and `not`s, nested
MAX_TERMS = 1_000  # @N, #N, :floor … each counts, repeated or not
MAX_ID = 2_147_483_647
MIN_FLOOR = -2_147_483_648
OPS = ("=", "!=", "<", ">", "<=", ">=")

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
SIGILS = {"@": "building", "#": "tag", "$": "room", "%": "device", "*": "point"}
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


class SearchError(ValueError):
    """A search that does not parse, or uses a term its endpoint does not allow."""

    def __init__(self, message: str, position: int, token: str) -> None:
        super().__init__(message)
        self.position = position  # 1-based
        self.token = token  # '' at the end of the text


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


# --- tokens ------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # ( ) keyword word sigil field colon tilde op number quoted end bad
    text: str  # the source text, or the keyword / sigil / field name
    start: int  # 0-based, into the search
    end: int
    value: str = ""  # quoted: the text between the quotes; bad: the advice


_SPACE = " \t\r\n"
_DIGITS = "0123456789"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_KEYWORDS = ("and", "or", "not")
_OP_CHARS = "=!<>"
_BAD_OPS = {"==": "=", "<>": "!=", "=<": "<=", "=>": ">="}
_PUNCTUATION = {
    "&": "write 'and'",
    "&&": "write 'and'",
    "|": "write 'or'",
    "||": "write 'or'",
    "!": "write 'not'",
    ";": "a search is terms joined by and, or, not: remove it",
    "--": "a search has no comments: remove it",
    "/*": "a search has no comments: remove it",
    '"': "quote text with single quotes: :measurement 'temperature'",
    "‘": "quote text with straight single quotes: :measurement 'temperature'",
    "’": "quote text with straight single quotes: :measurement 'temperature'",
    "“": "quote text with straight single quotes: :measurement 'temperature'",
    "”": "quote text with straight single quotes: :measurement 'temperature'",
}
_GENERIC = "write terms such as '@1', '#2' or ':floor = 3' joined by and, or, not"


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 32 or 127 <= code < 160 or 0xD800 <= code < 0xE000  # C0, DEL, C1, surrogates


def _keywords(word: str) -> list[str] | None:
    """`word` split into and/or/not (`andnot` → and, not: no spaces are needed), or None."""
    out: list[str] = []
    rest = word
    while rest:
        keyword = next((k for k in _KEYWORDS if rest.startswith(k)), None)
        if keyword is None:
            return None
        out.append(keyword)
        rest = rest[len(keyword) :]
    return out


def _run(text: str, i: int, chars: str) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _number_end(text: str, i: int) -> int:
    """The end of -?(\\d+(\\.\\d*)?|\\.\\d+) at i, or i when there is none."""
    j = i + 1 if text.startswith("-", i) else i
    if j < len(text) and text[j] in _DIGITS:
        j = _run(text, j, _DIGITS)
        return _run(text, j + 1, _DIGITS) if text.startswith(".", j) else j
    if text.startswith(".", j) and j + 1 < len(text) and text[j + 1] in _DIGITS:
        return _run(text, j + 1, _DIGITS)
    return i


def _quoted(text: str, i: int) -> _Token:
    j = i + 1
    parts: list[str] = []
    while j < len(text):
        ch = text[j]
        if ch == "'":
            if text.startswith("'", j + 1):
                parts.append("'")
                j += 2
                continue
            return _Token("quoted", text[i : j + 1], i, j + 1, "".join(parts))
        if _is_control(ch):
            return _Token("bad", ch, j, j + 1, "quoted text cannot hold control characters")
        parts.append(ch)
        j += 1
    return _Token(
        "bad",
        text[i:],
        i,
        len(text),
        "the quote is not closed: end the text with ' (and write '' for a quote inside it)",
    )


def _tokens(text: str) -> Iterator[_Token]:  # one branch per character class
    i = 0
    while True:
        i = _run(text, i, _SPACE)
        if i >= len(text):
            yield _Token("end", "", len(text), len(text))
            return
        ch = text[i]
        two = text[i : i + 2]
        if ch in "()":
            yield _Token(ch, ch, i, i + 1)
            i += 1
        elif ch in _LETTERS:
            j = _run(text, i, _LETTERS)
            split = _keywords(text[i:j])
            if split is None:
                yield _Token("word", text[i:j], i, j)
            else:
                for keyword in split:
                    yield _Token("keyword", keyword, i, i + len(keyword))
                    i += len(keyword)
            i = j
        elif (j := _number_end(text, i)) > i:
            yield _Token("number", text[i:j], i, j)
            i = j
        elif ch in SIGILS:
            yield _Token("sigil", ch, i, i + 1)
            i += 1
        elif ch == ":":
            j = _run(text, i + 1, _LETTERS)
            yield _Token("field" if j > i + 1 else "colon", text[i:j], i, max(j, i + 1))
            i = max(j, i + 1)
        elif ch == "~":
            yield _Token("tilde", ch, i, i + 1)
            i += 1
        elif ch in _OP_CHARS:
            op = two if two in OPS or two in _BAD_OPS else ch
            if op == "!":
                yield _Token("bad", op, i, i + 1, _PUNCTUATION["!"])
            else:
                yield _Token("op", op, i, i + len(op))
            i += len(op)
        elif ch == "'":
            token = _quoted(text, i)
            yield token
            i = token.end
        elif two in _PUNCTUATION or ch in _PUNCTUATION:
            sign = two if two in _PUNCTUATION else ch
            yield _Token("bad", sign, i, i + len(sign), _PUNCTUATION[sign])
            i += len(sign)
        elif _is_control(ch):
            advice = f"control characters (U+{ord(ch):04X}) are not allowed: remove it"
            yield _Token("bad", ch, i, i + 1, advice)
            i += 1
        elif not ch.isascii():
            advice = "outside quotes write only ASCII: terms, numbers, and, or, not"
            yield _Token("bad", ch, i, i + 1, advice)
            i += 1
        else:
            yield _Token("bad", ch, i, i + 1, _GENERIC)
            i += 1


# --- the parser --------------------------------------------------------------------------


def _shown(text: str) -> str:
    """Text quoted for a message (repr: control characters escaped), cut when long."""
    return repr(text if len(text) <= 60 else text[:60] + "…")


def _error(start: int, token: str, advice: str, what: str = "unexpected") -> SearchError:
    shown = _shown(token) if token else "end of the search"
    return SearchError(f"search: {what} {shown} at {start + 1}; {advice}", start + 1, token)


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
        self.stream = _tokens(text)
        self.previous: _Token | None = None
        self.tok = next(self.stream)
        self.terms: list[tuple[Term, str]] = []  # every term in order, with its source text

    def advance(self) -> _Token:
        self.previous, self.tok = self.tok, next(self.stream, self.tok)
        return self.previous

    def at(self, keyword: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.text == keyword

    def since(self, start: int, end: int) -> str:
        return self.text[start:end].strip(_SPACE)

    def fail(self, start: int, advice: str, end: int | None = None) -> SearchError:
        """An error naming the text from `start` to the end of the current token (or `end`)."""
        return _error(start, self.since(start, self.tok.end if end is None else end), advice)

    def glued_end(self, after: _Token) -> int:
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
                f"search: {_shown(tok.text)} at {tok.start + 1} nests deeper than {MAX_DEPTH};"
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
                raise _error(tok.start, "(", f"write ')' after {_shown(inside)}", "unclosed")
            self.advance()
            return node
        return self.parse_term()

    def juxtaposed(self, left: str) -> SearchError:
        """What follows a complete term or group (`left`) with no and/or between them."""
        tok = self.tok
        if tok.kind in ("sigil", "field", "tilde"):
            self.parse_term()
            right = self.terms[-1][1]
            both = f"{_shown(f'{left} or {right}')} or {_shown(f'{left} and {right}')}"
            return _error(tok.start, right, f"write {both}")
        if tok.kind == "(" or self.at("not"):
            return _error(tok.start, tok.text, f"write 'and' or 'or' between {_shown(left)} and it")
        return self.not_a_term()

    def not_a_term(self) -> SearchError:
        """The error for the current token where a term, `not` or `(` should be."""
        tok, prev = self.tok, self.previous
        if tok.kind == "bad":
            return _error(tok.start, tok.text, tok.value)
        if tok.kind in ("end", ")") and prev is not None and prev.kind == "keyword":
            what = (
                "ends the search" if tok.kind == "end" else f"is followed by ')' at {tok.start + 1}"
            )
            example = "'not @1'" if prev.text == "not" else f"'@1 {prev.text} @2'"
            return SearchError(
                f"search: {_shown(prev.text)} at {prev.start + 1} {what}; write a term after it"
                f" ({example}) or remove it",
                prev.start + 1,
                prev.text,
            )
        if tok.kind == ")":
            return _error(tok.start, ")", "no '(' opens it: remove it")
        if tok.kind == "end":
            return _error(tok.start, "", "write a term such as '@1'")
        if tok.kind == "keyword":
            if prev is None or prev.kind == "(":
                advice = f"write a term before it ('@1 {tok.text} @2')"
            else:
                advice = f"write a term between {_shown(prev.text)} and {_shown(tok.text)}"
            return _error(tok.start, tok.text, advice)
        if tok.kind == "word":
            split = _keywords(tok.text.lower())
            if split is not None:
                return _error(tok.start, tok.text, f"write {_shown(' '.join(split))} (lower case)")
            return _error(tok.start, tok.text, _GENERIC)
        if tok.kind == "number":
            n = tok.text
            return _error(
                tok.start,
                n,
                f"a number alone is not a term: write '@{n}' (building), '#{n}' (tag), '${n}'"
                f" (room), '%{n}' (device) or '*{n}' (point)",
            )
        if tok.kind == "quoted":
            advice = f"quoted text goes after :measurement: {_shown(':measurement ' + tok.text)}"
            return _error(tok.start, tok.text, advice)
        if tok.kind == "op":
            advice = f"an operator goes after :floor or ~: ':floor {tok.text} 3', '~{tok.text}80'"
            return _error(tok.start, tok.text, advice)
        if tok.kind == "colon":
            advice = "write :floor, :type, :unit or :measurement (no space after ':')"
            return _error(tok.start, ":", advice)
        return _error(tok.start, tok.text, _GENERIC)  # pragma: no cover - every kind is above

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
            raise self.not_a_term()
        self.terms.append((term, self.since(tok.start, self.previous_end())))
        if len(self.terms) > MAX_TERMS:  # each term is a test in SQL: a bound on the query's cost
            raise SearchError(
                f"search: {_shown(self.terms[-1][1])} at {tok.start + 1} is one of more than"
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
            raise self.fail(start, f"write {what} after it: {_shown(example)}", end)
        if "." in tok.text:
            raise self.fail(start, f"{what} is a whole number: {_shown(example)}")
        digits = tok.text.removeprefix("-").lstrip("0") or "0"
        number = int(digits) if len(digits) <= 10 else MAX_ID + 1  # no 65,536-digit int()
        number = -number if tok.text.startswith("-") else number
        if not low <= number <= high:
            raise self.fail(start, f"{what} is from {low} to {high}: {_shown(example)}")
        self.advance()
        return number

    def id_term(self, tok: _Token, kind: str, example: str) -> Term:
        self.advance()
        value = self.whole(tok.start, f"a {kind} id", example, 1, MAX_ID)
        return Term(kind, None, value, tok.start + 1)

    def field_term(self, tok: _Token) -> Term:
        name = tok.text[1:]
        if name not in FIELDS:
            if name.lower() in FIELDS:
                return self.fail_now(tok, f"write ':{name.lower()}' (lower case)")
            return self.fail_now(tok, "write :floor, :type, :unit or :measurement", "unknown")
        if name == "floor":
            self.advance()
            op = self.operator(tok, lambda n: f"write {_shown(f':floor = {n}')}", "':floor = 3'")
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
                tok.start, f"write {_shown(f':{name} {n}')} (no operator; {where})", end
            )
        if self.tok.kind in ("quoted", "word"):
            advice = f":{name} takes a {name} id: write {_shown(example)} ({where})"
            raise self.fail(tok.start, advice)
        value = self.whole(tok.start, f"a {name} id", f"{example} ({where})", 1, MAX_ID)
        return Term(name, None, value, tok.start + 1)

    def fail_now(self, tok: _Token, advice: str, what: str = "unexpected") -> Term:
        raise _error(tok.start, tok.text, advice, what)

    def operator(self, tok: _Token, with_number: Callable[[str], str], example: str) -> str:
        """The comparison operator after `tok` (:floor or ~)."""
        if self.tok.kind == "op" and self.tok.text in OPS:
            return self.advance().text
        if self.tok.kind == "op":
            better = _BAD_OPS[self.tok.text]
            raise self.fail(tok.start, f"write {_shown(better)} for {_shown(self.tok.text)}")
        if self.tok.kind == "number":
            raise self.fail(tok.start, with_number(self.tok.text))
        advice = f"write a comparison such as {example} (an operator = != < > <= >=, then a number)"
        raise self.fail(tok.start, advice, self.glued_end(tok))

    def measurement(self, tok: _Token) -> Term:
        if self.tok.kind == "quoted":
            return Term("measurement", None, self.advance().value, tok.start + 1)
        if self.tok.kind == "bad":
            raise _error(self.tok.start, self.tok.text, self.tok.value)
        if self.tok.kind == "word":
            words = [self.tok.text]
            while self.advance() and self.tok.kind == "word":
                words.append(self.tok.text)
            quoted = "'" + " ".join(words) + "'"
            raise self.fail(
                tok.start, f"quote it: {_shown(':measurement ' + quoted)}", self.previous_end()
            )
        advice = "write the measurement in quotes: :measurement 'temperature'"
        if self.tok.kind == "op":
            raise self.fail(tok.start, advice + " (no operator)")
        raise self.fail(tok.start, advice, self.glued_end(tok))

    def value_term(self, tok: _Token) -> Term:
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
    if not text.strip(_SPACE):
        return None
    parser = _Parser(text)
    node = parser.parse_or(0)
    if parser.tok.kind == ")":
        raise _error(parser.tok.start, ")", "no '(' opens it: remove it")
    if endpoint is not None:
        allowed = ALLOWED[endpoint]
        for term, source in parser.terms:
            if term.kind not in allowed:
                there = ", ".join(s for k, s in SYNTAX.items() if k in allowed)
                raise SearchError(
                    f"search: {_shown(source)} at {term.pos} is not allowed on /api/{endpoint};"
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
