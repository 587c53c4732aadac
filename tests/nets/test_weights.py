"""Weight files and the manifest: round trip, and every kind of bad file is a ModelError."""

import hashlib
import json

import pytest
import torch

from muralstudio.core.errors import ModelError, MuralStudioError
from muralstudio.nets.pconv import ARCH, PConvConfig, PConvUNet
from muralstudio.nets.weights import load_state, load_weights, manifest, shipped, weights_bytes


CONFIG = PConvConfig(4, 3)


def tiny() -> PConvUNet:
    torch.manual_seed(0)
    return PConvUNet(CONFIG)


@pytest.fixture
def weight_file(tmp_path):
    net = tiny()
    path = tmp_path / "net.pt"
    path.write_bytes(weights_bytes(ARCH, CONFIG.to_dict(), net.state_dict(), {"epochs": 1}))
    return path, net


def test_round_trip_is_strict_and_exact_to_fp16(weight_file):
    path, net = weight_file
    w = load_weights(path, ARCH)
    assert w.arch == ARCH and w.config == CONFIG.to_dict() and w.meta == {"epochs": 1}
    assert w.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert all(v.dtype == torch.float16 for v in w.state_dict.values() if v.is_floating_point())
    other = PConvUNet(PConvConfig(**w.config))
    load_state(other, w)
    for (k, a), (k2, b) in zip(net.state_dict().items(), other.state_dict().items()):
        assert k == k2 and b.dtype == a.dtype
        expected = a.half().to(a.dtype) if a.is_floating_point() else a
        assert torch.equal(b, expected), k


def test_errors_are_user_errors():
    assert issubclass(ModelError, MuralStudioError)


def test_wrong_arch(weight_file):
    with pytest.raises(ModelError, match="features"):
        load_weights(weight_file[0], "features")


def test_truncated_file(weight_file):
    path = weight_file[0]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelError):
        load_weights(path, ARCH)


@pytest.mark.parametrize("content", [b"", b"not a weights file at all\n" * 10, b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_non_torch_file(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError):
        load_weights(path, ARCH)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"arch": ARCH, "config": {}, "state_dict": {}, "x": Evil()}, path)
    with pytest.raises(ModelError):
        load_weights(path, ARCH)


def test_torch_file_of_another_shape(tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"weights": torch.ones(3)}, path)
    with pytest.raises(ModelError, match="not a Mural Studio"):
        load_weights(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_weights(tmp_path / "nope.pt", ARCH)


def test_state_dict_missing_a_key(tmp_path):
    state = tiny().state_dict()
    state.pop(next(iter(state)))
    path = tmp_path / "short.pt"
    path.write_bytes(weights_bytes(ARCH, CONFIG.to_dict(), state, {}))
    with pytest.raises(ModelError, match="does not fit"):
        load_state(PConvUNet(CONFIG), load_weights(path, ARCH))


def test_state_dict_of_another_shape(weight_file):
    with pytest.raises(ModelError, match="does not fit"):
        load_state(PConvUNet(PConvConfig(8, 3)), load_weights(weight_file[0], ARCH))


def write_models_dir(tmp_path, data: bytes, sha: str | None = None):
    models = tmp_path / "models"
    models.mkdir()
    (models / "pconv.pt").write_bytes(data)
    entry = {"file": "pconv.pt", "sha256": sha or hashlib.sha256(data).hexdigest(), "arch": ARCH}
    (models / "manifest.json").write_text(json.dumps({"models": {"pconv": entry}}))
    return models


def test_manifest_names_verified_file(tmp_path, weight_file):
    models = write_models_dir(tmp_path, weight_file[0].read_bytes())
    assert manifest(models)["models"]["pconv"]["arch"] == ARCH
    assert shipped("pconv", models) == models / "pconv.pt"


def test_manifest_sha_mismatch(tmp_path, weight_file):
    models = write_models_dir(tmp_path, weight_file[0].read_bytes(), sha="0" * 64)
    with pytest.raises(ModelError, match="damaged"):
        shipped("pconv", models)
    assert shipped("pconv", models, verify=False) == models / "pconv.pt"


def test_manifest_missing_entry_file_or_manifest(tmp_path, weight_file):
    assert manifest(tmp_path) == {}
    with pytest.raises(ModelError, match="No shipped model"):
        shipped("pconv", tmp_path)
    models = write_models_dir(tmp_path, weight_file[0].read_bytes())
    with pytest.raises(ModelError, match="No shipped model"):
        shipped("other", models)
    (models / "pconv.pt").unlink()
    with pytest.raises(ModelError, match="missing"):
        shipped("pconv", models)
    (models / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read"):
        manifest(models)
