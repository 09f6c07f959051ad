"""The pages' static files (energy_api/ui/assets.py): the vendored copies are the ones the README
vouches for, every file a page links is in the manifest and served, names follow content, and
`publish` fills nginx's folder (nginx/energy.conf `/static/`; tests/test_deploy_nginx.py serves
it through the real nginx)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from helpers import Linked

from energy_api import create_app
from energy_api.ui import PAGES, assets
from energy_ingest.config import Settings

ROOT = Path(__file__).resolve().parent.parent
VENDOR = assets.STATIC / "vendor"
IMMUTABLE = "public, max-age=31536000, immutable"


def vendored_table() -> dict[str, str]:
    """`folder/file` → sha256, from the fenced block of vendor/README.md."""
    text = (VENDOR / "README.md").read_text()
    (block,) = re.findall(r"^```\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    table = {}
    for line in block.splitlines():
        row = re.fullmatch(r"([0-9a-f]{64})  (\S+)", line)
        assert row, line
        table[row.group(2)] = row.group(1)
    return table


def test_every_vendored_file_is_the_one_the_readme_lists_byte_for_byte() -> None:
    table = vendored_table()
    on_disk = {
        path.relative_to(VENDOR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in VENDOR.glob("*/*")
    }
    assert on_disk == table
    assert len(table) == 8


def test_each_vendored_library_keeps_its_licence() -> None:
    folders = [path for path in VENDOR.iterdir() if path.is_dir()]
    assert sorted(path.name for path in folders) == ["swagger-ui-5.36.0", "uplot-1.6.32"]
    for folder in folders:
        assert (folder / "LICENSE").stat().st_size > 500, folder.name
        assert f"`{folder.name}/`" in (VENDOR / "README.md").read_text(), folder.name


def test_the_wheel_ships_every_static_file() -> None:
    """`pip install .` (Makefile-prod) copies only what pyproject's package-data globs match, and
    production publishes from that copy: a file they miss would be a 404 on every page."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["energy_api.ui"]
    package = assets.STATIC.parent
    shipped = {
        path.relative_to(assets.STATIC).as_posix()
        for pattern in globs
        for path in package.glob(pattern)
        if path.is_file() and path.is_relative_to(assets.STATIC)
    }
    assert set(assets.manifest()) <= shipped


@pytest.fixture
def app() -> Iterator[Flask]:
    """The API app with no database: the pages and /static/ never need one."""
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/none")
    app = create_app(settings)
    yield app
    app.extensions["energy_db"].close()


def test_every_file_a_page_links_is_in_the_manifest_and_served_for_a_year(app: Flask) -> None:
    client = app.test_client()
    by_url = {assets.url(logical): logical for logical in assets.manifest()}
    for _, path, _ in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        linked = Linked(page.get_data(as_text=True)).urls
        assert assets.url("app.css") in linked and assets.url("common.js") in linked, path
        for url in linked:
            assert url in by_url, (path, url)
            with client.get(url) as reply:
                assert reply.status_code == 200, url
                assert reply.headers["Cache-Control"] == IMMUTABLE, url
                assert reply.headers["X-Content-Type-Options"] == "nosniff"
                assert reply.get_data() == (assets.STATIC / by_url[url]).read_bytes(), url


def test_the_app_serves_no_name_but_the_fingerprinted_ones(app: Flask) -> None:
    client = app.test_client()
    for path in ("/static/app.css", "/static/app.000000000000.css", "/static/vendor/README.md"):
        reply = client.get(path)
        assert reply.status_code == 404 and reply.mimetype == "application/json", path


def test_a_name_is_the_files_sha256_and_changes_with_its_content() -> None:
    data = (assets.STATIC / "app.css").read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:12]
    assert assets.manifest()["app.css"] == f"app.{digest}.css"
    assert assets.url("app.css") == f"/static/app.{digest}.css"
    assert (
        assets.fingerprinted("vendor/uplot-1.6.32/uPlot.min.css", b"x")
        == f"vendor/uplot-1.6.32/uPlot.min.{hashlib.sha256(b'x').hexdigest()[:12]}.css"
    )
    assert assets.fingerprinted("vendor/x/LICENSE", b"x").startswith("vendor/x/LICENSE.")
    with pytest.raises(KeyError):
        assets.url("no-such.css")  # a template naming a missing file fails at once


