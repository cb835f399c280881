"""A one-page A4 report of a mapped area, for people who were not at the demo.

The page holds the four panels (satellite image, Urban Atlas truth, prediction, confidence),
the legend with km2 and % per class, the plain-language summary (:mod:`lulc_core.summary`),
the model card's headline scores and training data, and the scene's provenance with the licence
and attribution lines of its sources. It is drawn with matplotlib's object API (no pyplot: no
global state, safe in the dashboard's threads) and saved by its PDF backend.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from lulc_core.artifacts import ModelCard
from lulc_core.render import colorize, confidence_image
from lulc_core.summary import AreaSummary, plain_legend, summarise

if TYPE_CHECKING:
    from lulc_core.data.scene import SceneManifest
    from lulc_core.predict import AreaPrediction

A4_INCHES = (8.27, 11.69)  # portrait
PANEL_MAX_SIDE = 640  # px per panel: ~230 dpi at its printed size, a PDF of a few hundred kB
FONT = 7.0

SENTINEL_LICENCE = ("Contains modified Copernicus Sentinel data{year}. Free and open data under "
                    "the Copernicus data policy (Regulation (EU) No 1159/2013).")
URBAN_ATLAS_LICENCE = ("Urban Atlas: © European Union, Copernicus Land Monitoring Service, "
                       "European Environment Agency (EEA). Free and open use with attribution.")
EUROSAT_CREDIT = ("Imagery textures: EuroSAT (Helber et al. 2019, MIT licence), image patches made "
                  "from Copernicus Sentinel-2 data.")
READING_GUIDE = [
    "Satellite image: the area as Sentinel-2 saw it, in true colour (10 m pixels).",
    "Official map: the Urban Atlas, land use drawn by people from aerial photos for the "
    "European Environment Agency; the reference the model is checked against.",
    "Model's map: what the model says each 10 m pixel is used for, in the same colours.",
    "Confidence: how sure the model is of each pixel, white = sure, dark = unsure; dark areas "
    "are where its map should be trusted least.",
]


def _panel(picture: np.ndarray) -> np.ndarray:
    """Every n-th pixel so the longer side is at most ``PANEL_MAX_SIDE`` (nearest neighbour keeps
    class colours exact; a few hundred pixels per panel are as much as the page shows)."""
    step = max(1, int(np.ceil(max(picture.shape[:2]) / PANEL_MAX_SIDE)))
    return picture[::step, ::step]


def provenance_lines(scene: SceneManifest, has_truth: bool) -> list[str]:
    """Where the scene and its truth come from, and the licence lines those sources ask for."""
    if scene.synthetic:
        lines = [f"Scene '{scene.name}': SYNTHETIC demo scene (a made-up city layout), not a real "
                 "Sentinel-2 acquisition.", f"Built: {(scene.created or 'not recorded')[:10]}.",
                 EUROSAT_CREDIT]
    else:
        year = f" {scene.acquired[:4]}" if scene.acquired else ""
        lines = [f"Scene '{scene.name}': real Sentinel-2 {scene.level} imagery ({scene.source}).",
                 f"Acquired: {scene.acquired or 'not recorded'}. Processing baseline: "
                 f"{scene.processing_baseline or 'not recorded'}. CRS {scene.crs}.",
                 scene.attribution or SENTINEL_LICENCE.format(year=year)]
    if not has_truth:
        lines.append("Ground truth: none for this area (no Urban Atlas product covers it).")
    elif scene.labels_source in (None, "synthetic-demo"):
        lines.append("Ground truth: the synthetic layout, drawn with Urban Atlas classes (not an "
                     "Urban Atlas product).")
    else:
        lines += [f"Ground truth: Urban Atlas ({Path(scene.labels_source).name}).",
                  URBAN_ATLAS_LICENCE]
    lines.append("Class names and colours: Urban Atlas 2018 nomenclature, © European Union, "
                 "Copernicus Land Monitoring Service, EEA.")
    return lines


def model_lines(card: ModelCard) -> list[str]:
    """The card's headline scores (test split) and what the model was trained on."""
    m, split = card.metrics, card.split
    scores = [f"{label} {m[key]:.1%}" for key, label in
              (("pixel_accuracy", "pixel accuracy"), ("miou", "mean IoU"), ("macro_f1", "macro F1"))
              if isinstance(m.get(key), (int, float))]
    encoder = f" ({card.encoder}, initialised from {card.encoder_weights})" if card.encoder else ""
    data = card.data.get("source") or "not recorded"
    val = f", {split['val']} validation" if split.get("val") else ""
    patches = (f"{split['train']} training{val} and {split['test']} test patches of "
               f"{card.patch_size} px, {split.get('split_method', '')} split"
               if "train" in split and "test" in split else "")
    return [
        f"Model '{card.name}': {card.architecture}{encoder}, bands {', '.join(card.bands)}.",
        "Test scores: " + ("; ".join(scores) if scores else "none recorded") + ".",
        f"Trained on: {data}" + (" (SYNTHETIC demo data)" if card.synthetic else "") + ".",
        *([patches[0].upper() + patches[1:] + "."] if patches else []),
        f"Created {card.created[:10]}, code version {card.code_version}.",
    ]


def _text_block(fig: Figure, x: float, y: float, heading: str, lines: list[str],
                width: int) -> None:
    wrapped = "\n".join(textwrap.fill(line, width, subsequent_indent="  ") for line in lines)
    fig.text(x, y, heading, fontsize=FONT + 2, fontweight="bold", va="top")
    fig.text(x, y - 0.018, wrapped, fontsize=FONT, va="top", linespacing=1.35)


