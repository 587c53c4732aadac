import errno
import os
import stat
import sys

import pytest

from muralstudio.core.errors import ImageWriteError
from muralstudio.io.atomic import atomic_output, atomic_write, atomic_write_bytes, write_error


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_atomic_write_bytes_writes_and_leaves_no_temp(tmp_path):
    target = tmp_path / "notes.txt"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    atomic_write_bytes(target, b"again")
    assert target.read_bytes() == b"again"
    assert _leftovers(tmp_path) == []


def test_temp_path_is_hidden_beside_target_with_same_extension(tmp_path):
    target = tmp_path / "scan.tif"
    with atomic_output(target) as temp:
        assert temp.parent == tmp_path
        assert temp.name.startswith(".scan.") and temp.suffix == ".tif"
        assert temp.exists() and not target.exists()
        temp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert not temp.exists()


def test_failing_writer_keeps_old_target_and_removes_temp(tmp_path):
    target = tmp_path / "scan.png"
    target.write_bytes(b"old")

    def writer(temp):
        temp.write_bytes(b"half a fi")
        raise ValueError("encoder broke")

    with pytest.raises(ValueError, match="encoder broke"):
        atomic_write(target, writer)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_disk_full_is_reported_and_nothing_is_left(tmp_path):
    target = tmp_path / "scan.png"

    def writer(temp):
        temp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ImageWriteError, match="no space left"):
        atomic_write(target, writer)
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_missing_directory(tmp_path):
    target = tmp_path / "nowhere" / "scan.png"
    with pytest.raises(ImageWriteError, match="does not exist") as info:
        atomic_write_bytes(target, b"x")
    assert "scan.png" in str(info.value)
    assert not (tmp_path / "nowhere").exists()


def test_target_is_a_directory(tmp_path):
    (tmp_path / "scan.png").mkdir()
    with pytest.raises(ImageWriteError, match="folder"):
        atomic_write_bytes(tmp_path / "scan.png", b"x")
    assert _leftovers(tmp_path) == []


def test_read_only_directory(read_only_folder):
    folder = read_only_folder
    with pytest.raises(ImageWriteError, match="permission denied"):
        atomic_write_bytes(folder / "scan.png", b"x")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOENT, "does not exist"),
        (errno.EACCES, "permission denied"),
        (errno.ENOSPC, "no space left"),
        (errno.EROFS, "read-only file system"),
        (errno.EISDIR, "it is a folder"),
        (errno.EIO, "input/output error"),
    ],
)
def test_write_error_messages(tmp_path, code, words):
    err = write_error(tmp_path / "scan.tif", OSError(code, os.strerror(code)))
    assert isinstance(err, ImageWriteError)
    assert words in str(err)
    assert str(err).endswith(".")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_existing_permissions_are_kept(tmp_path):
    target = tmp_path / "scan.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write_bytes(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.png"
    atomic_write_bytes(fresh, b"new")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
