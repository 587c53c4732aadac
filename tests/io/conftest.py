import pytest


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder we cannot write into; skips where that does not stop us (root, odd file systems)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    probe = folder / "probe"
    try:
        probe.touch()
    except PermissionError:
        yield folder
        folder.chmod(0o755)
        return
    probe.unlink()
    folder.chmod(0o755)
    pytest.skip("read-only folders are writable here (running as root?)")
