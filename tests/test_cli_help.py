"""`energy-ingest --help` lists every command with a whole sentence, at any terminal width, and
names only commands that exist."""

from __future__ import annotations

import re
from importlib.metadata import version

import click
import pytest
from click.testing import CliRunner

from energy_ingest.cli import main

SUMMARIES = {
    (): {
        "alerts": "Show open (or resolved) alerts; --evaluate checks data health first.",
        "check": "Parse reports without a database; list what would fail.",
        "demo": "Load a demo campus (a year of trends) through the spool and daemon.",
        "devdb": "Start, stop or delete the embedded development PostgreSQL.",
        "catalog": "The point catalog: coverage, one point, apply the site file.",
        "import": "Load report files or folders directly (backfill).",
        "migrate": "Bring the database schema up to date.",
        "psql": "Run psql on the database the processes use.",
        "retention": "Drop raw readings older than ENERGY_RAW_RETENTION; keep their rollups.",
        "retry": "Move failed files back to incoming/ to try them again.",
        "rollups": "Rollups: say whether they are complete; rebuild them from readings.",
        "run": "Run the ingest daemon: watch the spool, load each file once.",
        "series": "Show each report series: cadence, last run, expected next, status.",
        "status": "Show the backlog, failed files, database and last files.",
    },
    ("devdb",): {
        "delete": "Stop the cluster and delete all its data.",
        "start": "Create or start the cluster; print its connection string.",
        "status": "Say whether the cluster runs (exit status 3 if not).",
        "stop": "Stop the cluster; its data stays.",
    },
    ("rollups",): {
        "rebuild": "Recompute rollups from readings, with a progress bar.",
        "status": "Say whether rollups are complete (exit status 3 if not).",
    },
    ("catalog",): {
        "apply": "Apply the site file: re-resolve every point in one transaction.",
        "coverage": "How much of the catalog is resolved; names no rule matches.",
        "show": "Every attribute of one point and where it came from.",
    },
}


def listed(output: str) -> dict[str, str]:
    """The `Commands:` section of a help page: name → summary, wrapped lines joined."""
    out: dict[str, str] = {}
    name = ""
    for line in output.split("Commands:\n", 1)[1].splitlines():
        if not line.strip():
            break
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            out[name] = text.strip()
        else:
            out[name] += " " + line.strip()
    return out


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _all_commands(command, (*prefix, name))
    return out


@pytest.mark.parametrize("width", [120, 80, 50])
@pytest.mark.parametrize("group", list(SUMMARIES), ids=lambda g: " ".join(("energy-ingest", *g)))
def test_help_lists_each_command_with_its_whole_summary(group: tuple[str, ...], width: int) -> None:
    result = CliRunner().invoke(main, [*group, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    summaries = listed(result.output)
    assert summaries == SUMMARIES[group]
    assert not any(text.endswith("...") for text in summaries.values())


def test_every_group_and_every_command_of_it_is_listed_with_a_summary() -> None:
    """A new command cannot slip in without a summary here (and so without a short help)."""
    groups = {c for c in [(), *_all_commands(main)] if isinstance(_command(c), click.Group)}
    assert groups == set(SUMMARIES)
    for group in groups:
        assert set(SUMMARIES[group]) == set(_command(group).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _all_commands(main), ids=" ".join)
def test_every_command_has_a_short_help_and_a_longer_description(command: tuple[str, ...]) -> None:
    cmd = _command(command)
    assert cmd.short_help and cmd.short_help.endswith(".")
    assert cmd.help and len(cmd.help) > len("Do it.")
    page = CliRunner().invoke(main, [*command, "--help"])
    assert page.exit_code == 0 and page.output.startswith("Usage: ")
    for param in cmd.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{' '.join(command)} {param.opts[0]} has no help"


def _help_texts(cmd: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every text of the tree a user reads: each command's help and short help, each option's."""
    texts = [(" ".join(path), cmd.help or ""), (" ".join(path), cmd.short_help or "")]
    texts += [(" ".join(path), p.help or "") for p in cmd.params if isinstance(p, click.Option)]
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            texts += _help_texts(sub, (*path, name))
    return texts


# A command a help text names, in backquotes: `devdb start`, `energy-ingest rollups rebuild`;
# or another program's (`make run`), which must be one of these.
QUOTED = re.compile(r"`(?:energy-ingest )?([a-z][^`]*)`")
OTHER_PROGRAMS = {"make"}


def test_every_command_a_help_text_names_exists() -> None:
    named = 0
    for where, text in _help_texts(main):
        for words in QUOTED.findall(" ".join(text.split())):
            if words.split()[0] in OTHER_PROGRAMS:
                continue
            cmd: click.Command = main
            for word in words.split():
                if not isinstance(cmd, click.Group) or word.startswith("-"):
                    break  # a command's arguments and options follow its name
                assert word in cmd.commands, f"{where or 'energy-ingest'} names `{words}`"
                cmd = cmd.commands[word]
            named += 1
    assert named > 0  # the walk reads the texts at all


def test_the_top_level_help_promises_only_what_its_commands_do() -> None:
    """`rollups` says it tells whether they are complete: `rollups status` does."""
    assert "whether they are complete" in (_command(("rollups",)).short_help or "")
    assert "status" in _command(("rollups",)).commands  # type: ignore[attr-defined]


def test_version_prints_the_installed_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"energy-ingest {version('energy')}\n"


def _command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = main
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd
