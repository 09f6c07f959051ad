"""The search language's words: the text cut into tokens (terms, keywords, operators), and the
SearchError, with position and advice, for anything that is none of them (search.py parses).
Standard library only, as search.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from energy_ingest.errors import EnergyError

OPS = ("=", "!=", "<", ">", "<=", ">=")
SIGILS = {"@": "building", "#": "tag", "$": "room", "%": "device", "*": "point"}


class SearchError(EnergyError, ValueError):
    """A search that does not parse, or uses a term its endpoint does not allow."""

    def __init__(self, message: str, position: int, token: str) -> None:
        super().__init__(message)
        self.position = position  # 1-based
        self.token = token  # '' at the end of the text


class Token(NamedTuple):
    kind: str  # ( ) keyword word sigil field colon tilde op number quoted end bad
    text: str  # the source text, or the keyword / sigil / field name
    start: int  # 0-based, into the search
    end: int
    value: str = ""  # quoted: the text between the quotes; bad: the advice


SPACE = " \t\r\n"
_DIGITS = "0123456789"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_KEYWORDS = ("and", "or", "not")
_OP_CHARS = "=!<>"
BAD_OPS = {"==": "=", "<>": "!=", "=<": "<=", "=>": ">="}
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
GENERIC = "write terms such as '@1', '#2' or ':floor = 3' joined by and, or, not"


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 32 or 127 <= code < 160 or 0xD800 <= code < 0xE000  # C0, DEL, C1, surrogates


def keywords(word: str) -> list[str] | None:
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


def _quoted(text: str, i: int) -> Token:
    j = i + 1
    parts: list[str] = []
    while j < len(text):
        ch = text[j]
        if ch == "'":
            if text.startswith("'", j + 1):
                parts.append("'")
                j += 2
                continue
            return Token("quoted", text[i : j + 1], i, j + 1, "".join(parts))
        if _is_control(ch):
            return Token("bad", ch, j, j + 1, "quoted text cannot hold control characters")
        parts.append(ch)
        j += 1
    return Token(
        "bad",
        text[i:],
        i,
        len(text),
        "the quote is not closed: end the text with ' (and write '' for a quote inside it)",
    )


def tokens(text: str) -> Iterator[Token]:  # one branch per character class
    i = 0
    while True:
        i = _run(text, i, SPACE)
        if i >= len(text):
            yield Token("end", "", len(text), len(text))
            return
        ch = text[i]
        two = text[i : i + 2]
        if ch in "()":
            yield Token(ch, ch, i, i + 1)
            i += 1
        elif ch in _LETTERS:
            j = _run(text, i, _LETTERS)
            split = keywords(text[i:j])
            if split is None:
                yield Token("word", text[i:j], i, j)
            else:
                for keyword in split:
                    yield Token("keyword", keyword, i, i + len(keyword))
                    i += len(keyword)
            i = j
        elif (j := _number_end(text, i)) > i:
            yield Token("number", text[i:j], i, j)
            i = j
        elif ch in SIGILS:
            yield Token("sigil", ch, i, i + 1)
            i += 1
        elif ch == ":":
            j = _run(text, i + 1, _LETTERS)
            yield Token("field" if j > i + 1 else "colon", text[i:j], i, max(j, i + 1))
            i = max(j, i + 1)
        elif ch == "~":
            yield Token("tilde", ch, i, i + 1)
            i += 1
        elif ch in _OP_CHARS:
            op = two if two in OPS or two in BAD_OPS else ch
            if op == "!":
                yield Token("bad", op, i, i + 1, _PUNCTUATION["!"])
            else:
                yield Token("op", op, i, i + len(op))
            i += len(op)
        elif ch == "'":
            token = _quoted(text, i)
            yield token
            i = token.end
        elif two in _PUNCTUATION or ch in _PUNCTUATION:
            sign = two if two in _PUNCTUATION else ch
            yield Token("bad", sign, i, i + len(sign), _PUNCTUATION[sign])
            i += len(sign)
        elif _is_control(ch):
            advice = f"control characters (U+{ord(ch):04X}) are not allowed: remove it"
            yield Token("bad", ch, i, i + 1, advice)
            i += 1
        elif not ch.isascii():
            advice = "outside quotes write only ASCII: terms, numbers, and, or, not"
            yield Token("bad", ch, i, i + 1, advice)
            i += 1
        else:
            yield Token("bad", ch, i, i + 1, GENERIC)
            i += 1


# --- the parser --------------------------------------------------------------------------


def shown_text(text: str) -> str:
    """Text quoted for a message (repr: control characters escaped), cut when long."""
    return repr(text if len(text) <= 60 else text[:60] + "…")


def search_error(start: int, token: str, advice: str, what: str = "unexpected") -> SearchError:
    shown = shown_text(token) if token else "end of the search"
    return SearchError(f"search: {what} {shown} at {start + 1}; {advice}", start + 1, token)


def not_a_term(tok: Token, prev: Token | None) -> SearchError:
    """The error for `tok` (after `prev`) where a term, `not` or `(` should be."""
    if tok.kind == "bad":
        return search_error(tok.start, tok.text, tok.value)
    if tok.kind in ("end", ")") and prev is not None and prev.kind == "keyword":
        what = "ends the search" if tok.kind == "end" else f"is followed by ')' at {tok.start + 1}"
        example = "'not @1'" if prev.text == "not" else f"'@1 {prev.text} @2'"
        return SearchError(
            f"search: {shown_text(prev.text)} at {prev.start + 1} {what}; write a term after it"
            f" ({example}) or remove it",
            prev.start + 1,
            prev.text,
        )
    if tok.kind == ")":
        return search_error(tok.start, ")", "no '(' opens it: remove it")
    if tok.kind == "end":
        return search_error(tok.start, "", "write a term such as '@1'")
    if tok.kind == "keyword":
        if prev is None or prev.kind == "(":
            advice = f"write a term before it ('@1 {tok.text} @2')"
        else:
            advice = f"write a term between {shown_text(prev.text)} and {shown_text(tok.text)}"
        return search_error(tok.start, tok.text, advice)
    if tok.kind == "word":
        split = keywords(tok.text.lower())
        if split is not None:
            return search_error(
                tok.start, tok.text, f"write {shown_text(' '.join(split))} (lower case)"
            )
        return search_error(tok.start, tok.text, GENERIC)
    if tok.kind == "number":
        n = tok.text
        return search_error(
            tok.start,
            n,
            f"a number alone is not a term: write '@{n}' (building), '#{n}' (tag), '${n}'"
            f" (room), '%{n}' (device) or '*{n}' (point)",
        )
    if tok.kind == "quoted":
        advice = f"quoted text goes after :measurement: {shown_text(':measurement ' + tok.text)}"
        return search_error(tok.start, tok.text, advice)
    if tok.kind == "op":
        advice = f"an operator goes after :floor or ~: ':floor {tok.text} 3', '~{tok.text}80'"
        return search_error(tok.start, tok.text, advice)
    if tok.kind == "colon":
        advice = "write :floor, :type, :unit or :measurement (no space after ':')"
        return search_error(tok.start, ":", advice)
    return search_error(tok.start, tok.text, GENERIC)  # pragma: no cover - every kind is above
