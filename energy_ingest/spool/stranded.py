"""Files in the spool the daemon will never take (links, temporary names, outside incoming/, files
it cannot read or move), and why; and the report files a person means by a list of paths."""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from energy_ingest.spool import NOTE_SUFFIX, is_temporary, printable_name, report_name
from energy_ingest.spool.moving import interrupted


@dataclass(frozen=True)
class Stranded:
    """A file in the spool that the daemon will never take, why, and what to do about it."""

    path: Path
    why: str
    fix: str
    # A temporary name or a hidden folder: usually a copy in progress that will be renamed.
    in_progress: bool = False


def stranded_because(path: Path, st: os.stat_result, *, in_incoming: bool) -> Stranded | None:
    """Why the daemon will never take this directory entry (None: it will, now or once renamed)."""
    if stat.S_ISLNK(st.st_mode):
        return Stranded(
            path,
            "a symbolic link: the daemon never follows links",
            "copy the file itself into the spool (cp -L), then remove the link",
        )
    if not stat.S_ISREG(st.st_mode):
        return Stranded(path, "not a regular file", "remove it; only report files belong here")
    if not in_incoming:
        return Stranded(
            path,
            "outside incoming/",
            "move it into incoming/siemens/ or incoming/alc/",
        )
    if name_fix := _name_fix(path.name):
        return Stranded(path, *name_fix)
    return None


def _name_fix(name: str) -> tuple[str, str, bool] | None:
    if name.lower().endswith(NOTE_SUFFIX):
        note = "a failure note, not a report", "remove it (notes belong beside files in failed/)"
        return (*note, False)
    if is_temporary(name):
        better = report_name(name)
        fix = (
            f"once it is complete, rename it to {printable_name(better)!r}"
            if better
            else "rename it to a name without a leading dot or temporary suffix"
        )
        return "a temporary name (hidden, ~, .part, .tmp, .crdownload, .swp)", fix, True
    return None


@dataclass(frozen=True)
class Entry:
    """A regular file or something stranded, found by walking the spool without following links."""

    path: Path
    st: os.stat_result
    stranded: Stranded | None


def walk_incoming(root: Path) -> Iterator[Entry]:
    """Every entry below incoming/ (lstat: links are not followed), sorted within each folder,
    with `judge`'s verdict; and each folder this process cannot list, as stranded."""
    incoming = root / "incoming"
    unlisted: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(
        incoming, onerror=lambda exc: unlisted.append(Path(exc.filename))
    ):
        yield from _unlisted(incoming, unlisted)
        here = Path(dirpath)
        dirnames.sort()
        if not os.access(here, os.X_OK):  # names without a way to open them
            dirnames.clear()
            unlisted.append(here)
            continue
        links = [here / d for d in dirnames]  # os.walk lists links to folders as folders
        for path in links + [here / name for name in sorted(filenames)]:
            st = _lstat(path)
            if st is not None and (path.name in filenames or stat.S_ISLNK(st.st_mode)):
                yield Entry(path, st, judge(incoming, path, st))
    yield from _unlisted(incoming, unlisted)


def _unlisted(incoming: Path, folders: list[Path]) -> Iterator[Entry]:
    while folders:
        folder = folders.pop(0)
        st = _lstat(folder)
        if st is not None:
            yield Entry(folder, st, _out_of_reach(incoming, folder, st, "cannot list"))


def judge(incoming: Path, path: Path, st: os.stat_result) -> Stranded | None:
    """Why the daemon will never take this entry below incoming/ (None: it will, now or once
    renamed, or once its permissions are fixed)."""
    why = stranded_because(path, st, in_incoming=True)
    if why is None and st.st_nlink > 1 and not interrupted(incoming.parent, st):
        # Its bytes could change through the other name, even once archived; and the other
        # name may be any file on the machine (`ln /etc/passwd`): never read it.
        why = Stranded(
            path,
            "a file with more than one hard link (made with ln?)",
            "copy it with cp instead of ln, then remove the link",
        )
    if why is None and any(p.startswith(".") for p in path.relative_to(incoming).parts[:-1]):
        why = Stranded(path, "inside a hidden folder", "move it out of the hidden folder", True)
    return why or unreachable(incoming, path, st)