def _legend_rows(area: AreaPrediction) -> tuple[list[str], list[str], list[str], list[str]]:
    """(colours, plain class names, truth "km2 %", model "km2 %") of the classes that show on
    the panels (0.005 km2 and more, what prints as 0.01), largest official area first."""
    shown = plain_legend(area, min_km2=0.00499)

    # km2 and % share one cell: DejaVu Sans digits all have the same width and U+2007 (figure
    # space) is as wide as a digit, so the numbers line up with half the text objects (drawing
    # text is what costs time in the PDF backend).
    def cell(km2: float, pct: float) -> str:
        return f"{km2:>6.2f} {pct:>5.1f}".replace(" ", "\u2007")

    truth = ([cell(r.truth_km2, r.truth_pct) for r in shown.itertuples()] if "truth_km2" in shown
             else ["-"] * len(shown))
    model = [cell(r.predicted_km2, r.predicted_pct) for r in shown.itertuples()]
    return [c or "#000000" for c in shown["color"]], list(shown["name"]), truth, model


def _legend(ax, area: AreaPrediction) -> None:
    colours, names, truth, model = _legend_rows(area)
    ax.axis("off")
    tab = ax.table(cellText=[["", *row] for row in zip(names, truth, model)],
                   cellColours=[[c, "white", "white", "white"] for c in colours],
                   colLabels=["", "class", "truth km2, %", "model km2, %"], loc="upper center",
                   colWidths=[0.06, 0.42, 0.26, 0.26], cellLoc="right")
    tab.auto_set_font_size(False)
    tab.set_fontsize(FONT - 1)
    tab.scale(1, 1.12)
    for (r, c), cell in tab.get_celld().items():
        cell.set_linewidth(0.3)
        cell.PAD = 0.04
        if c == 1:
            cell.set_text_props(ha="left")
        if r == 0:
            cell.set_text_props(fontweight="bold")
    ax.set_title("Legend: area per class on the official map\n(truth) and on the model's map"
                 if area.truth is not None else "Legend: area per class on the model's map",
                 fontsize=FONT + 1, loc="left")


def report_figure(area: AreaPrediction, card: ModelCard, scene: SceneManifest, title: str,
                  summary: AreaSummary | None = None) -> Figure:
    """The one-page A4 report as a matplotlib Figure (save it as PDF or PNG).

    Args:
        area: the mapped area (arrays (H, W), area table).
        card: card of the model that mapped it.
        scene: manifest of the scene it was cut from.
        title: what the reader sees first, e.g. ``"Paris: Centre (10 x 10 km)"``.
        summary: the plain-language summary (computed from ``area`` when not given).
    """
    summary = summary or summarise(area)
    fig = Figure(figsize=A4_INCHES)
    w, s, e, n = area.bounds_wgs84
    fig.text(0.05, 0.975, f"Land use: {title}", fontsize=15, fontweight="bold", va="top")
    fig.text(0.05, 0.952, f"Box W {w:.4f}, S {s:.4f}, E {e:.4f}, N {n:.4f} (degrees, WGS84); "
             f"{summary.km2:.1f} km2 mapped by '{card.name}'. Report made "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.", fontsize=FONT, va="top")
    if scene.synthetic:
        fig.text(0.05, 0.938, "SYNTHETIC DEMO DATA: a made-up city, not a real acquisition.",
                 fontsize=FONT + 1, color="#b00000", fontweight="bold", va="top")
    fig.text(0.05, 0.920, textwrap.fill(summary.text, 125), fontsize=FONT + 1.5, va="top",
             linespacing=1.4, bbox={"facecolor": "#f3f3f3", "edgecolor": "#cccccc", "pad": 5})

    truth = colorize(area.truth) if area.truth is not None else None
    panels = [(area.rgb, "Satellite image (Sentinel-2 true colour)"),
              (truth, "No official map here" if truth is None else "Official map (Urban Atlas)"),
              (colorize(area.prediction), f"Model's map ({card.name})"),
              (confidence_image(area.confidence), "Confidence (dark = unsure)")]
    grid = fig.add_gridspec(2, 2, left=0.04, right=0.625, bottom=0.36, top=0.815, wspace=0.05,
                            hspace=0.10)
    for k, (picture, label) in enumerate(panels):
        ax = fig.add_subplot(grid[k // 2, k % 2])
        ax.set_axis_off()
        ax.set_title(label, fontsize=FONT + 0.5)
        if picture is None:
            ax.text(0.5, 0.5, "no Urban Atlas\nfor this area", ha="center", va="center",
                    fontsize=FONT + 1, color="#666666", transform=ax.transAxes)
        else:
            ax.imshow(_panel(picture), interpolation="nearest")
    _legend(fig.add_axes((0.64, 0.36, 0.345, 0.435)), area)
    _text_block(fig, 0.05, 0.335, "The model", model_lines(card), 62)
    _text_block(fig, 0.52, 0.335, "The data", provenance_lines(scene, area.truth is not None), 66)
    _text_block(fig, 0.05, 0.165, "How to read this page", READING_GUIDE, 135)
    fig.text(0.05, 0.02, "Made with lulc (open-source land-use mapping). Percentages are shares "
             "of the mapped pixels; 1 pixel = 10 m x 10 m.", fontsize=FONT - 1, color="#555555")
    return fig


def report_pdf(area: AreaPrediction, card: ModelCard, scene: SceneManifest, title: str,
               summary: AreaSummary | None = None) -> bytes:
    """The report as the bytes of a one-page A4 PDF (see :func:`report_figure`)."""
    buffer = io.BytesIO()
    report_figure(area, card, scene, title, summary).savefig(
        buffer, format="pdf", metadata={"Title": f"Land use: {title}", "Creator": "lulc"})
    return buffer.getvalue()

