import errno
import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest
from PIL import ImageCms

from muralstudio.core.assessment import Rating
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import GUIDE, Mural
from muralstudio.core.errors import ImageWriteError, MaskMismatchError, ProjectError
from muralstudio.core.hints import ColourHint
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.io import bundle, project
from muralstudio.io.images import read_image, write_image
from muralstudio.io.project import (
    OriginalChangedError,
    OriginalMissingError,
    load_project,
    read_project_json,
    save_project,
)

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
H, W = 48, 64


def _pixels(dtype, channels, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max + 1, (H, W, channels), dtype=dtype)


def _scan(folder, dtype=np.uint16, channels=3, name="wall.tif"):
    """Write a scan with ICC profile and resolution; return (path, pixels)."""
    px = _pixels(dtype, channels)
    path = folder / name
    write_image(path, px, icc_profile=SRGB, resolution=Resolution(118.0, 118.0, "cm"))
    return path, px


def _document(image: RasterImage) -> Mural:
    doc = Mural(image)
    crack = np.zeros((H, W), bool)
    crack[10:14, 5:40] = True
    loss = np.zeros((H, W), bool)
    loss[30:45, 50:60] = True
    guide = np.zeros((H, W), bool)
    guide[20, :] = True
    doc.set_layer("mask:crack", crack, "Mark cracks")
    doc.set_layer("mask:loss", loss, "Mark losses")
    doc.set_layer(GUIDE, guide, "Guide line")
    px = image.pixels
    rng = np.random.default_rng(5)
    p1 = Patch(8, 4, rng.integers(0, np.iinfo(px.dtype).max + 1, (8, 40, px.shape[2]), dtype=px.dtype),
               crack[8:16, 4:44].copy())
    p2 = Patch(28, 48, px[28:47, 48:62].copy(), loss[28:47, 48:62].copy())
    prov = Provenance("telea", {"radius": 3, "margin": 24}, seed=7, elapsed_s=1.5,
                      classes=("crack", "loss"), other_weights={"anchor": "cd" * 32})
    first = Candidate(prov, [p1, p2], notes="Looks plausible — check the halo.")
    second = Candidate(Provenance("ns", {"radius": 5}), [p2], name="Navier–Stokes")
    doc.add_candidate(first)
    doc.add_candidate(second)
    doc.choose(first.id)
    doc.notes = "Cave 220, north wall.\nScanned 2024."
    return doc


def _assert_same(doc: Mural, back: Mural) -> None:
    assert back.shape == doc.shape
    assert np.array_equal(back.original.pixels, doc.original.pixels)
    assert back.original.pixels.dtype == doc.original.pixels.dtype
    assert back.original.icc_profile == doc.original.icc_profile
    assert back.original.resolution == doc.original.resolution
    for key in [f"mask:{c.value}" for c in DamageClass] + [GUIDE]:
        assert back.layer_array(key).dtype == bool
        assert np.array_equal(back.layer_array(key), doc.layer_array(key)), key
    assert [c.id for c in back.candidates] == [c.id for c in doc.candidates]
    assert back.ratings == doc.ratings
    for a, b in zip(doc.candidates, back.candidates):
        assert (a.name, a.notes, a.provenance) == (b.name, b.notes, b.provenance)
        assert len(a.patches) == len(b.patches)
        for pa, pb in zip(a.patches, b.patches):
            assert (pa.y, pa.x) == (pb.y, pb.x)
            assert pb.pixels.dtype == pa.pixels.dtype and pb.pixels.shape == pa.pixels.shape
            assert np.array_equal(pa.pixels, pb.pixels)
            assert pb.mask.dtype == bool and np.array_equal(pa.mask, pb.mask)
    assert back.chosen_id == doc.chosen_id
    assert back.notes == doc.notes
    assert back.hints == doc.hints
    assert np.array_equal(back.composite(), doc.composite())


def _fingerprint(path):
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("embed", [False, True], ids=["reference", "embedded"])
@pytest.mark.parametrize("dtype,channels", [(np.uint8, 1), (np.uint8, 3), (np.uint16, 1), (np.uint16, 3)],
                         ids=["8-grey", "8-rgb", "16-grey", "16-rgb"])
