"""Which floating-point precision the networks run in.

On CPUs with native bfloat16 arithmetic (AVX-512 BF16 or AMX) convolutions and matrix
products run about twice as fast in bfloat16 as in float32; elsewhere torch emulates it,
slower than float32. ``auto`` therefore means bfloat16 only on such a CPU. Each engine
records the precision that ran in its provenance, never 'auto'.

torch is imported only inside these functions, so listing engines stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "float32", "bfloat16")


def native_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic natively (AVX-512 BF16 or AMX)."""
    import torch

    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(probe()) for probe in probes if probe is not None)


def compute_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype a network's features are computed in: ``precision`` when it names one;
    for 'auto', bfloat16 on a CPU with native bfloat16 and float32 everywhere else
    (including CUDA, where the shipped figures were measured in float32)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"Precision must be one of {', '.join(PRECISIONS)}, not '{precision}'.")
    if precision == "bfloat16" or (precision == "auto" and device.type == "cpu" and native_bf16()):
        return torch.bfloat16
    return torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    """'float32' or 'bfloat16': how provenance records a dtype."""
    return str(dtype).removeprefix("torch.")
