"""Moving the file the daemon read out of incoming/: by its descriptor's inode, never by a name
that may mean another file by now.

A name in incoming/ can be replaced (rsync's rename over it) or hard-linked from outside while the
daemon loads it. So a move links the name into place, checks that the new name holds the inode the
daemon has open, and only then drops the name in incoming/; when the name no longer holds that
inode (or the inode has other links whose writers could change archive/), the bytes that were read
are copied from the open descriptor instead, checked against their sha256.

The daemon writes an intent (`.tmp/moving-<dev>-<ino>`, naming the target folder) before it
links: a file found in incoming/ with more than one link is the daemon's own interrupted move only
when its intent exists and the target folder holds the same inode — an outside `ln` never is.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from energy_ingest.spool.files import fit_name, fsync_dir, place

NAME_MAX = 255


def _intent(root: Path, st: os.stat_result) -> Path:
    return root / ".tmp" / f"moving-{st.st_dev}-{st.st_ino}"


def intend(root: Path, st: os.stat_result, directory: Path) -> Path:
    """Say, before linking, that the inode `st` is being moved into `directory`."""
    intent = _intent(root, st)
    intent.parent.mkdir(parents=True, exist_ok=True)
    with open(intent, "wb") as fh:
        fh.write(os.fsencode(directory.relative_to(root)))
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(intent.parent)
    return intent


def interrupted(root: Path, st: os.stat_result) -> bool:
    """Whether this inode's two names are a move cut short between link and unlink: the daemon's
    (its intent names the folder that holds the other link) or the upload's (its temp file).
    A third name is never one: someone's `ln`."""
    return _own_move(root, st) or (st.st_nlink == 2 and _holds(root / ".tmp", st, "upload-"))


def _own_move(root: Path, st: os.stat_result) -> bool:
    if st.st_nlink != 2:
        return False
    try:
        directory = root / os.fsdecode(_intent(root, st).read_bytes())
    except OSError:
        return False
    return _holds(directory, st, "")


def _holds(directory: Path, st: os.stat_result, prefix: str) -> bool:
    try:
        return any(
            e.inode() == st.st_ino
            and e.name.startswith(prefix)
            and e.is_file(follow_symlinks=False)
            for e in os.scandir(directory)
        )
    except OSError:
        return False


def finished(root: Path, st: os.stat_result) -> None:
    _intent(root, st).unlink(missing_ok=True)


def remove_stale_intents(root: Path) -> None:
    """Intents whose move is not waiting to be finished (at start: no other daemon moves yet
    what this one found)."""
    for intent in (root / ".tmp").glob("moving-*"):
        try:
            ino = int(intent.name.rpartition("-")[2])
            directory = root / os.fsdecode(intent.read_bytes())
            waiting = any(
                e.inode() == ino and e.stat(follow_symlinks=False).st_nlink > 1
                for e in os.scandir(directory)
            )
        except (OSError, ValueError):
            waiting = False
        if not waiting:
            intent.unlink(missing_ok=True)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def names_it(path: Path, st: os.stat_result) -> bool:
    try:
        return _same(os.lstat(path), st)
    except FileNotFoundError:
        return False


def move_read(
    root: Path, fd: int, path: Path, directory: Path, name: str, room: int = 0
) -> Path | None:
    """Move the file open as `fd`, named `path` in incoming/, into `directory` as `name` (or a
    free variant that fits the name limit, leaving `room` bytes); None, nothing moved, when `path`
    no longer names that inode or the inode has a name the daemon did not give it — someone's, or
    an interrupted upload's temp file, which could change it once archived (the caller copies
    it instead)."""
    st = os.fstat(fd)
    if not names_it(path, st) or (
        st.st_nlink > 1 and not (st.st_nlink == 2 and _own_move(root, st))
    ):
        return None
    directory.mkdir(parents=True, exist_ok=True)
    intend(root, st, directory)
    target = _link(path, st, directory, name, room)
    if target is not None:
        if names_it(path, st):  # drop the incoming name if it is still ours
            os.unlink(path)
        fsync_dir(directory)
        fsync_dir(path.parent)
    finished(root, st)  # not when an error came first: the next try finishes the move
    return target


def _link(path: Path, st: os.stat_result, directory: Path, name: str, room: int) -> Path | None:
    for n in range(100_000):
        target = directory / fit_name(name, n, NAME_MAX - room)
        try:
            os.link(path, target)
        except FileExistsError:
            if names_it(target, st):
                return target  # an interrupted move's own link
            continue
        except PermissionError:  # fs.protected_hardlinks: another user's file; rename it
            return _rename(path, st, directory, name, room)
        if names_it(target, st):
            return target
        os.unlink(target)  # the name was replaced between the check and the link
        return None
    raise FileExistsError(f"no free name for {name} in {directory}")


def _rename(path: Path, st: os.stat_result, directory: Path, name: str, room: int) -> Path | None:
    target = place(path, directory, name, room=room)
    if names_it(target, st):
        return target
    place(target, path.parent, path.name)  # replaced in that instant: put the new file back
    return None


def copy_read(
    root: Path, fd: int, size: int, sha256: str, directory: Path | None, name: str, room: int = 0
) -> Path | None:
    """Copy the first `size` bytes of the file open as `fd` into `directory` as `name` (or a free
    variant; None: stay in .tmp/) if they are the bytes with this sha256; None if they are not."""
    tmp = root / ".tmp" / f"kept-{uuid.uuid4().hex}.part"
    digest, at = hashlib.sha256(), 0
    with open(tmp, "xb") as out:
        while at < size and (block := os.pread(fd, min(1 << 20, size - at), at)):
            digest.update(block)
            out.write(block)
            at += len(block)
        out.flush()
        os.fsync(out.fileno())
    if at != size or digest.hexdigest() != sha256:
        tmp.unlink()
        return None
    return tmp if directory is None else place(tmp, directory, name, room=room)
