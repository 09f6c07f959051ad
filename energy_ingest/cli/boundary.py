"""The commands' one error boundary: what reaches the user is one line, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from energy_ingest.errors import EnergyError, first_line

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """For a command: our own errors become `Error: <what, where, what to do>` and exit status 1,
    and so do a file the system refused (naming it) and a database error (psycopg's, once
    something loaded it) — never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EnergyError as exc:
            raise click.ClickException(str(exc)) from exc
        except BrokenPipeError:
            raise  # the reader left (`| head`): click ends quietly, as Unix tools do
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(
                f"{where}{exc.strerror or exc}; check the path and its permissions, then run this"
                " again"
            ) from exc
        except Exception as exc:
            psycopg = sys.modules.get("psycopg")  # loaded by whatever talked to the database
            if psycopg is None or not isinstance(exc, psycopg.Error):
                raise
            raise click.ClickException(
                f"the database refused: {first_line(exc)} (its transaction was rolled back)"
            ) from exc

    return wrapper  # type: ignore[return-value]
