"""Photometric training augmentation shared by both recipes (classifier and segmenter).

Values are in the model's input units before normalisation: uint8 / 255 for EuroSAT, surface
reflectance for segmenters.
"""

from __future__ import annotations

import torch
from pydantic import Field

from lulc_core.config import StrictModel
from lulc_core.errors import InvalidDataError

# Haze per band relative to blue: medians of L1C - L2A reflectance over the real Versailles
# scenes (3 dates, 2019-07; shared/data/real_s2): blue +0.052..0.059, green +0.022..0.028,
# red +0.012..0.017 (path radiance falls steeply with wavelength).
RELATIVE_HAZE = {"B02": 1.0, "B03": 0.42, "B04": 0.25}


class PhotometricConfig(StrictModel):
    """Strengths of the photometric training augmentation (0 switches one operation off).

    Every sample draws its own values, uniformly: brightness factor ``1 +- brightness``, contrast
    factor ``1 +- contrast`` around the sample's mean, gamma ``exp(+- gamma)``, per-band gain
    ``1 +- band_gain`` and a haze offset ``U(0, haze) * RELATIVE_HAZE[band]`` (path radiance:
    a top-of-atmosphere L1C image is roughly the L2A surface reflectance plus this; the default
    covers the +0.055 blue offset measured on real scenes). Values are in the model's input
    units before normalisation: uint8 / 255 for EuroSAT, surface reflectance for segmenters.
    """

    brightness: float = Field(0.1, ge=0, lt=1, description="max relative brightness change")
    contrast: float = Field(0.1, ge=0, lt=1, description="max relative contrast change")
    gamma: float = Field(0.1, ge=0, le=1, description="max |log gamma|")
    band_gain: float = Field(0.05, ge=0, lt=1, description="max relative per-band gain change")
    haze: float = Field(0.06, ge=0, le=0.5, description="max additive blue offset")


def haze_weights(bands: list[str]) -> torch.Tensor:
    """Relative haze per band (:data:`RELATIVE_HAZE`, blue = 1) as a (C,) tensor.

    Raises:
        InvalidDataError: a band without a measured haze ratio.
    """
    unknown = [b for b in bands if b not in RELATIVE_HAZE]
    if unknown:
        raise InvalidDataError(f"no haze ratio known for band(s) {unknown}: use bands of "
                               f"{sorted(RELATIVE_HAZE)} or --no-photometric")
    return torch.tensor([RELATIVE_HAZE[b] for b in bands])


def photometric(x: torch.Tensor, config: PhotometricConfig, haze_per_band: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, contrast, gamma, per-band gain and haze per sample, in bulk.

    Args:
        x: float (N, C, H, W) batch in [0, 1] (not normalised), on any device.
        config: strengths.
        haze_per_band: (C,) relative haze per band (:func:`haze_weights`).
        generator: seeds the draws (on ``x``'s device).

    Returns:
        float (N, C, H, W) in [0, 1].
    """
    n, c = x.shape[:2]

    def draw(*shape: int) -> torch.Tensor:  # U(-1, 1)
        return torch.rand(*shape, 1, 1, device=x.device, generator=generator) * 2 - 1

    # Gamma first, on [0, 1], where it keeps black and white fixed; then the linear changes,
    # haze last (it is added on the way up through the atmosphere). An operation whose
    # strength is 0 is skipped, so it changes no value, not even by rounding.
    x = x.clamp(0, 1)
    if config.gamma:
        x = x ** torch.exp(config.gamma * draw(n, 1))
    if config.contrast:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * (1 + config.contrast * draw(n, 1)) + mean
    if config.brightness:
        x = x * (1 + config.brightness * draw(n, 1))
    if config.band_gain:
        x = x * (1 + config.band_gain * draw(n, c))
    if config.haze:
        x = x + (draw(n, 1) + 1) / 2 * config.haze * haze_per_band.to(x.device).view(1, c, 1, 1)
    return x.clamp(0, 1)
