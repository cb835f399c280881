"""The one-page PDF report: one A4 page, rendered back to PNG with poppler's pdftoppm to check
that the four panels and the legend colours are on it; provenance lines for real and
synthetic scenes."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo_areas import centre_middle
from lulc_core.artifacts import load_card
from lulc_core.config import REPO_ROOT, scenes_dir
from lulc_core.data.scene import SceneManifest, read_manifest, scene_dir
from lulc_core.predict import area_table
from lulc_core.report import provenance_lines, report_figure, report_pdf

CARD = load_card(REPO_ROOT / "artifacts" / "models" / "unet-paris")
DPI = 60


@pytest.fixture(scope="module")
def paris_area():
    return centre_middle("paris")


def _pdf_to_png(pdf: bytes, tmp_path: Path) -> tuple[str, np.ndarray]:
    """(pdfinfo output, the first page as uint8 (H, W, 3)) through poppler-utils."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils not installed (make test installs it with apt)")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    return info, np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))


def _region(page: np.ndarray, box) -> np.ndarray:
    """The pixels of a figure-fraction box (x0, y0, x1, y1) on the rendered page."""
    h, w = page.shape[:2]
    x0, y0, x1, y1 = box
    return page[int((1 - y1) * h): int((1 - y0) * h), int(x0 * w): int(x1 * w)]


def _colours(pixels: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(int(v) for v in c) for c in pixels.reshape(-1, 3)}


def test_one_a4_page_with_panels_and_legend(paris_area, tmp_path: Path) -> None:
    scene = read_manifest(scene_dir("paris"))
    info, page = _pdf_to_png(report_pdf(paris_area, CARD, scene, "Paris: middle"), tmp_path)
    assert "Pages:           1" in info
    assert "595.44 x 841.68 pts (A4)" in info
    fig = report_figure(paris_area, CARD, scene, "Paris: middle")  # same layout: where things are
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == [
        "Satellite image (Sentinel-2 true colour)", "Official map (Urban Atlas)",
        "Model's map (unet-paris)", "Confidence (dark = unsure)"]
    for ax in panels:
        pixels = _region(page, ax.get_position().extents)
        assert pixels.std() > 5, f"{ax.get_title()} is blank on the page"
    # the legend's swatches: every class colour of the area is printed in the legend column
    legend = next(ax for ax in fig.axes if ax.tables)
    printed = _colours(_region(page, legend.get_position().extents))
    table = paris_area.area_table
    big = table[(table["predicted_km2"] >= 0.05) | (table["truth_km2"] >= 0.05)]
    for colour in big["color"]:
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert any(max(abs(a - b) for a, b in zip(rgb, c)) <= 3 for c in printed), colour
    text = " ".join(" ".join(t.get_text() for t in fig.texts).split())  # wrapped lines joined
    assert "The model agrees with the official map" in text
    assert "SYNTHETIC" in text and f"pixel accuracy {CARD.metrics['pixel_accuracy']:.1%}" in text
    assert f"{CARD.split['val']} validation" in text


def test_area_without_truth(paris_area, tmp_path: Path) -> None:
    area = dataclasses.replace(paris_area, truth=None,
                               area_table=area_table(CARD, paris_area.prediction))
    scene = read_manifest(scene_dir("paris"))
    fig = report_figure(area, CARD, scene, "Paris: no truth")
    titles = [ax.get_title() for ax in fig.axes]
    assert "No official map here" in titles
    text = " ".join(" ".join(t.get_text() for t in fig.texts).split())  # wrapped lines joined
    assert "There is no official land-use map" in text and "Ground truth: none" in text
    info, _ = _pdf_to_png(report_pdf(area, CARD, scene, "Paris: no truth"), tmp_path)
    assert "Pages:           1" in info


def test_provenance_of_a_real_scene() -> None:
    real = SceneManifest(
        name="versailles", city="paris", bounds_wgs84=(2.07, 48.79, 2.14, 48.83), crs="EPSG:32631",
        bands=["B02", "B03", "B04"], synthetic=False,
        source="stac:https://earth-search.aws.element84.com/v1",
        items=[{"id": "S2A_31UDQ_20190708_0_L2A"}], acquired="2019-07-08",
        processing_baseline="02.13",
        labels_source="/data/FR001L2_PARIS_UA2018.gpkg")
    lines = "\n".join(provenance_lines(real, has_truth=True))
    assert "real Sentinel-2 L2A imagery" in lines and "Acquired: 2019-07-08" in lines
    assert "Processing baseline: 02.13" in lines
    assert "Contains modified Copernicus Sentinel data 2019" in lines
    assert "Urban Atlas (FR001L2_PARIS_UA2018.gpkg)" in lines
    assert "© European Union, Copernicus Land Monitoring Service" in lines
    no_truth = "\n".join(provenance_lines(real, has_truth=False))
    assert "Ground truth: none" in no_truth and "FR001L2" not in no_truth


def test_provenance_of_the_synthetic_scene() -> None:
    if not (scenes_dir() / "paris" / "manifest.json").is_file():
        pytest.skip("demo scenes not built (make test runs `lulc demo-data` first)")
    lines = "\n".join(provenance_lines(read_manifest(scene_dir("paris")), has_truth=True))
    assert "SYNTHETIC demo scene" in lines and "EuroSAT" in lines
    assert "not an Urban Atlas product" in lines and "Copernicus Sentinel data 20" not in lines
