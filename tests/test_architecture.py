"""The code's shape, checked: sizes a reader can hold, and no module reaching into another's
private names. Layers and cycles are import-linter's contracts (pyproject.toml, `make lint`)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    p for package in ("energy_ingest", "energy_api") for p in (ROOT / package).rglob("*.py")
)
MAX_CLASS_LINES = 250
MAX_MODULE_LINES = 450
MAX_FOLDER_MODULES = 12  # not counting __init__.py and __main__.py


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 50


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_the_size_limit_nor_any_class_in_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"split {path.name} along a seam"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"class {node.name} is {size} lines"


def test_no_folder_holds_more_than_a_dozen_modules() -> None:
    folders = Counter(
        p.parent.relative_to(ROOT) for p in MODULES if p.name not in ("__init__.py", "__main__.py")
    )
    crowded = {str(folder): n for folder, n in folders.items() if n > MAX_FOLDER_MODULES}
    assert crowded == {}, "give the concern its own sub-package"


def _dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_private_name_of_another(path: Path) -> None:
    here = _dotted(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    reached = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            source = node.module or ""
            if node.level:  # relative: from the package, `level - 1` packages up
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, source] if source else base)
            if not source.startswith(("energy_ingest", "energy_api")) or source == here:
                continue
            reached += [f"{source}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert reached == [], "make the name public where it is defined, or move the code to it"