def unreachable(incoming: Path, path: Path, st: os.stat_result) -> Stranded | None:
    """Why this process cannot take the file: it cannot read it, or could read it but never move
    it out of its folder afterwards (so it must not be loaded at all). None: it can do both."""
    folder = path.parent
    if not _may_remove_from(folder, st):
        while folder.parent != incoming.parent and not _may_remove_from(folder.parent, st):
            folder = folder.parent  # the topmost such folder: one fix covers all below it
        return _out_of_reach(incoming, folder, os.lstat(folder), "cannot write")
    if not os.access(path, os.R_OK):
        return _out_of_reach(incoming, path, st, "cannot read")
    return None


def _may_remove_from(folder: Path, st: os.stat_result) -> bool:
    """unlink(2)'s rule: write and search on the folder, and if it is sticky, owning the file or
    the folder."""
    try:
        sticky = os.lstat(folder).st_mode & stat.S_ISVTX
        mine = os.geteuid() in (0, st.st_uid, os.lstat(folder).st_uid)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK) and (not sticky or mine)


def _out_of_reach(incoming: Path, path: Path, st: os.stat_result, what: str) -> Stranded:
    """The user this process runs as `what`s `path` (a file or a folder): say whose it is and
    the commands that let the spool's group (the group of incoming/) in."""
    user = _name(pwd.getpwuid, os.geteuid())
    group = _name(grp.getgrgid, _lstat_gid(incoming))
    word = _quoted(path)
    if stat.S_ISDIR(st.st_mode):
        why = f"a folder user {user} {what} ({_owner(st)})"
        if what == "cannot write":
            why += ": its files could be read but never moved out, so none is loaded"
        sticky = ",-t" if st.st_mode & stat.S_ISVTX else ""
        fix = f"chgrp -R {group} {word} && chmod -R g+rwX{sticky} {word}"
    else:
        why = f"a file user {user} {what} ({_owner(st)})"
        fix = f"chgrp {group} {word} && chmod g+r {word}"
    return Stranded(path, why, f"as its owner or root: {fix}")


def _owner(st: os.stat_result) -> str:
    return (
        f"mode {stat.S_IMODE(st.st_mode):04o}, owner {_name(pwd.getpwuid, st.st_uid)}, "
        f"group {_name(grp.getgrgid, st.st_gid)}"
    )


def _name(lookup: Callable[[int], Any], number: int) -> str:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _lstat_gid(path: Path) -> int:
    try:
        return os.lstat(path).st_gid
    except OSError:
        return os.getegid()


def _quoted(path: Path) -> str:
    """`path` as one shell word that means exactly it; bash's $'…' (with `printable_name`'s escapes) for
    names a terminal cannot show."""
    text = os.fsdecode(path)
    if printable_name(text) == text:
        return shlex.quote(text)
    return "$'" + printable_name(text).replace("'", "\\'") + "'"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def stranded(root: Path) -> list[Stranded]:
    """Everything in the spool the daemon will never take: in incoming/, and files at the root
    or in folders that are not part of the layout."""
    # One line per folder its files are stranded by (e.g. a whole backfill the daemon cannot write).
    found = list({e.stranded.path: e.stranded for e in walk_incoming(root) if e.stranded}.values())
    layout = {"incoming", "archive", "failed", ".tmp"}
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return found
    for entry in entries:
        top = Path(entry.path)
        if not entry.is_dir(follow_symlinks=False):
            paths = [top]
        elif entry.name in layout:
            continue
        else:  # a folder that is not part of the layout: every file in it
            paths = [Path(d) / name for d, _, files in os.walk(top) for name in sorted(files)]
        for path in paths:
            st = _lstat(path)
            why = stranded_because(path, st, in_incoming=False) if st is not None else None
            if why is not None:
                found.append(why)
    return found


def report_files(paths: Iterable[Path], skipped: list[Stranded] | None = None) -> Iterator[Path]:
    """The files named, and every file below the folders named, sorted: the candidates a person
    means by "these reports". Below a folder, names the daemon would not take (`is_report_name`), hidden
    folders and anything that is not a regular file (links are not followed) are left out, and
    listed in `skipped` when given. A file named explicitly is read as named."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                child = here / name
                st = _lstat(child)
                if st is None:
                    continue
                why = stranded_because(child, st, in_incoming=True)
                if why is None:
                    yield child
                elif skipped is not None and not is_temporary(name):
                    skipped.append(why)
