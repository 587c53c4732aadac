"""Write files so that a reader never sees half of one.

Everything is written to a hidden temporary file beside the target, flushed to disk, and only
then renamed onto the target with :func:`os.replace` (atomic on POSIX and Windows). When the
writer fails, the temporary file is removed and the target keeps its old content (or stays
absent). Operating-system errors are turned into :class:`ImageWriteError` with a message fit
for a dialog.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from muralstudio.core.errors import ImageWriteError

__all__ = ["atomic_output", "atomic_write", "atomic_write_bytes", "write_error"]


def write_error(path: str | os.PathLike[str], exc: OSError) -> ImageWriteError:
    """An :class:`ImageWriteError` explaining in one sentence why ``path`` could not be written."""
    target = Path(path)
    name = target.name or str(target)
    folder = str(target.parent) if str(target.parent) not in ("", ".") else "the current folder"
    code = exc.errno
    if code == errno.ENOENT:
        reason = f"the folder {folder} does not exist"
    elif code == errno.ENOTDIR:
        reason = f"{folder} is not a folder"
    elif code in (errno.EACCES, errno.EPERM):
        reason = f"permission denied in {folder}"
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        reason = "there is no space left on the disk"
    elif code == errno.EROFS:
        reason = f"{folder} is on a read-only file system"
    elif code == errno.EISDIR:
        return ImageWriteError(f"Cannot save to {target}: it is a folder, not a file.")
    elif code == errno.ENAMETOOLONG:
        reason = "the file name is too long"
    else:
        reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
        reason = reason[:1].lower() + reason[1:]
    return ImageWriteError(f"Cannot save {name}: {reason}.")


def _create_temp(target: Path) -> Path:
    """Create an empty hidden file beside ``target`` with the same extension; return its path."""
    for _ in range(100):
        temp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            # 0o666 lets the umask decide, like a plain open() would (mkstemp would give 0o600)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return temp
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(target.parent))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not possible (nor needed) on every platform, so best effort."""
    if os.name != "posix":
        return
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


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it replaces ``path``, on failure vanishes.

    The temporary file is hidden (``.name.XXXXXXXX.tmp.ext``), lies in the target's folder so
    the final rename stays on one file system, and keeps the target's extension so writers that
    pick the format from the name do the right thing. An existing target's permission bits are
    carried over. :class:`OSError` raised inside the block or while finishing is re-raised as
    :class:`ImageWriteError`; other exceptions pass through unchanged, after the cleanup.
    """
    target = Path(path)
    if target.is_dir():
        raise ImageWriteError(f"Cannot save to {target}: it is a folder, not a file.")
    try:
        temp = _create_temp(target)
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            mode = None
        if mode is not None:
            os.chmod(temp, mode)
        yield temp
        _fsync_file(temp)
        os.replace(temp, target)
    except OSError as exc:
        _remove_quietly(temp)
        raise write_error(target, exc) from exc
    except BaseException:
        _remove_quietly(temp)
        raise
    _fsync_dir(target.parent)


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(temp_path)`` and move the result onto ``path`` atomically (see above)."""
    with atomic_output(path) as temp:
        writer(temp)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_output(path) as temp:
        with open(temp, "wb") as fh:
            fh.write(data)

