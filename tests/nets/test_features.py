import pytest
import torch

from muralstudio.core.errors import ModelError
from muralstudio.nets.detector import ARCH as DETECTOR_ARCH
from muralstudio.nets.detector import DamageUNet, DetectorConfig
from muralstudio.nets.features import ARCH, FeatureNet, feature_function, rotation_batch
from muralstudio.nets.pconv import ARCH as PCONV_ARCH
from muralstudio.nets.pconv import PConvConfig, PConvUNet
from muralstudio.nets.weights import weights_bytes

CPU = torch.device("cpu")


def _write(path, arch, config, model):
    path.write_bytes(weights_bytes(arch, config, model.state_dict(), {}))
    return path


def test_rotation_batch_turns_each_patch_by_its_label():
    torch.manual_seed(0)
    patches = torch.rand(6, 3, 8, 8)
    turned, labels = rotation_batch(patches)
    for p, t, k in zip(patches, turned, labels):
        assert torch.equal(torch.rot90(p, int(k), dims=(1, 2)), t)


def test_a_feature_network_file_gives_its_stages(tmp_path):
    torch.manual_seed(0)
    net = FeatureNet((4, 8, 8))
    fn, sha = feature_function(_write(tmp_path / "f.pt", ARCH, {"widths": [4, 8, 8]}, net), CPU)
    maps = fn(torch.rand(2, 3, 32, 32))
    assert [tuple(m.shape) for m in maps] == [(2, 4, 32, 32), (2, 8, 16, 16), (2, 8, 8, 8)]
    assert len(sha) == 64


def test_a_detector_file_gives_its_first_encoder_levels_frozen(tmp_path):
    torch.manual_seed(0)
    cfg = DetectorConfig(base=4, depth=3, max_width=8)
    net = DamageUNet(cfg).eval()
    fn, _ = feature_function(_write(tmp_path / "d.pt", DETECTOR_ARCH, cfg.to_dict(), net), CPU)
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    maps = fn(image)
    assert [tuple(m.shape) for m in maps] == [(1, 4, 32, 32), (1, 8, 16, 16), (1, 8, 8, 8)]
    with torch.no_grad():
        assert torch.allclose(maps[0], net.encoder_features(image)[0], atol=1e-3)  # fp16 weights in the file
    sum(m.sum() for m in maps).backward()  # gradients reach the image (the loss trains through it)...
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in fn.__self__.parameters())  # ...but not the frozen network


def test_another_network_is_refused_with_a_clear_message(tmp_path):
    cfg = PConvConfig(base=4, depth=2)
    path = _write(tmp_path / "p.pt", PCONV_ARCH, cfg.to_dict(), PConvUNet(cfg))
    with pytest.raises(ModelError, match="feature network .* or a damage detector"):
        feature_function(path, CPU)
