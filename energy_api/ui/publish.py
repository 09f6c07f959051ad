"""`python -m energy_api.ui.publish DIRECTORY`: copy the pages' static files into DIRECTORY under
their fingerprinted names, for nginx (Makefile-prod's `install` runs it into /opt/energy/static).

A module of its own, not a `__main__` block in assets.py: the app imports assets.py, and running
a module that its package has already imported makes runpy warn.
"""

from __future__ import annotations

import sys
from pathlib import Path

from energy_api.ui import assets


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m energy_api.ui.publish DIRECTORY", file=sys.stderr)
        return 2
    target = Path(argv[0])
    try:
        written = assets.publish(target)
    except OSError as exc:  # a folder that cannot be made or written: say which, no traceback
        where = exc.filename or target
        print(
            f"Error: cannot publish into {target}: {where}: {exc.strerror or exc}; make the "
            "folder writable by this user (Makefile-prod runs it as root) and run it again",
            file=sys.stderr,
        )
        return 1

    already = len(assets.files()) - len(written)
    print(f"{target}: {len(written)} new files, {already} already there")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
