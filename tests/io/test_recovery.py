import json
import os
import subprocess
import sys

import numpy as np
import pytest

from muralstudio.core.document import GUIDE, Mural
from muralstudio.core.raster import RasterImage
from muralstudio.io.images import read_image, write_image
from muralstudio.io.project import load_project
from muralstudio.io.recovery import RecoverySlot, discard, find_recoverable, recovery_dir


def _doc(pixels):
    doc = Mural(RasterImage(pixels=pixels))
    mask = np.zeros(pixels.shape[:2], bool)
    mask[3:9, 4:20] = True
    doc.set_layer("mask:loss", mask, "Mark losses")
    guide = np.zeros_like(mask)
    guide[12, :] = True
    doc.set_layer(GUIDE, guide, "Guide")
    doc.notes = "autosaved notes"
    return doc


@pytest.fixture
def pixels():
    return np.random.default_rng(3).integers(0, 65536, (24, 32, 3), dtype=np.uint16)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _crash(slot):
    """What a crash leaves: the lock names a process that is gone; close() never runs."""
    data = json.loads(slot.lock_path.read_text())
    data["pid"] = _dead_pid()
    slot.lock_path.write_text(json.dumps(data))


def test_recovery_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = recovery_dir()
    assert folder == tmp_path / "data" / "muralstudio" / "recovery" and folder.is_dir()
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert recovery_dir() == tmp_path / "home" / ".local" / "share" / "muralstudio" / "recovery"


def test_crash_is_found_and_loads(tmp_path, pixels):
    scan = tmp_path / "wall.tif"
    write_image(scan, pixels)
    doc = Mural(read_image(scan))
    doc.set_layer("mask:crack", np.eye(24, 32, dtype=bool), "Crack")
    doc.notes = "before the crash"
    slot = RecoverySlot(tmp_path / "rec")
    path = slot.autosave(doc, scan, project=tmp_path / "cave.mural")
    assert path == slot.path and path.exists() and slot.lock_path.exists()
    _crash(slot)
    del slot

    (entry,) = find_recoverable(tmp_path / "rec")
    assert entry.path == path and entry.source_name == "wall.tif" and entry.readable
    assert entry.project == tmp_path / "cave.mural"
    assert "cave.mural" in entry.description and "1 marked layer" in entry.description
    back, info = load_project(entry.path)
    assert np.array_equal(back.original.pixels, pixels)
    assert np.array_equal(back.layer_array("mask:crack"), doc.layer_array("mask:crack"))
    assert back.notes == "before the crash" and info.source == scan.resolve()

    discard(entry)
    assert find_recoverable(tmp_path / "rec") == []
    assert list((tmp_path / "rec").iterdir()) == []


def test_unsaved_document_is_embedded(tmp_path, pixels):
    doc = _doc(pixels)
    slot = RecoverySlot(tmp_path)
    slot.autosave(doc, None)
    doc.notes = "second autosave"
    slot.autosave(doc, None)
    _crash(slot)
    (entry,) = find_recoverable(tmp_path)
    back, info = load_project(entry.path)
    assert info.embedded and back.notes == "second autosave"
    assert np.array_equal(back.original.pixels, pixels)
    assert np.array_equal(back.guide, doc.guide)
    assert "untitled" in entry.description


def test_clean_close_leaves_nothing(tmp_path, pixels):
    slot = RecoverySlot(tmp_path)
    slot.autosave(_doc(pixels), None)
    slot.close()
    assert find_recoverable(tmp_path) == [] and list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        slot.autosave(_doc(pixels), None)


def test_live_session_is_not_offered(tmp_path, pixels):
    slot = RecoverySlot(tmp_path)
    assert json.loads(slot.lock_path.read_text())["pid"] == os.getpid()
    slot.autosave(_doc(pixels), None)
    other = RecoverySlot(tmp_path)  # a second window of this same, running process
    assert find_recoverable(tmp_path) == []
    assert slot.path.exists() and other.lock_path.exists()  # nothing was cleaned away
    slot.close()
    other.close()


def test_missing_lock_counts_as_crash_and_stale_locks_are_swept(tmp_path, pixels):
    slot = RecoverySlot(tmp_path)
    slot.autosave(_doc(pixels), None)
    slot.lock_path.unlink()
    assert [e.path for e in find_recoverable(tmp_path)] == [slot.path]
    lonely = RecoverySlot(tmp_path)  # crashed before its first autosave
    _crash(lonely)
    find_recoverable(tmp_path)
    assert not lonely.lock_path.exists()


def test_damaged_autosave_is_listed_for_discarding(tmp_path):
    (tmp_path / "0123.mural").write_bytes(b"garbage")
    (entry,) = find_recoverable(tmp_path)
    assert not entry.readable and "damaged" in entry.description
    discard(entry)
    assert list(tmp_path.iterdir()) == []


def test_autosave_embeds_when_the_scan_went_away(tmp_path, pixels):
    scan = tmp_path / "wall.tif"
    write_image(scan, pixels)
    doc = Mural(read_image(scan))
    slot = RecoverySlot(tmp_path / "rec")
    scan.unlink()
    slot.autosave(doc, scan)
    _crash(slot)
    (entry,) = find_recoverable(tmp_path / "rec")
    back, info = load_project(entry.path)
    assert info.embedded and info.original_name == "wall.tif"
    assert np.array_equal(back.original.pixels, pixels)


def test_recovery_api_lives_only_in_the_recovery_module():
    from muralstudio.io import project, recovery

    assert recovery.RecoverySlot is RecoverySlot and recovery.find_recoverable is find_recoverable
    assert not hasattr(project, "RecoverySlot") and not hasattr(project, "find_recoverable")
    with pytest.raises(AttributeError):
        project.no_such_name  # noqa: B018
