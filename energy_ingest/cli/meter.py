"""How far a long command got (`import`, `rollups rebuild`): on a terminal a bar that keeps the
last line, log lines printed above it (as pip and cargo do); otherwise the label once and then a
plain line every ENERGY_PROGRESS_SECONDS, so that a long run in a pipe or a log is never silent."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

# The bar's line must fit 80 columns (a wrapped line cannot be redrawn in place): the label, a
# bar of BAR_WIDTH, the percentage and the ETA take 55, what is being done at most SHOW_NAME.
BAR_WIDTH = 24
SHOW_NAME = 24
CLEAR_LINE = "\r\x1b[K"


class Meter:
    """`to(done, what)` as the work goes on; `text(done, what)` says how far, for the plain line."""

    def __init__(
        self, bar: ProgressBar[Any], every: float, text: Callable[[int, str], str]
    ) -> None:
        self.bar = bar
        self.every = every
        self.text = text
        self.on_terminal = bar.file.isatty()
        self.started = time.monotonic()
        self._next = self.started + every

    def to(self, done: int, what: str = "") -> None:
        if self.on_terminal:
            self.bar.update(max(0, done - self.bar.pos), _short(what))
            return
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every
            seconds = now - self.started
            click.echo(f"{self.bar.label}: {self.text(done, what)}, {seconds:.0f} s", err=True)


@contextlib.contextmanager
def meter(label: str, total: int, every: float, text: Callable[[int, str], str]) -> Iterator[Meter]:
    """A Meter for `total` units of work; log lines go above the bar while it is drawn."""
    bar: ProgressBar[Any]
    with (
        click.progressbar(
            length=max(total, 1),
            label=label,
            file=sys.stderr,
            width=BAR_WIDTH,
            item_show_func=lambda what: what,
        ) as bar,
        _logs_above(bar),
    ):
        yield Meter(bar, every, text)


def _short(name: str) -> str:
    return name if len(name) <= SHOW_NAME else "…" + name[1 - SHOW_NAME :]


@contextlib.contextmanager
def _logs_above(bar: ProgressBar[Any]) -> Iterator[None]:
    """On a terminal, a log line is printed above the bar, which is drawn again below it: every
    log line stays, whole, and the bar stays the last line. Off a terminal click prints only the
    bar's label, and the log lines go out as they are."""
    if not bar.file.isatty():
        yield
        return
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers[:] = [
        _AboveTheBar(bar, h) if isinstance(h, logging.StreamHandler) and h.stream is bar.file else h
        for h in kept
    ]
    try:
        yield
    finally:
        root.handlers[:] = kept


class _AboveTheBar(logging.Handler):
    """Writes each record, formatted as `handler` would, over the bar's line; redraws the bar."""

    def __init__(self, bar: ProgressBar[Any], handler: logging.Handler) -> None:
        super().__init__(handler.level)
        self.bar = bar
        self.setFormatter(handler.formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bar.file.write(CLEAR_LINE + self.format(record) + "\n")
            self.bar._last_line = None  # click redraws only a changed line; this one was wiped
            self.bar.render_progress()
        except Exception:
            self.handleError(record)
