"""The legacy search language (energy_ingest/catalog/search.py): good strings → their AST, bad
strings → the exact message, render ∘ parse is the identity, and nothing but SearchError escapes."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_ingest import errors
from energy_ingest.catalog import search, search_tokens
from energy_ingest.catalog.search import (
    ALLOWED,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    And,
    Node,
    Not,
    Or,
    SearchError,
    Term,
    kinds,
    parse,
    render,
)


def B(n: int) -> Term:
    return Term("building", None, n)


def T(n: int) -> Term:
    return Term("tag", None, n)


def R(n: int) -> Term:
    return Term("room", None, n)


def D(n: int) -> Term:
    return Term("device", None, n)


def P(n: int) -> Term:
    return Term("point", None, n)


def F(op: str, n: int) -> Term:
    return Term("floor", op, n)


def TY(n: int) -> Term:
    return Term("type", None, n)


def U(n: int) -> Term:
    return Term("unit", None, n)


def M(text: str) -> Term:
    return Term("measurement", None, text)


def V(op: str, n: float) -> Term:
    return Term("value", op, n)


GOOD: list[tuple[str, Node]] = [
    # the contract's examples
    ("(@1or@2)", Or((B(1), B(2)))),
    ("(@3)and(:floor = 2)and($17or$18)", And((B(3), F("=", 2), Or((R(17), R(18)))))),
    ("(@1)and(#5or#9)and(:type 2 or :type 3)", And((B(1), Or((T(5), T(9))), Or((TY(2), TY(3)))))),
    ("(@1or@2)and(:floor = 3)", And((Or((B(1), B(2))), F("=", 3)))),
    ("not#4", Not(T(4))),
    ("~>80", V(">", 80)),
    ("~ <= 0.5", V("<=", 0.5)),
    (":measurement 'proportion open'", M("proportion open")),
    (":type 2 or :type 3", Or((TY(2), TY(3)))),
    # every term
    ("@1", B(1)),
    ("#12", T(12)),
    ("$17", R(17)),
    ("%3", D(3)),
    ("*2147483647", P(2147483647)),
    (":type 4", TY(4)),
    (":unit 4", U(4)),
    (":measurement 'temperature'", M("temperature")),
    # every operator, for :floor and ~
    (":floor = 3", F("=", 3)),
    (":floor != 3", F("!=", 3)),
    (":floor < 3", F("<", 3)),
    (":floor > 3", F(">", 3)),
    (":floor <= 3", F("<=", 3)),
    (":floor >= -1", F(">=", -1)),
    (":floor=-2", F("=", -2)),
    ("~=1", V("=", 1)),
    ("~!=0", V("!=", 0)),
    ("~<-3.25", V("<", -3.25)),
    ("~>.5", V(">", 0.5)),
    ("~<=10.", V("<=", 10.0)),
    ("~ >= 72", V(">=", 72)),
    # precedence, nesting, flattening
    ("@1 and @2 or @3", Or((And((B(1), B(2))), B(3)))),
    ("@1 or @2 and @3", Or((B(1), And((B(2), B(3)))))),
    ("@1 and (@2 and @3)", And((B(1), B(2), B(3)))),
    ("(@1 or @2) or (@3 or @4)", Or((B(1), B(2), B(3), B(4)))),
    ("not not @1", Not(Not(B(1)))),
    ("not (@1 or @2) and #3", And((Not(Or((B(1), B(2)))), T(3)))),
    ("((((@1))))", B(1)),
    ("@1 and not (#2 or not $3)", And((B(1), Not(Or((T(2), Not(R(3)))))))),
    # no spaces anywhere, and spaces everywhere
    ("@1andnot#2", And((B(1), Not(T(2))))),
    ("@1or#2ornot$3", Or((B(1), T(2), Not(R(3))))),
    ("(:floor=3)and(~>80)", And((F("=", 3), V(">", 80)))),
    ("  @ 1\tand\n# 2  ", And((B(1), T(2)))),
    (":measurement'temperature'and@1", And((M("temperature"), B(1)))),
    # measurements with quotes, unicode, nothing
    (":measurement 'it''s'", M("it's")),
    (":measurement 'a''; DROP TABLE points; --'", M("a'; DROP TABLE points; --")),
    (":measurement 'température ✓'", M("température ✓")),
    (":measurement ''", M("")),
    # ids with leading zeros
    ("@007", B(7)),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_a_good_search_parses_to_its_tree(text: str, expected: Node) -> None:
    assert parse(text) == expected
    assert parse(render(expected)) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_no_search_or_a_blank_one_means_everything(text: str | None) -> None:
    assert parse(text) is None
    assert parse(text, "buildings") is None


def test_terms_and_nots_carry_their_1_based_position() -> None:
    node = parse("@1 and not  :floor >= 2")
    assert isinstance(node, And)
    first, negated = node.items
    assert isinstance(first, Term) and first.pos == 1
    assert isinstance(negated, Not) and negated.pos == 8
    assert isinstance(negated.item, Term) and negated.item.pos == 13


BAD: list[tuple[str, int, str, str]] = [
    # (search, position, token, the whole message)
    ("@1 and :floor 3", 8, ":floor 3", "search: unexpected ':floor 3' at 8; write ':floor = 3'"),
    (":floor", 1, ":floor", "search: unexpected ':floor' at 1; write a comparison such as"
     " ':floor = 3' (an operator = != < > <= >=, then a number)"),
    (":floor =", 1, ":floor =", "search: unexpected ':floor =' at 1; write a floor after it:"
     " ':floor = 3'"),
    (":floor == 3", 1, ":floor ==", "search: unexpected ':floor ==' at 1; write '=' for '=='"),
    (":floor = 1.5", 1, ":floor = 1.5", "search: unexpected ':floor = 1.5' at 1; a floor is a"
     " whole number: ':floor = 3'"),
    (":unit 'x'", 1, ":unit 'x'", "search: unexpected \":unit 'x'\" at 1; :unit takes a unit id:"
     " write ':unit 4' (ids at /api/units)"),
    (":type 'Float'", 1, ":type 'Float'", "search: unexpected \":type 'Float'\" at 1; :type takes"
     " a type id: write ':type 3' (ids at /api/types)"),
    (":type = 2", 1, ":type = 2", "search: unexpected ':type = 2' at 1; write ':type 2' (no"
     " operator; ids at /api/types)"),
    (":measurement temperature", 1, ":measurement temperature", "search: unexpected"
     " ':measurement temperature' at 1; quote it: \":measurement 'temperature'\""),
    ("#2 and :measurement proportion open", 8, ":measurement proportion open", "search:"
     " unexpected ':measurement proportion open' at 8; quote it:"
     " \":measurement 'proportion open'\""),
    (':measurement "temperature"', 14, '"', "search: unexpected '\"' at 14; quote text with"
     " single quotes: :measurement 'temperature'"),
    (":measurement 'open", 14, "'open", "search: unexpected \"'open\" at 14; the quote is not"
     " closed: end the text with ' (and write '' for a quote inside it)"),
    (":foo = 3", 1, ":foo", "search: unknown ':foo' at 1; write :floor, :type, :unit or"
     " :measurement"),
    (":Floor = 3", 1, ":Floor", "search: unexpected ':Floor' at 1; write ':floor' (lower case)"),
    (": floor = 3", 1, ":", "search: unexpected ':' at 1; write :floor, :type, :unit or"
     " :measurement (no space after ':')"),
    ("@1 AND @2", 4, "AND", "search: unexpected 'AND' at 4; write 'and' (lower case)"),
    ("@1 Or @2", 4, "Or", "search: unexpected 'Or' at 4; write 'or' (lower case)"),
    ("NOT @2", 1, "NOT", "search: unexpected 'NOT' at 1; write 'not' (lower case)"),
    ("@1 && @2", 4, "&&", "search: unexpected '&&' at 4; write 'and'"),
    ("@1 || @2", 4, "||", "search: unexpected '||' at 4; write 'or'"),
    ("!@1", 1, "!", "search: unexpected '!' at 1; write 'not'"),
    ("@", 1, "@", "search: unexpected '@' at 1; write a building id after it: '@1'"),
    ("@x", 1, "@x", "search: unexpected '@x' at 1; write a building id after it: '@1'"),
    ("#2 or @ and", 7, "@", "search: unexpected '@' at 7; write a building id after it: '@1'"),
    ("@0", 1, "@0", "search: unexpected '@0' at 1; a building id is from 1 to 2147483647: '@1'"),
    ("$2147483648", 1, "$2147483648", "search: unexpected '$2147483648' at 1; a room id is from"
     " 1 to 2147483647: '$1'"),
    ("%1.5", 1, "%1.5", "search: unexpected '%1.5' at 1; a device id is a whole number: '%1'"),
    ("(@1 or @2", 1, "(", "search: unclosed '(' at 1; write ')' after '@1 or @2'"),
    ("@1 or @2)", 9, ")", "search: unexpected ')' at 9; no '(' opens it: remove it"),
    (")", 1, ")", "search: unexpected ')' at 1; no '(' opens it: remove it"),
    ("@1 and ()", 8, "()", "search: unexpected '()' at 8; write a term inside the parentheses:"
     " '(@1)'"),
    ("@1 and", 4, "and", "search: 'and' at 4 ends the search; write a term after it"
     " ('@1 and @2') or remove it"),
    ("(@1 or)", 5, "or", "search: 'or' at 5 is followed by ')' at 7; write a term after it"
     " ('@1 or @2') or remove it"),
    ("not", 1, "not", "search: 'not' at 1 ends the search; write a term after it ('not @1') or"
     " remove it"),
    ("and @1", 1, "and", "search: unexpected 'and' at 1; write a term before it ('@1 and @2')"),
    ("@1 and or @2", 8, "or", "search: unexpected 'or' at 8; write a term between 'and' and"
     " 'or'"),
    ("@1 @2", 4, "@2", "search: unexpected '@2' at 4; write '@1 or @2' or '@1 and @2'"),
    ("(@1)(#2)", 5, "(", "search: unexpected '(' at 5; write 'and' or 'or' between '(@1)' and"
     " it"),
    ("@1 not #2", 4, "not", "search: unexpected 'not' at 4; write 'and' or 'or' between '@1' and"
     " it"),
    ("~", 1, "~", "search: unexpected '~' at 1; write a comparison such as '~>80' or"
     " '~ <= 0.5' (an operator = != < > <= >=, then a number)"),
    ("~>", 1, "~>", "search: unexpected '~>' at 1; write a number after it: '~>80'"),
    ("~>abc", 1, "~>abc", "search: unexpected '~>abc' at 1; write a number after it: '~>80'"),
    ("~80", 1, "~80", "search: unexpected '~80' at 1; write '~=80' or '~>80'"),
    ("~>1" + "0" * 400, 1, "~>1" + "0" * 400, "search: unexpected '~>1" + "0" * 57 + "…' at 1;"
     " the number is too large: '~>80'"),
    ("'temperature'", 1, "'temperature'", "search: unexpected \"'temperature'\" at 1; quoted"
     " text goes after :measurement: \":measurement 'temperature'\""),
    ("3", 1, "3", "search: unexpected '3' at 1; a number alone is not a term: write '@3'"
     " (building), '#3' (tag), '$3' (room), '%3' (device) or '*3' (point)"),
    ("@1 = 2", 4, "=", "search: unexpected '=' at 4; an operator goes after :floor or ~:"
     " ':floor = 3', '~=80'"),
    ("@1; DROP TABLE points", 3, ";", "search: unexpected ';' at 3; a search is terms joined by"
     " and, or, not: remove it"),
    ("@1 -- comment", 4, "--", "search: unexpected '--' at 4; a search has no comments: remove"
     " it"),
    ("@1 /* x */", 4, "/*", "search: unexpected '/*' at 4; a search has no comments: remove it"),
    ("@1 or \x00", 7, "\x00", "search: unexpected '\\x00' at 7; control characters (U+0000) are"
     " not allowed: remove it"),
    ("@1\x1b", 3, "\x1b", "search: unexpected '\\x1b' at 3; control characters (U+001B) are not"
     " allowed: remove it"),
    (":measurement 'a\x07'", 16, "\x07", "search: unexpected '\\x07' at 16; quoted text cannot"
     " hold control characters"),
    ("@1 or é", 7, "é", "search: unexpected 'é' at 7; outside quotes write only ASCII: terms,"
     " numbers, and, or, not"),
    ("@\u0661", 1, "@\u0661", "search: unexpected '@\u0661' at 1; write a building id after it:"
     " '@1'"),
    ("@1 xor @2", 4, "xor", "search: unexpected 'xor' at 4; write terms such as '@1', '#2' or"
     " ':floor = 3' joined by and, or, not"),
    ("@1 ‘x’", 4, "‘", "search: unexpected '‘' at 4; quote text with straight single quotes:"
     " :measurement 'temperature'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "position", "token", "message"), BAD, ids=[b[0][:40] for b in BAD]
)
def test_a_bad_search_names_the_position_the_token_and_the_fix(
    text: str, position: int, token: str, message: str
) -> None:
    with pytest.raises(SearchError) as caught:
        parse(text)
    assert (caught.value.position, caught.value.token, str(caught.value)) == (
        position,
        token,
        message,
    )
    assert isinstance(caught.value, ValueError)


NOT_ALLOWED = [
    ("buildings", "not $3", 5, "$3", "search: '$3' at 5 is not allowed on /api/buildings;"
     " there: @N, #N"),
    ("floors", "@1 and :floor = 2", 8, ":floor = 2", "search: ':floor = 2' at 8 is not allowed on"
     " /api/floors; there: @N, #N"),
    ("rooms", "@1 and (%4 or $2)", 9, "%4", "search: '%4' at 9 is not allowed on /api/rooms;"
     " there: @N, #N, $N, :floor OP N"),
    ("devices", "*7", 1, "*7", "search: '*7' at 1 is not allowed on /api/devices; there: @N,"
     " #N, $N, %N, :floor OP N"),
    ("points", "#1 and ~ > 80", 8, "~ > 80", "search: '~ > 80' at 8 is not allowed on"
     " /api/points; there: @N, #N, $N, %N, *N, :floor OP N, :type N, :unit N,"
     " :measurement 'text'"),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "text", "position", "token", "message"), NOT_ALLOWED)
def test_a_term_the_endpoint_does_not_allow_is_named_with_what_is_allowed_there(
    endpoint: str, text: str, position: int, token: str, message: str
) -> None:
    with pytest.raises(SearchError) as caught:
        parse(text, endpoint)
    assert (caught.value.position, caught.value.token, str(caught.value)) == (
        position,
        token,
        message,
    )
    assert parse(text, "values") is not None  # the same search is fine where it is allowed


def test_each_endpoint_allows_exactly_its_kinds() -> None:
    every = "@1 and #2 and $3 and %4 and *5 and :floor = 6 and :type 7 and :unit 8 and"
    every += " :measurement 'x' and ~>9"
    assert kinds(parse(every)) == ALLOWED["values"]
    assert ALLOWED["values"] == ALLOWED["points"] | {"value"}
    assert ALLOWED["buildings"] == ALLOWED["floors"] == {"building", "tag"}
    assert ALLOWED["rooms"] == {"building", "tag", "room", "floor"}
    assert ALLOWED["devices"] == ALLOWED["rooms"] | {"device"}
    assert parse("(@1or@2)and(:floor = 3)", "rooms") is not None
    with pytest.raises(ValueError, match="no such endpoint"):
        parse("@1", "floor")


def test_kinds_lists_the_terms_a_search_uses() -> None:
    assert kinds(None) == set()
    assert kinds(parse("@1 and not (#2 or :floor = 3)")) == {"building", "tag", "floor"}


def test_the_first_problem_from_the_left_is_the_one_named() -> None:
    with pytest.raises(SearchError) as caught:
        parse("@1 @2 and ;")
    assert caught.value.position == 4


def test_the_length_limit_is_65536_characters() -> None:
    fits = "@1" + " " * (MAX_LENGTH - 2)
    assert parse(fits) == B(1)
    with pytest.raises(SearchError) as caught:
        parse(fits + " ")
    assert caught.value.position == MAX_LENGTH + 1
    assert str(caught.value) == (
        "search: too long at 65537 (65,537 characters); write at most 65,536 — split it into"
        " several searches"
    )
    long_but_fine = " or ".join(f"*{n}" for n in range(1_000_000, 1_000_000 + MAX_TERMS))
    node = parse(long_but_fine)
    assert isinstance(node, Or) and len(node.items) == MAX_TERMS


def test_a_search_of_more_than_1000_terms_is_refused_at_the_first_too_many() -> None:
    assert MAX_TERMS == 1_000
    with pytest.raises(SearchError) as caught:
        parse(" and ".join(["#1"] * 9_000), "buildings")  # 62 KB: refused after 1,001 terms
    assert caught.value.position == len("#1 and ") * MAX_TERMS + 1
    assert str(caught.value) == (
        f"search: '#1' at {caught.value.position} is one of more than 1,000 terms; write at most"
        " 1,000 — split it into several searches"
    )


@pytest.mark.parametrize(("opening", "width"), [("(", 1), ("not ", 4)])
def test_nesting_is_limited_to_64_parentheses_and_nots(opening: str, width: int) -> None:
    def nested(depth: int) -> str:
        return opening * depth + "@1" + (")" * depth if opening == "(" else "")

    assert parse(nested(MAX_DEPTH)) is not None
    with pytest.raises(SearchError) as caught:
        parse(nested(MAX_DEPTH + 1))
    assert caught.value.position == MAX_DEPTH * width + 1
    assert caught.value.token == opening.strip()
    assert "nests deeper than 64" in str(caught.value)
    with pytest.raises(SearchError):
        parse(nested(10_000))  # no RecursionError


# --- properties ---------------------------------------------------------------------------

ids = st.integers(1, 2**31 - 1)
ops = st.sampled_from(["=", "!=", "<", ">", "<=", ">="])
numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
)
quoted_text = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=20)
terms = st.one_of(
    st.builds(Term, st.sampled_from(["building", "tag", "room", "device", "point", "type", "unit"]),
              st.none(), ids),
    st.builds(Term, st.just("floor"), ops, st.integers(-(2**31), 2**31 - 1)),
    st.builds(Term, st.just("measurement"), st.none(), quoted_text),
    st.builds(Term, st.just("value"), ops, numbers),
)  # fmt: skip


def _flat(kind: type[And] | type[Or], items: list[Node]) -> Node:
    return kind(tuple(x for i in items for x in (i.items if isinstance(i, kind) else (i,))))


def _extend(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=4).map(lambda xs: _flat(And, xs)),
        st.lists(inner, min_size=2, max_size=4).map(lambda xs: _flat(Or, xs)),
    )


trees: st.SearchStrategy[Node] = st.recursive(terms, _extend, max_leaves=12)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_render_then_parse_gives_back_the_same_tree(tree: Node) -> None:
    text = render(tree)
    assert parse(text) == tree
    assert render(parse(text)) == text


_pieces = st.sampled_from(
    [*"@#$%*:~()'=!<>-.;&|/\"\\ \t\n\x00é0123456789", "and", "or", "not", "AND", ":floor",
     ":type", ":unit", ":measurement", ":foo", "'a''b'", "''", "99999999999", "--", "/*"]
)  # fmt: skip


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(_pieces, max_size=40).map("".join)))
def test_any_text_parses_or_raises_a_search_error_and_nothing_else(text: str) -> None:
    try:
        node = parse(text)
    except SearchError as exc:
        assert str(exc).startswith("search: ")
        assert 1 <= exc.position <= len(text) + 1
        assert exc.token == "" or exc.token in text
        return
    assert node is None or parse(render(node)) == node


def test_the_search_module_imports_only_the_standard_library() -> None:
    # search.py and its tokens module, and errors.py (the modules of ours they import)
    for module in (search, search_tokens, errors):
        tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
        imported = {
            (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
            if not (
                isinstance(node, ast.ImportFrom)
                and node.module in (search_tokens.__name__, errors.__name__)
            )
        }
        assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
