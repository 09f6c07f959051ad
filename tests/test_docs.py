"""The README and docs/ against the code: every command, option, setting, path and API route.

Modelled on sqlite-utils' tests/test_docs.py. Each missing item is its own failure, whose message
says what is missing and where to add it. No database, no network, no Graphviz needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from energy_api import create_app, ui
from energy_ingest.cli import main
from energy_ingest.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
API_DOC = ROOT / "docs" / "api.md"


def text_of(pages: list[Path]) -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


DOCS = text_of(PAGES)


# --- commands and options -------------------------------------------------------------------


def commands(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    """Every command of the click tree, as the path a user types (`energy-ingest devdb start`)."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


COMMANDS = dict(commands(main, "energy-ingest"))
OPTIONS = [
    (path, option)
    for path, command in COMMANDS.items()
    for param in command.params
    if isinstance(param, click.Option) and "--help" not in param.opts
    for option in param.opts
]


def test_the_cli_has_commands_and_options_to_check() -> None:
    assert "energy-ingest devdb start" in COMMANDS
    assert ("energy-ingest status", "--json") in OPTIONS


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_is_documented(path: str) -> None:
    assert re.search(re.escape(path) + r"(?![\w-])", DOCS), (
        f"`{path}` appears nowhere in README.md or docs/*.md: add a row for it to the command "
        "table in docs/daemon.md (section 'The command line')"
    )


@pytest.mark.parametrize(("path", "option"), OPTIONS)
def test_every_option_is_documented_beside_its_command(path: str, option: str) -> None:
    lines = [
        line
        for line in DOCS.splitlines()
        if re.search(re.escape(path) + r"(?![\w-])", line)
        and re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", line)
    ]
    assert lines, (
        f"option {option} of `{path}` is not documented: no line of README.md or docs/*.md names "
        f"both; add it to `{path}`'s row of the command table in docs/daemon.md"
    )


# --- settings ---------------------------------------------------------------------------------


class _Recorder(dict[str, str]):
    """An empty environment that remembers every variable Settings.from_env asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.append(key)
        return default

    def __getitem__(self, key: str) -> str:
        self.asked.append(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.asked.append(str(key))
        return False


def settings_variables() -> list[str]:
    env = _Recorder()
    Settings.from_env(env)
    return [name for name in env.asked if name.startswith("ENERGY_")]


def runner_variables() -> list[str]:
    """ENERGY_* variables `make run` (scripts/run) reads itself, e.g. ENERGY_DEV_BIND."""
    script = (ROOT / "scripts" / "run").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"\$\{(ENERGY_\w+)", script)))


VARIABLES = sorted(set(settings_variables()) | set(runner_variables()))


def configuration_table_variables() -> set[str]:
    """The first cell of each row of docs/configuration.md's table."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(ENERGY_\w+)` \|", text, flags=re.MULTILINE))


def test_settings_and_the_runner_have_variables_to_check() -> None:
    assert "ENERGY_DATABASE_URL" in VARIABLES
    assert "ENERGY_DEV_BIND" in VARIABLES


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_variable_is_in_the_configuration_table(variable: str) -> None:
    assert variable in configuration_table_variables(), (
        f"{variable} is read by the code but has no row in docs/configuration.md's table: "
        f"add a row `| `{variable}` | default | meaning |`"
    )


# --- files named in the docs ------------------------------------------------------------------

# A repository path: one of these folders, not part of a longer path (/etc/systemd/…).
PATH_RE = re.compile(
    r"(?<![\w./-])((?:tests|examples|systemd|nginx|scripts|bench|docs|energy_ingest|energy_api|\.ci)"
    r"/[\w.*/-]*[\w*/])(?![\w.*/<>$-])"  # a path with a <placeholder> or $variable is no path
)
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")


