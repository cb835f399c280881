"""The fast inference path (folded BatchNorm, channels_last, bf16 decoder, blending only where
windows overlap) against the plain fp32 model and the full-accumulation blend it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lulc_core.data.demo import build_demo_scene
from lulc_core.data.sentinel2 import load_scene
from lulc_core.geo import AOI
from lulc_core.models import fuse_for_inference, load_model
from lulc_core.geo import raised_cosine
from lulc_core.predict import normalise, predict_array
from lulc_core.predict.window import _window_starts

# A part of the Paris demo scene (Paris style, EuroSAT textures when the shared data is there),
# about 570 x 560 px: four 512 px windows with the default overlap.
AREA = AOI("paris", 2.30, 48.83, 2.378, 48.88)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    folder = tmp_path_factory.mktemp("speed") / "paris"
    build_demo_scene(AREA, folder, seed=0)
    image = load_scene(folder).image
    assert image.shape[1] > 512 and image.shape[2] > 512
    return image


@pytest.fixture(scope="module")
def models() -> tuple[torch.nn.Module, torch.nn.Module, object]:
    plain, card = load_model("unet-paris")
    fast, _ = load_model("unet-paris", fused=True)
    return plain, fast, card


def test_folding_leaves_no_batchnorm_and_the_same_fp32_outputs(models) -> None:
    plain, _, _ = models
    folded = fuse_for_inference(plain)
    assert not [m for m in folded.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert all(p.is_contiguous(memory_format=torch.channels_last)
               for p in folded.parameters() if p.dim() == 4)
    x = torch.randn(2, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        torch.testing.assert_close(folded(x.contiguous(memory_format=torch.channels_last)),
                                   plain(x), rtol=1e-4, atol=1e-3)


def _full_blend(module: torch.nn.Module, card, reflectance: np.ndarray, tile: int,
                overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """The blend as it was: every window's weighted softmax accumulated over the whole area."""
    x, _ = normalise(card, reflectance)
    _, h, w = x.shape
    weight = np.outer(raised_cosine(tile), raised_cosine(tile))
    probs, wsum = np.zeros((card.num_classes, h, w)), np.zeros((h, w))
    with torch.inference_mode():
        for y in _window_starts(h, tile, overlap):
            for xx in _window_starts(w, tile, overlap):
                logits = module(torch.from_numpy(x[None, :, y : y + tile, xx : xx + tile].copy()))
                probs[:, y : y + tile, xx : xx + tile] += torch.softmax(logits[0], 0).numpy() * weight
                wsum[y : y + tile, xx : xx + tile] += weight
    return probs.argmax(0).astype(np.uint8), probs.max(0) / wsum


@pytest.mark.parametrize("tile, overlap", [(128, 32), (96, 40)])
def test_blending_only_the_overlaps_equals_the_full_blend(models, scene: np.ndarray, tile: int,
                                                           overlap: int) -> None:
    plain, _, card = models
    area = scene[:, -200:, -270:]  # windows of every kind: full, flush with the end, corners
    ref_classes, ref_conf = _full_blend(plain, card, area, tile, overlap)
    classes, conf = predict_array(plain, card, area, tile=tile, overlap=overlap)
    data = ~np.isnan(area).any(axis=0)
    assert data.mean() > 0.5
    assert (classes[data] == ref_classes[data]).mean() > 0.9999  # exact ties aside
    np.testing.assert_allclose(conf[data], ref_conf[data], atol=1e-5)


def test_fast_path_agrees_with_fp32(models, scene: np.ndarray) -> None:
    """What `lulc predict` and the Map explorer run vs the fp32 model, same windows."""
    plain, fast, card = models
    ref_classes, ref_conf = predict_array(plain, card, scene)
    classes, conf = predict_array(fast, card, scene)
    data = ~np.isnan(scene).any(axis=0)
    assert (classes[~data] == ref_classes[~data]).all()  # nodata
    agreement = (classes[data] == ref_classes[data]).mean()
    diff = np.abs(conf[data] - ref_conf[data]) * 100
    print(f"class agreement {agreement:.2%}, confidence |diff| p99 {np.percentile(diff, 99):.2f} "
          f"points, max {diff.max():.2f}")
    assert agreement >= 0.995
    assert np.percentile(diff, 99) <= 1.0
    classes_only, none = predict_array(fast, card, scene, confidence=False)
    assert none is None and (classes_only == classes).all()


def test_the_fast_copy_is_a_copy(models) -> None:
    plain, fast, _ = models
    assert all(p.dtype == torch.float32 for p in plain.parameters())
    assert fast is not plain and isinstance(fast, type(plain))
