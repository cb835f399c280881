"""The demo cities' centre presets, predicted by their own U-Net, for tests that need a real
area (skipped when the demo scenes are not built)."""

from __future__ import annotations

import pytest

from lulc_core.config import REPO_ROOT, scenes_dir
from lulc_core.predict import AreaPrediction


def centre_middle(city: str) -> AreaPrediction:
    """The middle 3 x 3 km of the city's "Centre (10 x 10 km)" preset, mapped by ``unet-<city>``
    (the same kind of area as the preset, a tenth of the time)."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.geo import AOI, PRESET_AREAS
    from lulc_core.models import load_model
    from lulc_core.predict import predict_area

    if not (scenes_dir() / city / "manifest.json").is_file():
        pytest.skip("demo scenes not built (make test runs `lulc demo-data` first)")
    w, s, e, n = PRESET_AREAS[city]["Centre (10 x 10 km)"].bounds
    cx, cy = (w + e) / 2, (s + n) / 2
    model = load_model(REPO_ROOT / "artifacts" / "models" / f"unet-{city}", fused=True)
    return predict_area(model, scene_dir(city),
                        AOI("middle", cx - 0.02, cy - 0.0135, cx + 0.02, cy + 0.0135))
