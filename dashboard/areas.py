"""A mapped area in the Map explorer: its summary in words, its pictures, its patch map facts
and its one-page report (matplotlib loads on the first download, not with the page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lulc_core.summary import AreaSummary, summarise

if TYPE_CHECKING:
    from lulc_core.artifacts import ModelCard
    from lulc_core.data.scene import SceneManifest
    from lulc_core.predict import AreaPrediction

__all__ = ["max_nodata_share", "picture", "report", "summarise"]


def picture(area: AreaPrediction, layer: str) -> np.ndarray:
    """uint8 (H, W, 3) picture of one pixel layer of the area (``image``, ``truth``,
    ``prediction`` or ``confidence``), on its grid."""
    from lulc_core.render import colorize, confidence_image

    if layer == "image":
        return area.rgb
    if layer == "truth":
        return colorize(area.truth)
    if layer == "prediction":
        return colorize(area.prediction)
    return confidence_image(area.confidence)


def max_nodata_share() -> float:
    """Share of no-data pixels above which a patch is left out of the patch map."""
    from lulc_core.patch_map import MAX_NODATA_SHARE

    return MAX_NODATA_SHARE


def report(area: AreaPrediction, card: ModelCard, scene: SceneManifest, title: str,
           summary: AreaSummary) -> bytes:
    """The area's one-page A4 report as PDF bytes (:func:`lulc_core.report.report_pdf`)."""
    from lulc_core.report import report_pdf  # matplotlib loads on the first click, not before

    return report_pdf(area, card, scene, title, summary)