def named_paths() -> Iterator[tuple[str, str]]:
    """(page, path) for every repository path in a code span, code block or link of the docs."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        code = "\n".join(re.findall(r"```.*?```|`[^`\n]+`", text, flags=re.DOTALL))
        for path in sorted(set(PATH_RE.findall(code))):
            yield page.name, path
        for target in sorted(set(LINK_RE.findall(text))):
            if not re.match(r"[a-z]+:|#", target):
                yield page.name, _from_root(page, target.partition("#")[0])


def _from_root(page: Path, target: str) -> str:
    return (page.parent / target).resolve().relative_to(ROOT).as_posix()


NAMED = sorted(set(named_paths()))


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a page: lower case, punctuation dropped, - for space."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


LINKED_ANCHORS = sorted(
    {
        (page.name, _from_root(page, target.partition("#")[0] or page.name), anchor)
        for page in PAGES
        for target in LINK_RE.findall(page.read_text(encoding="utf-8"))
        if not re.match(r"[a-z]+:", target)
        for anchor in [target.partition("#")[2]]
        if anchor
    }
)


def test_the_docs_name_paths_to_check() -> None:
    assert ("README.md", "examples/boliou1_11-30-18_02-00.csv") in NAMED


@pytest.mark.parametrize(("page", "path"), NAMED)
def test_every_path_the_docs_name_exists(page: str, path: str) -> None:
    found = list(ROOT.glob(path.rstrip("/"))) if "*" in path else [ROOT / path]
    assert any(p.exists() for p in found), (
        f"{page} names {path}, which is not in the repository: fix the path in {page} "
        "(or add the file)"
    )


# A document named in prose (`SIEMENS_INSIGHT.md`, `../shared/…`) that a reader of the repository
# cannot open is as broken as a dead link.
OTHER_DOCUMENTS = sorted(
    {
        (page.name, name)
        for page in PAGES
        for name in re.findall(
            r"(?<![\w/.-])((?:\.\./)+(?:shared[\w./-]*|[\w./-]+\.md)|[A-Z][A-Z_]+\.md)",
            page.read_text(),
        )
    }
)


def test_the_document_check_sees_names() -> None:
    assert ("README.md", "CHANGELOG.md") in OTHER_DOCUMENTS


@pytest.mark.parametrize(("page", "name"), OTHER_DOCUMENTS)
def test_every_document_the_docs_name_is_in_the_repository(page: str, name: str) -> None:
    where = (ROOT / "docs" / name) if name.startswith("..") and page != "README.md" else ROOT / name
    inside = where.resolve().is_relative_to(ROOT)
    assert inside and (where.exists() or list(ROOT.rglob(Path(name).name))), (
        f"{page} names {name}, which is not in the repository: describe what it says, "
        "or link to a file that is"
    )


@pytest.mark.parametrize(("page", "path", "anchor"), LINKED_ANCHORS)
def test_every_linked_section_exists(page: str, path: str, anchor: str) -> None:
    target = ROOT / path
    assert target.is_file() and anchor in anchors(target), (
        f"{page} links to {path}#{anchor}, but {path} has no heading with that anchor: fix the "
        f"link in {page} or the heading in {path}"
    )


# --- API routes -------------------------------------------------------------------------------


def api_routes() -> list[str]:
    app = create_app(Settings(database_url="postgresql://docs-test@127.0.0.1:1/none"))
    return sorted(
        {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v2")}
    )


ROUTES = api_routes()


def test_the_api_has_routes_to_check() -> None:
    assert "/api/v2/values" in ROUTES


@pytest.mark.parametrize("route", ROUTES)
def test_every_api_route_is_in_docs_api_md(route: str) -> None:
    static, variable, _ = route.partition("<")
    # `/api/v2/points` must not be satisfied by `/api/v2/points/<id>`, nor `/api/v2/` by any route.
    pattern = re.escape(static) + ("<" if variable else r"(?![\w./<-])")
    assert re.search(pattern, API_DOC.read_text(encoding="utf-8")), (
        f"route {route} is served by energy_api but not described in docs/api.md: add it to the "
        "table in section '## Routes'"
    )


LEGACY_DOC = ROOT / "docs" / "legacy-api.md"


def legacy_routes() -> list[str]:
    app = create_app(Settings(database_url="postgresql://docs-test@127.0.0.1:1/none"))
    return sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/")
            and not rule.rule.startswith("/api/v2")
            and rule.rule != "/api/"
        }
    )


LEGACY_ROUTES = legacy_routes()


def test_the_legacy_api_has_routes_to_check() -> None:
    assert "/api/values" in LEGACY_ROUTES and "/api/rule/<raw>/count" in LEGACY_ROUTES


@pytest.mark.parametrize("route", LEGACY_ROUTES)
def test_every_legacy_route_is_in_docs_legacy_api_md(route: str) -> None:
    # an id in a path is written as a number there: /api/rule/1/count
    pattern = r"[\s`]" + re.sub(r"<\w+>", r"\\d+", re.escape(route)) + r"[`?\s,]"
    assert re.search(pattern, LEGACY_DOC.read_text(encoding="utf-8")), (
        f"route {route} is served by energy_api.legacy but not in docs/legacy-api.md's table of "
        "legacy calls (write an id as a number, e.g. /api/rule/1/count)"
    )


# --- web pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [path for _, path, _ in ui.PAGES])
def test_every_web_page_is_in_docs_ui_md(path: str) -> None:
    assert f"| `{path}` **" in (ROOT / "docs" / "ui.md").read_text(encoding="utf-8"), (
        f"the page {path} is served by energy_api.ui but not described in docs/ui.md: add it to "
        "the table at the top"
    )


def test_the_readme_stays_one_page_a_newcomer_reads_top_to_bottom() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= 200, f"README.md has {lines} lines: move detail into docs/ (200 at most)"
