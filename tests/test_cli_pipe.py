"""A command piped into `head` ends quietly when head leaves, as Unix tools do: the boundary must
not report the closed pipe as a file the system refused (a README example printed that)."""

from __future__ import annotations

import subprocess
import sys

COMMAND = """
import click
from energy_ingest.cli.boundary import friendly

@click.command()
@friendly
def lines():
    for i in range(200_000):  # more than a pipe holds: the write after head exits fails
        click.echo(i)

lines()
"""


def test_a_command_piped_into_head_prints_no_error() -> None:
    done = subprocess.run(  # head reads one line and closes the pipe
        f"\"{sys.executable}\" -c '{COMMAND}' | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "0\n"
    assert done.stderr == ""
