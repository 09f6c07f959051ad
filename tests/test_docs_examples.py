"""Every console example of README.md and docs/*.md runs against the demo campus and prints what
the page shows (tests/docs_examples.py says how a block is run and how `…` marks a line that
depends on the moment). A failure shows the command, what the page shows and what it printed;
`make docs-examples` writes the real outputs back into the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from docs_examples import (
    PAGES,
    ROOT,
    System,
    blocks,
    differences,
    matches,
    merged,
    moment,
    system,
)

pytestmark = [pytest.mark.slow, pytest.mark.daemon]


@pytest.fixture(scope="module")
def demo_system() -> Iterator[System]:
    with system() as running:
        yield running


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_console_example_prints_what_the_page_shows(page: Path, demo_system: System) -> None:
    found = differences(page, demo_system)
    assert not found, "\n\n".join(found)


def test_the_pages_have_examples_to_run() -> None:
    commands = [c for page in PAGES for block in blocks(page) for c in block.commands]
    print(f"{len(commands)} console commands in {len(PAGES)} pages")
    assert len(commands) > 50
    assert all(block.commands for page in PAGES for block in blocks(page))


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["a", "c"], False),
        (["at … INFO x"], ["at 2026-12-07 03:00:01-06:00 INFO x"], True),
        (["at … INFO x"], ["at 2026 WARNING x"], False),
        (["first", "…", "last"], ["first", "1", "2", "last"], True),
        (["first", "…", "last"], ["first", "last"], True),
        (["first", "…"], ["second"], False),
        (["a.b"], ["axb"], False),  # the shown text is literal, not a pattern
    ],
)
def test_the_marks_match_what_they_say_and_nothing_else(
    expected: list[str], actual: list[str], ok: bool
) -> None:
    assert matches(expected, actual) is ok


def test_an_update_keeps_the_marks_that_still_match() -> None:
    expected = ["ingested at …", "1 file"]
    assert merged(expected, ["ingested at 10:00", "2 files"]) == ["ingested at …", "2 files"]
    assert merged(expected, ["ingested at 10:00", "1 file"]) == expected


def test_an_update_marks_what_depends_on_the_moment_and_nothing_else() -> None:
    now = 1796700000.0  # 2026-12-07
    line = (
        "2026-12-06 22:33:28-06:00  ingested  siemens  evans_12-05-26_10-00.csv  288 readings, "
        "0.27 s, at 1796690000 (pid 12712 on vm); data 2025-08-05T12:00:00-05:00 1754413200"
    )
    assert moment(line, now) == (
        "…  ingested  siemens  evans_….csv  288 readings, … s, at … (pid …); data "
        "2025-08-05T12:00:00-05:00 1754413200"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_example_shows_a_moment_unmarked(page: Path) -> None:
    """A time of today in a page's output matches today only: it must be a mark (an --update
    writes the marks; this catches a page written or kept by hand)."""
    unmarked = [
        f"{page.relative_to(ROOT)}:{command.line}: {line}"
        for block in blocks(page)
        for command in block.commands
        for line in command.expected
        if moment(line) != line
    ]
    assert not unmarked, "write … for what depends on the moment:\n" + "\n".join(unmarked)