def test_round_trip(tmp_path, embed, dtype, channels):
    scan, px = _scan(tmp_path, dtype, channels)
    before = _fingerprint(scan)
    doc = _document(read_image(scan))
    doc.rate(doc.candidates[0].id, Rating("Li Wei", {"textural detail": 4, "factual accuracy": 3}, "seam at left"))
    doc.rate(doc.candidates[0].id, Rating("Ana", {"holistic visual coherence": 2}))
    extras = {"zoom": [1.5, 2]}
    target = tmp_path / "cave.mural"
    save_project(target, doc, embed_original=embed, source=scan, extras=extras)
    assert _fingerprint(scan) == before  # the scan is only ever read

    back, info = load_project(target)
    _assert_same(doc, back)
    assert np.array_equal(back.original.pixels, px)
    assert back.original.resolution == Resolution(118.0, 118.0, "cm")
    assert info.extras == extras
    assert info.embedded is embed
    assert info.source == (None if embed else scan.resolve())
    assert info.original_name == "wall.tif"
    assert info.history_labels == doc.history.labels and info.history_position == doc.history.position
    assert info.created and info.modified and info.notices == []
    assert len(back.history) == 0  # undo steps are not saved
    assert _fingerprint(scan) == before


def test_embedded_keeps_alpha_and_needs_no_file(tmp_path):
    alpha = np.tile(np.arange(W, dtype=np.uint16) * 1000, (H, 1))
    image = RasterImage(pixels=_pixels(np.uint16, 3), alpha=alpha, icc_profile=SRGB,
                        resolution=Resolution(300.0, 300.0))
    doc = _document(image)
    save_project(tmp_path / "mem.mural", doc, embed_original=True)
    back, info = load_project(tmp_path / "mem.mural")
    _assert_same(doc, back)
    assert np.array_equal(back.original.alpha, alpha)
    assert info.source is None and info.original_name is None


def test_in_memory_original_needs_a_source_or_embedding(tmp_path):
    doc = Mural(RasterImage(pixels=_pixels(np.uint8, 3)))
    with pytest.raises(ValueError):
        save_project(tmp_path / "x.mural", doc)
    assert not (tmp_path / "x.mural").exists()