@pytest.fixture
def edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of static/ in which the next release will change app.css; the manifest reads it."""
    copy = tmp_path / "static"
    shutil.copytree(assets.STATIC, copy)
    monkeypatch.setattr(assets, "STATIC", copy)
    assets.manifest.cache_clear()
    assets.files.cache_clear()
    yield copy
    assets.manifest.cache_clear()  # read again from the real folder
    assets.files.cache_clear()


def edit_app_css(copy: Path) -> None:
    with open(copy / "app.css", "a") as css:
        css.write("\n.new { color: red; }\n")
    assets.manifest.cache_clear()
    assets.files.cache_clear()


def test_only_the_edited_files_name_changes(edited: Path) -> None:
    before = dict(assets.manifest())
    edit_app_css(edited)
    after = assets.manifest()
    assert after["app.css"] != before["app.css"]
    assert {k: v for k, v in after.items() if k != "app.css"} == {
        k: v for k, v in before.items() if k != "app.css"
    }


def tree(folder: Path) -> dict[str, int]:
    """Every file and folder under `folder` → its permission bits."""
    return {
        path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in folder.rglob("*")
    }


def test_publish_writes_each_file_once_world_readable_and_keeps_earlier_names(
    edited: Path, tmp_path: Path
) -> None:
    target = tmp_path / "published" / "static"
    old_umask = os.umask(0o077)  # whoever publishes, nginx's www-data must read
    try:
        first = assets.publish(target)
    finally:
        os.umask(old_umask)
    assert sorted(first) == sorted(assets.files())
    for served, source in assets.files().items():
        assert (target / served).read_bytes() == source.read_bytes()
    modes = tree(target)
    assert set(modes) == set(first) | {"vendor", "vendor/uplot-1.6.32", "vendor/swagger-ui-5.36.0"}
    for name, mode in modes.items():
        assert mode == (0o755 if (target / name).is_dir() else 0o644), (name, oct(mode))
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert not list(target.rglob(".*")), "no temporary file is left"

    assert assets.publish(target) == []  # again: nothing to write

    old_css = assets.manifest()["app.css"]
    edit_app_css(edited)
    assert assets.publish(target) == [assets.manifest()["app.css"]]
    assert (target / old_css).exists(), "a page loaded before the deploy still finds it"
    assert len(tree(target)) == len(modes) + 1


def test_publish_removes_the_half_copies_a_crashed_run_left_and_nothing_else(
    tmp_path: Path,
) -> None:
    """A crash between copy and rename leaves `.name.tmp` (never served: nginx answers a hidden
    name 404, tests/test_deploy_nginx.py) and no `name`: the next run writes `name` and removes
    every such half-copy, in any folder, an earlier release's too; other files stay."""
    target = tmp_path / "static"
    assets.publish(target)
    css = assets.manifest()["app.css"]
    plot = assets.manifest()["vendor/uplot-1.6.32/uPlot.iife.min.js"]
    (target / css).unlink()
    (target / f".{css}.tmp").write_bytes(b"/* half a fil")
    (target / plot).with_name(f".{(target / plot).name}.tmp").write_bytes(b"half")
    (target / "vendor" / ".uPlot.0123456789ab.js.tmp").write_bytes(b"an earlier release's")
    (target / ".keep").write_bytes(b"")  # not publish's: left alone
    (target / "app.0123456789ab.css").write_bytes(b"/* an earlier release */")
    assert assets.publish(target) == [css]
    assert (target / css).read_bytes() == (assets.STATIC / "app.css").read_bytes()
    hidden = sorted(p.relative_to(target).as_posix() for p in target.rglob(".*"))
    assert hidden == [".keep"]
    assert (target / "app.0123456789ab.css").exists()


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "energy_api.ui.publish", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_command_publishes_and_says_how_many_files_were_new(tmp_path: Path) -> None:
    count = len(assets.files())
    first = run_module(str(tmp_path))
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == f"{tmp_path}: {count} new files, 0 already there\n"
    again = run_module(str(tmp_path))
    assert again.stdout == f"{tmp_path}: 0 new files, {count} already there\n"
    published = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert published == set(assets.files())


def test_the_command_without_a_folder_prints_its_usage_and_exits_2() -> None:
    result = run_module()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "usage: python -m energy_api.ui.publish DIRECTORY\n"


def test_a_folder_that_cannot_be_written_is_named_without_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    result = run_module(str(blocker / "static"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"Error: cannot publish into {blocker / 'static'}: "), (
        result.stderr
    )
    assert "Not a directory" in result.stderr and "Traceback" not in result.stderr
    assert blocker.read_text() == "not a folder\n"  # nothing lost
