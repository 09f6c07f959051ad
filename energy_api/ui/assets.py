"""The pages' static files under fingerprinted names: `app.css` is served as `app.<hash>.css`,
the hash being the first 12 hex digits of the file's SHA-256, so a name never changes meaning and
a browser (or nginx, in production) may keep it for a year.

The API app serves them itself (`make run`, tests); in production nginx serves `/static/` from
the directory `publish` fills (Makefile-prod's `install`, through publish.py), and the API never
sees those requests:

    python -m energy_api.ui.publish /opt/energy/static

`publish` only adds files: names an earlier release published stay, so a page a browser loaded
just before a deploy still finds its scripts. It removes only what a crashed run of its own left
half-written: hidden `.name.tmp` files, which nginx never serves (a hidden name is its 404).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path, PurePosixPath

STATIC = Path(__file__).resolve().parent / "static"
SKIP = {"README.md"}  # notes for developers, not served


def fingerprinted(relative: str, data: bytes) -> str:
    """`vendor/uplot-1.6.32/uPlot.min.css` → `vendor/uplot-1.6.32/uPlot.min.<hash>.css`."""
    path = PurePosixPath(relative)
    digest = hashlib.sha256(data).hexdigest()[:12]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


@functools.cache
def manifest() -> dict[str, str]:
    """Logical name → fingerprinted name, for every static file (read once per process)."""
    names = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.name not in SKIP:
            relative = path.relative_to(STATIC).as_posix()
            names[relative] = fingerprinted(relative, path.read_bytes())
    return names


@functools.cache
def files() -> dict[str, Path]:
    """Fingerprinted name → the file on disk."""
    return {served: STATIC / logical for logical, served in manifest().items()}


def url(logical: str) -> str:
    """The path a page links to; a name that is not a static file is a bug, raised at once."""
    return f"/static/{manifest()[logical]}"


def publish(target: Path) -> list[str]:
    """Copy every file to `target` under its fingerprinted name; the names written.

    nginx's workers (www-data) read them, whatever the umask of whoever publishes: files 0644,
    and every folder from `target` down 0755. A file already there is left alone (same name, same
    bytes), and no published file is ever removed; the hidden copies a crash left are.
    """
    for stale in target.rglob(".*.tmp") if target.is_dir() else ():
        if stale.is_file():
            stale.unlink()
    written = []
    for served, source in files().items():
        dest = target / served
        if dest.exists():
            continue
        folder = target
        for part in ("", *PurePosixPath(served).parent.parts):
            folder = folder / part
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o755)
        # Copied under a hidden name, then renamed: nginx never serves half a file.
        tmp = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        written.append(served)
    return written
