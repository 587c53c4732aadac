import pytest
import torch

from muralstudio.engines import precision


@pytest.mark.parametrize("native", [False, True])
def test_auto_is_bfloat16_only_on_a_cpu_that_has_it(monkeypatch, native):
    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert precision.compute_dtype("auto", cpu) == (torch.bfloat16 if native else torch.float32)
    assert precision.compute_dtype("auto", cuda) == torch.float32
    assert precision.compute_dtype("float32", cpu) == torch.float32
    assert precision.compute_dtype("bfloat16", cpu) == torch.bfloat16


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        precision.compute_dtype("half", torch.device("cpu"))


def test_native_probe_answers_a_bool_and_names_read_plainly():
    assert isinstance(precision.native_bf16(), bool)
    assert precision.dtype_name(torch.bfloat16) == "bfloat16"
    assert precision.dtype_name(torch.float32) == "float32"
