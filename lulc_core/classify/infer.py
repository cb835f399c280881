"""Classify single images: the test-time transform, loading a classifier, top-k classes.

Inputs are turned into what the network saw at test time during training, using only the
model card: RGB uint8 -> float in [0, 1] -> resize to ``card.input_size`` -> normalise with
``card.normalization``; the network runs in :func:`lulc_core.inference.forward`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lulc_core.artifacts import ModelCard
from lulc_core.classify.read import ImageInput, read_rgb
from lulc_core.errors import InvalidDataError, ModelMismatchError
from lulc_core.inference import forward

Model = str | Path | tuple[torch.nn.Module, ModelCard]


def eval_transform(card: ModelCard) -> Callable[[np.ndarray], torch.Tensor]:
    """The test-time transform of a classifier: RGB uint8 (H, W, 3) -> float32 (3, S, S).

    Scales to [0, 1], resizes (bilinear, antialiased) to ``card.input_size`` when the image
    is another size, and normalises with the card's mean and std.
    """
    size = card.input_size
    mean = torch.tensor(card.normalization["mean"], dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(card.normalization["std"], dtype=torch.float32).view(-1, 1, 1)

    def transform(rgb: np.ndarray) -> torch.Tensor:
        image = torch.tensor(rgb, dtype=torch.uint8).permute(2, 0, 1).float() / 255.0
        if image.shape[1:] != (size, size):
            image = torch.nn.functional.interpolate(
                image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )[0]
        return (image - mean) / std

    return transform


def load_classifier(model: Model) -> tuple[torch.nn.Module, ModelCard]:
    """Load a classifier by name or folder (or pass through a loaded ``(module, card)``).

    Raises:
        UnknownNameError / ModelMismatchError: from :func:`lulc_core.models.load_model`.
        ModelMismatchError: the model is a segmenter.
    """
    if isinstance(model, tuple):
        module, card = model
    else:
        from lulc_core.models import load_model

        module, card = load_model(str(model))
    if card.task != "classification":
        raise ModelMismatchError(
            f"model {card.name!r} is a {card.task} model: pass a classifier "
            "(see `lulc models --task classification`)"
        )
    return module.eval(), card


@dataclass(frozen=True)
class ImagePrediction:
    """Top classes of one image, best first, and any note (e.g. it was resized)."""

    source: str
    top: list[tuple[str, float]]
    note: str | None = None


def predict_images(
    model: Model,
    inputs: Sequence[ImageInput],
    top_k: int = 3,
    batch_size: int = 64,
    bf16: bool = False,
) -> list[ImagePrediction]:
    """Classify images; see :func:`classify_images` for the plain result."""
    module, card = load_classifier(model)
    if top_k < 1:
        raise InvalidDataError(f"top-k is {top_k}: pass a number from 1 to {card.num_classes}")
    top_k = min(top_k, card.num_classes)
    transform = eval_transform(card)
    names = [c.name for c in sorted(card.classes, key=lambda c: c.index)]
    results: list[ImagePrediction] = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        images = [read_rgb(x) for x in chunk]
        probs = forward(module, torch.stack([transform(img) for img in images]), bf16=bf16).softmax(1)
        values, indexes = probs.topk(top_k, dim=1)
        for source, img, vals, idxs in zip(chunk, images, values, indexes, strict=True):
            h, w = img.shape[:2]
            note = None
            if (h, w) != (card.patch_size, card.patch_size):
                note = (
                    f"{w}x{h} image resized to {card.input_size}x{card.input_size}; the model "
                    f"was trained on {card.patch_size}x{card.patch_size} patches"
                )
            label = str(source) if isinstance(source, (str, Path)) else f"<{type(source).__name__}>"
            top = [(names[int(i)], float(v)) for v, i in zip(vals, idxs, strict=True)]
            results.append(ImagePrediction(label, top, note))
    return results


def classify_images(
    model_name_or_folder: Model, inputs: Sequence[ImageInput], top_k: int = 3
) -> list[list[tuple[str, float]]]:
    """Top-k classes with probabilities for each input image.

    Args:
        model_name_or_folder: model name under ``artifacts/models``, its folder, or an
            already loaded ``(module, card)`` pair (the dashboard caches one).
        inputs: JPG/PNG/GeoTIFF paths, PIL images or RGB numpy arrays (H, W, 3).
        top_k: classes to return per image.

    Returns:
        For each input, ``[(class_name, probability), ...]`` best first.
    """
    return [p.top for p in predict_images(model_name_or_folder, inputs, top_k=top_k)]