def test_source_defaults_to_the_originals_file(tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    save_project(tmp_path / "p.mural", doc)
    assert load_project(tmp_path / "p.mural")[1].source == scan.resolve()


def test_bundle_layout_and_manifest(tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    save_project(tmp_path / "p.mural", doc, source=scan, extras={"ratings": {}})
    with zipfile.ZipFile(tmp_path / "p.mural") as zf:
        names = zf.namelist()
        assert names[0] == "project.json"
        assert zf.testzip() is None
        crack = zf.read("layers/mask-crack.png")
    assert "layers/mask-crack.png" in names and "layers/guide.png" in names
    assert "layers/mask-stain.png" not in names  # empty layers are left out
    assert "original.tif" not in names
    data = read_project_json(tmp_path / "p.mural")
    assert data["format"] == "muralstudio-project" and data["format_version"] == "1.0"
    orig = data["original"]
    assert orig["mode"] == "reference" and orig["relative"] == "wall.tif"
    assert orig["path"] == str(scan.resolve())
    assert (orig["width"], orig["height"], orig["channels"], orig["dtype"]) == (W, H, 3, "uint16")
    stain = next(layer for layer in data["layers"] if layer["key"] == "mask:stain")
    assert stain["entry"] is None and stain["marked_pixels"] == 0
    patch = data["candidates"][0]["patches"][0]
    assert set(patch) >= {"y", "x", "pixels", "mask"}
    # masks are plain 0/255 8-bit grey PNGs any program can read
    from PIL import Image

    with Image.open(io.BytesIO(crack)) as im:
        assert im.mode == "L" and set(np.unique(np.asarray(im))) == {0, 255}


def test_resave_keeps_created_date(tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    target = tmp_path / "p.mural"
    save_project(target, doc, source=scan, created="2020-01-02T03:04:05+00:00")
    save_project(target, doc, source=scan)
    data = read_project_json(target)
    assert data["created"] == "2020-01-02T03:04:05+00:00" and data["modified"] != data["created"]


def test_project_and_original_moved_together(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    scan, px = _scan(old)
    doc = _document(read_image(scan))
    save_project(old / "p.mural", doc, source=scan)
    new = tmp_path / "elsewhere" / "archive"
    shutil.move(str(old), str(new))
    back, info = load_project(new / "p.mural")
    assert info.source == (new / "wall.tif").resolve()
    _assert_same(doc, back)


def test_original_in_subfolder_found_by_relative_path(tmp_path):
    (tmp_path / "a" / "scans").mkdir(parents=True)
    scan, _ = _scan(tmp_path / "a" / "scans")
    doc = _document(read_image(scan))
    save_project(tmp_path / "a" / "p.mural", doc, source=scan)
    assert read_project_json(tmp_path / "a" / "p.mural")["original"]["relative"] == "scans/wall.tif"
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    info = load_project(tmp_path / "b" / "p.mural")[1]
    assert info.source == (tmp_path / "b" / "scans" / "wall.tif").resolve()


def test_missing_original(tmp_path):
    (tmp_path / "scans").mkdir()
    scan, _ = _scan(tmp_path / "scans")
    doc = _document(read_image(scan))
    save_project(tmp_path / "p.mural", doc, source=scan)
    moved = tmp_path / "wall-moved.tif"
    scan.rename(moved)
    with pytest.raises(OriginalMissingError) as err:
        load_project(tmp_path / "p.mural")
    msg = str(err.value)
    assert msg == f"The original scan wall.tif was not found next to the project or at {scan.resolve()}."
    assert isinstance(err.value, ProjectError) and err.value.name == "wall.tif"
    # the user locates it by hand
    back, info = load_project(tmp_path / "p.mural", original=moved)
    assert info.source == moved.resolve()
    _assert_same(doc, back)


def test_changed_original(tmp_path):
    scan, px = _scan(tmp_path)
    doc = _document(read_image(scan))
    save_project(tmp_path / "p.mural", doc, source=scan)
    changed = px.copy()
    changed[0, 0, 0] ^= 1
    write_image(scan, changed, icc_profile=SRGB, resolution=Resolution(118.0, 118.0, "cm"))
    with pytest.raises(OriginalChangedError, match="has changed since the project was saved") as err:
        load_project(tmp_path / "p.mural")
    assert str(err.value) == (
        "The original scan wall.tif has changed since the project was saved (its checksum differs)."
    )


def test_saving_over_the_original_is_refused(tmp_path):
    scan, _ = _scan(tmp_path)
    before = _fingerprint(scan)
    doc = _document(read_image(scan))
    with pytest.raises(ImageWriteError, match="never overwritten"):
        save_project(scan, doc, source=scan)
    assert _fingerprint(scan) == before


def test_extras_must_be_json(tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    with pytest.raises(ValueError):
        save_project(tmp_path / "p.mural", doc, source=scan, extras={"bad": object()})
    assert list(tmp_path.iterdir()) == [scan]
    save_project(tmp_path / "p.mural", doc, source=scan, extras={"n": np.int64(3), "a": np.arange(2)})
    assert load_project(tmp_path / "p.mural")[1].extras == {"n": 3, "a": [0, 1]}


# --------------------------------------------------------------------------- damaged files


@pytest.fixture
def saved(tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    target = tmp_path / "p.mural"
    save_project(target, doc, source=scan)
    return target


def _rewrite(src, dst, *, drop=(), replace=None):
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            zout.writestr(info, replace.get(info.filename, zin.read(info)))


def _manifest(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("project.json"))


def test_truncated_zip(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectError, match="damaged or incomplete"):
        load_project(saved)


def test_garbage_and_empty_files(tmp_path):
    (tmp_path / "g.mural").write_bytes(b"\x00not a zip at all" * 100)
    with pytest.raises(ProjectError, match="not a Mural Studio project"):
        load_project(tmp_path / "g.mural")
    (tmp_path / "e.mural").write_bytes(b"")
    with pytest.raises(ProjectError, match="empty"):
        load_project(tmp_path / "e.mural")
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "none.mural")
    with pytest.raises(ProjectError, match="folder"):
        load_project(tmp_path)


def test_corrupt_entry_is_caught_by_crc(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("candidates/000/patch-000.tif")
        start = bundle._member_offset(zf, info)
    data[start + info.file_size - 10] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ProjectError, match="damaged"):
        load_project(saved)


def test_missing_project_json(saved, tmp_path):
    broken = tmp_path / "broken.mural"
    _rewrite(saved, broken, drop={"project.json"})
    with pytest.raises(ProjectError, match="incomplete: it has no project.json"):
        load_project(broken)


def test_missing_entry(saved, tmp_path):
    broken = tmp_path / "broken.mural"
    _rewrite(saved, broken, drop={"layers/mask-loss.png"})
    with pytest.raises(ProjectError, match="layers/mask-loss.png"):
        load_project(broken)


@pytest.mark.parametrize(
    "change,pattern",
    [
        ({"format": "something-else"}, "names another format"),
        ({"format_version": "2.0"}, "newer Mural Studio"),
        ({"format_version": "banana"}, "format version"),
        ({"original": None}, "incomplete"),
    ],
)
def test_bad_manifest(saved, tmp_path, change, pattern):
    data = _manifest(saved)
    data.update(change)
    broken = tmp_path / "broken.mural"
    _rewrite(saved, broken, replace={"project.json": json.dumps(data)})
    with pytest.raises(ProjectError, match=pattern):
        load_project(broken)


def test_invalid_json(saved, tmp_path):
    broken = tmp_path / "broken.mural"
    _rewrite(saved, broken, replace={"project.json": b"{not json"})
    with pytest.raises(ProjectError, match="not valid JSON"):
        load_project(broken)


def test_newer_minor_version_loads_with_notice(saved, tmp_path):
    data = _manifest(saved)
    data["format_version"] = "1.7"
    data["future_thing"] = {"x": 1}
    data["candidates"][0]["provenance"]["gpu"] = "H100"
    newer = tmp_path / "newer.mural"
    _rewrite(saved, newer, replace={"project.json": json.dumps(data)})
    doc, info = load_project(newer)
    assert len(doc.candidates) == 2 and len(info.notices) == 2


def test_layer_of_wrong_size(saved, tmp_path):
    other = bundle.encode_mask(np.ones((H + 1, W), bool))
    broken = tmp_path / "broken.mural"
    _rewrite(saved, broken, replace={"layers/mask-crack.png": other})
    with pytest.raises(MaskMismatchError, match="65 × 49|64 × 49"):
        load_project(broken)


# --------------------------------------------------------------------------- atomic saves


def test_failed_save_keeps_previous_project_and_leaves_no_temp(saved, monkeypatch):
    folder = saved.parent
    before_listing = sorted(p.name for p in folder.iterdir())
    before = saved.read_bytes()
    doc, _ = load_project(saved)
    doc.notes = "changed"
    real = bundle.encode_mask
    calls = []

    def failing(mask):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(mask)

    monkeypatch.setattr(bundle, "encode_mask", failing)
    with pytest.raises(ImageWriteError, match="no space left"):
        save_project(saved, doc, source=folder / "wall.tif")
    assert saved.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == before_listing


def test_failed_embedded_save_removes_its_temporary_tiff(tmp_path, monkeypatch):
    doc = _document(RasterImage(pixels=_pixels(np.uint8, 3)))
    monkeypatch.setattr(bundle, "_IN_MEMORY_TIFF", 0)  # force the temporary-file path

    def failing(mask):
        raise RuntimeError("boom")

    monkeypatch.setattr(bundle, "encode_mask", failing)
    with pytest.raises(RuntimeError):
        save_project(tmp_path / "p.mural", doc, embed_original=True)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(bundle, "_IN_MEMORY_TIFF", 0)
    monkeypatch.setattr(project, "_COMPRESS_PATCH_BELOW", 0)  # big patches: stored as is
    save_project(tmp_path / "p.mural", doc, embed_original=True)
    _assert_same(doc, load_project(tmp_path / "p.mural")[0])
    assert [p.name for p in tmp_path.iterdir()] == ["p.mural"]


def test_unwritable_folder(read_only_folder, tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    with pytest.raises(ImageWriteError, match="permission denied"):
        save_project(read_only_folder / "p.mural", doc, source=scan)
    assert os.listdir(read_only_folder) == []


def test_malformed_ratings_are_left_out_with_a_notice(saved, tmp_path):
    data = _manifest(saved)
    cid = data["candidates"][0]["id"]
    data["ratings"] = {
        cid: [{"rater": "Li", "scores": {"textural detail": 4}}, {"rater": "Bad", "scores": {"textural detail": 9}},
              {"scores": {}}, {"rater": "Li", "scores": {"textural detail": 5}}],
        "gone": [{"rater": "Li", "scores": {}}],
    }
    odd = tmp_path / "odd.mural"
    _rewrite(saved, odd, replace={"project.json": json.dumps(data)})
    doc, info = load_project(odd)
    assert [(r.rater, r.scores) for r in doc.ratings_of(cid)] == [("Li", {"textural detail": 5})]
    assert info.notices == ["3 rating(s) could not be read and were left out."]


# --------------------------------------------------------------------------- colour hints


def test_colour_hints_round_trip(tmp_path):
    scan, _ = _scan(tmp_path)
    doc = _document(read_image(scan))
    hints = [ColourHint(12.5, 30.25, (0.25, 0.5, 0.75), "pigment: azurite"),
             ColourHint(0.0, 63.5, (1.0, 0.0, 0.123456789), "picked at 63, 0")]
    for h in hints:
        doc.add_hint(h)
    save_project(tmp_path / "p.mural", doc, source=scan)
    assert _manifest(tmp_path / "p.mural")["hints"] == [h.to_dict() for h in hints]
    back, info = load_project(tmp_path / "p.mural")
    assert [(h.y, h.x, h.source) for h in back.hints] == [(h.y, h.x, h.source) for h in hints]
    assert back.hints[1].rgb == (1.0, 0.0, 0.12346)  # five decimals are kept
    assert len(back.history) == 0 and info.notices == []


def test_project_without_hints_loads_with_none(saved, tmp_path):
    data = _manifest(saved)
    del data["hints"]  # as written before hints existed
    old = tmp_path / "old.mural"
    _rewrite(saved, old, replace={"project.json": json.dumps(data)})
    doc, info = load_project(old)
    assert doc.hints == () and info.notices == []


def test_malformed_hints_are_left_out_with_a_notice(saved, tmp_path):
    data = _manifest(saved)
    good = {"x": 3.5, "y": 4.5, "rgb": [0.1, 0.2, 0.3], "source": "pigment: malachite"}
    data["hints"] = [
        good,
        {"x": 3, "y": 4, "rgb": [0.1, 0.2]},  # two channels
        {"x": 3, "y": 4, "rgb": [0.1, 2.0, 0.3]},  # out of range
        {"x": 3, "rgb": [0.1, 0.2, 0.3]},  # no y
        {"x": W + 5, "y": 4, "rgb": [0.1, 0.2, 0.3]},  # outside the image
        {"x": "NaN", "y": 4, "rgb": [0.1, 0.2, 0.3]},
        "red",
        [1, 2, 3],
        {"x": 1, "y": 1, "rgb": [0, 0, 1]},  # no source: fine
    ]
    odd = tmp_path / "odd.mural"
    _rewrite(saved, odd, replace={"project.json": json.dumps(data)})
    doc, info = load_project(odd)
    assert doc.hints == (ColourHint(4.5, 3.5, (0.1, 0.2, 0.3), "pigment: malachite"),
                         ColourHint(1.0, 1.0, (0.0, 0.0, 1.0), ""))
    assert info.notices == ["7 colour hint(s) could not be read and were left out."]
    data["hints"] = {"not": "a list"}
    _rewrite(saved, odd, replace={"project.json": json.dumps(data)})
    doc, info = load_project(odd)
    assert doc.hints == () and info.notices == ["The colour hints could not be read and were left out."]
