"""Writing files so that a crash, a full disk or Ctrl-C never leaves a half-written one.

Photos, trained models, training states, preview charts, remembered inversions and
downloaded or imported weights are all written the same way: into a temporary file
beside the target (same folder, so the final rename cannot cross file systems), flushed
to disk, then renamed over the target in one step. Until that rename the old file is
intact; if anything fails the temporary file is removed. On Linux the temporary file
has no name while it is written (O_TMPFILE), so even a process killed outright leaves
nothing behind. One helper for all of them keeps that promise in one place.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")


def atomic_write(
    target: str | os.PathLike[str], write: Callable[[BinaryIO], None], *, sync: bool = True,
    replace: bool = True,
) -> Path:
    """Run ``write(file)`` on a temporary file beside ``target``, then rename it into place.

    With ``replace=False`` the last step refuses to replace a file: it raises
    ``FileExistsError`` if ``target`` exists at that moment, even if it appeared after the
    caller checked (another process saving under the same name), and leaves that file as
    it is. The "does it exist" check and the final step are then one step (a hard link,
    which fails on an existing name), not two.

    The temporary file is created with mode 0o666 (the umask applies, as for any new
    file) rather than ``mkstemp``'s 0o600, so what is saved stays readable by other
    programs; when a file is replaced, its permissions are carried over. ``sync``
    flushes the data and the rename to disk (photos, models); caches that are cheap to
    redo may skip it. The folder must exist. Returns ``target`` as a Path.
    """
    target = Path(target)
    fd, tmp = _create_temp(target)
    try:
        # An unnamed file's descriptor outlives the writing: it is how it gets its name.
        with os.fdopen(fd, "wb", closefd=tmp is not None) as out:
            write(out)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        if tmp is None:
            _name_unnamed(fd, target, replace)
        elif replace:
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)
        else:
            _place_new(tmp, target)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        if tmp is None:
            os.close(fd)
    if sync:
        _fsync_folder(target.parent)
    return target


def _open_unnamed(folder: Path) -> int | None:
    """A file in ``folder`` with no name yet (Linux's O_TMPFILE), or None where the
    system or file system has none.

    Why: a process killed outright (``kill -9``, the kernel out of memory, a batch
    worker ended by its memory watchdog) runs no cleanup, and a named temporary file
    would stay behind; a file without a name disappears with its process.
    """
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o666)
    except OSError:  # EOPNOTSUPP, EISDIR (old kernels), EINVAL: use a named one
        return None


def _name_unnamed(fd: int, target: Path, replace: bool) -> None:
    """Give the finished unnamed file ``fd`` its name: ``target`` at once when nothing may
    be replaced (the link fails on a taken name), else a temporary name that is renamed
    over ``target`` in the same instant."""
    magic = f"/proc/self/fd/{fd}"
    if not replace:
        _link(magic, target)
        return
    if target.exists():
        os.fchmod(fd, target.stat().st_mode & 0o7777)
    _, tmp = _claim_temp_name(target, lambda name: _link(magic, name))
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _link(magic: str, name: Path) -> None:
    """Hard-link the open file behind ``magic`` (/proc/self/fd/N) as ``name``.

    A folder descriptor makes Python call linkat(…, AT_SYMLINK_FOLLOW), which links the
    file the magic link points to; plain link() would try to link the link itself.
    """
    folder = os.open(name.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(magic, name.name, dst_dir_fd=folder, follow_symlinks=True)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file exists", str(name)) from None
    finally:
        os.close(folder)


def _place_new(tmp: Path, target: Path) -> None:
    """Give the finished ``tmp`` the name ``target`` only if no file has that name."""
    try:
        os.link(tmp, target)  # atomic, and fails with FileExistsError on a taken name
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: the best that is left
        if target.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_bytes(target: str | os.PathLike[str], data: bytes, *, sync: bool = True) -> Path:
    """``data`` as the whole of ``target``, atomically (see ``atomic_write``)."""
    return atomic_write(target, lambda out: out.write(data), sync=sync)


def install_finished(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Rename a temporary file that is complete and checked over ``target`` in one step.

    For files written over several sessions before they are known to be good (a
    download resumed across runs, then checked against its hash).
    """
    target = Path(target)
    os.replace(tmp, target)
    _fsync_folder(target.parent)
    return target


def _create_temp(target: Path) -> tuple[int, Path | None]:
    """An open temporary file beside ``target``: without a name where the system has
    such files (its path is then None), else a new hidden name."""
    unnamed = _open_unnamed(target.parent)
    if unnamed is not None:
        return unnamed, None
    return _create_named_temp(target)


def _create_named_temp(target: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return _claim_temp_name(target, lambda name: os.open(name, flags, 0o666))


def _claim_temp_name(target: Path, claim: Callable[[Path], T]) -> tuple[T, Path]:
    """``claim`` a free hidden name beside ``target`` (it raises FileExistsError on a
    taken one, and the next random name is tried): what it returned, and the name."""
    for _ in range(100):
        name = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            return claim(name), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target))


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable on POSIX; not possible (nor needed) on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
