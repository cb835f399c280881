"""Device choice and the one batched forward pass that every evaluator and predictor runs.

Training's validation, the segmenter's scoring, image classification, patch maps and scene
prediction all call :func:`forward`: eval mode, no autograd, inputs moved to the model's device
and dtype in channels_last, optional bf16 autocast on that device, float32 outputs. It takes the
model in whatever form the caller prepared (a fused inference copy with its own bf16 blocks, a
network mid-training) and adds no precision of its own unless asked with ``bf16``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from lulc_core.errors import InvalidDataError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cpu``, ``cuda`` or ``cuda:N`` as given.

    Raises:
        InvalidDataError: an unknown device, or CUDA asked for where there is none.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidDataError(f"unknown device {name!r}: use auto, cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise InvalidDataError(f"unsupported device {name!r}: use auto, cpu or cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidDataError("CUDA is not available on this machine: use --device cpu or auto")
    return device


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast pays off here (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast context for the device (a no-op when disabled)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def forward(
    module: nn.Module,
    x: torch.Tensor,
    *,
    bf16: bool = False,
    batch_size: int | None = None,
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_device: bool = False,
) -> torch.Tensor:
    """Float32 outputs of a network for a batch of inputs, in chunks, without autograd.

    The module is put in eval mode. Each chunk is ``prepare``-d (e.g. uint8 -> resized,
    normalised float), moved to the device and dtype of the module's first parameter and laid
    out channels_last; the network runs under bf16 autocast on that device when ``bf16``.

    Args:
        module: the network, on its device, in the precision its owner chose (its first
            parameter's dtype is the input dtype).
        x: inputs (N, C, H, W), on any device.
        bf16: bf16 autocast over the whole network.
        batch_size: inputs per forward pass (None: all at once).
        prepare: per-chunk transform applied before the move to the device.
        on_device: keep the outputs on the module's device instead of moving them to the CPU.

    Returns:
        float32 outputs (N, ...): logits (N, K) for a classifier, (N, K, H, W) for a segmenter.
    """
    # a network without weights (a test double) runs on the CPU in float32
    parameter = next(module.parameters(), torch.empty(0))
    device, dtype = parameter.device, parameter.dtype
    if module.training:  # eval() walks every submodule: ~1 ms a call on a fused U-Net
        module.eval()
    step = batch_size or max(len(x), 1)
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), step):
            chunk = x[i : i + step]
            if prepare is not None:
                chunk = prepare(chunk)
            chunk = chunk.to(device, dtype).contiguous(memory_format=torch.channels_last)
            with autocast(device, bf16):  # around the network only, not ``prepare``
                logits = module(chunk).float()
            out.append(logits if on_device else logits.cpu())
    # one chunk is returned as is: copying a scene window's (N, K, H, W) logits costs time
    return out[0] if len(out) == 1 else torch.cat(out)
