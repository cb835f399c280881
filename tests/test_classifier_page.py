"""The EuroSAT classifier page (AppTest): browsing test images and uploading bad images, on a
tiny generated EuroSAT folder and a randomly initialised classifier."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from conftest import write_fake_eurosat
from PIL import Image
from streamlit.testing.v1 import AppTest

from lulc_core.artifacts import ClassInfo, ModelCard, save_model
from lulc_core.classes import EUROSAT_CLASSES
from lulc_core.config import REPO_ROOT, models_dir
from lulc_core.heldout import TEST_PREDICTIONS_FILE, prediction_table, predictions_csv
from lulc_core.models import build_classifier

PAGE = str(REPO_ROOT / "app_pages" / "classifier.py")
PER_CLASS = 3  # 30 test images: two pages of 24
MISTAKES = {"Forest/Forest_2.jpg": "Pasture", "River/River_1.jpg": "Highway",
            "River/River_3.jpg": "SeaLake", "SeaLake/SeaLake_1.jpg": "River"}


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """The dashboard's caches are per process and keyed by model name, not by artifacts
    folder: clear them so these generated models do not leak into other page tests."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def classifier(isolated_dirs: dict[str, Path], tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Path:
    """A random classifier named ``tiny`` whose saved test predictions hold :data:`MISTAKES`,
    and a generated EuroSAT folder at ``$LULC_EUROSAT_DIR``."""
    root = write_fake_eurosat(tmp_path / "eurosat", per_class=PER_CLASS)
    monkeypatch.setenv("LULC_EUROSAT_DIR", str(root))
    torch.manual_seed(0)
    net = build_classifier("efficientnet_lite0", len(EUROSAT_CLASSES), weights=None)
    card = ModelCard(
        name="tiny", task="classification", architecture="efficientnet_lite0",
        bands=["B04", "B03", "B02"],
        classes=[ClassInfo(index=i, name=c) for i, c in enumerate(EUROSAT_CLASSES)],
        normalization={"mean": [0.4] * 3, "std": [0.2] * 3}, input_size=64, patch_size=64,
    )
    paths = sorted(f"{p.parent.name}/{p.name}" for p in root.glob("*/*.jpg"))
    truth = np.array([EUROSAT_CLASSES.index(p.split("/")[0]) for p in paths])
    answer = [EUROSAT_CLASSES.index(MISTAKES.get(p, p.split("/")[0])) for p in paths]
    probs = np.full((len(paths), len(EUROSAT_CLASSES)), 0.02)
    probs[np.arange(len(paths)), answer] = 0.82
    probs[list(paths).index("River/River_3.jpg")] *= 1.05  # most confident mistake: shown first
    table = prediction_table(paths, probs, truth, EUROSAT_CLASSES)
    folder = models_dir() / "tiny"
    save_model(folder, net.state_dict(), card, extra_files={
        "split.json": json.dumps({"train": [], "test": paths}),
        TEST_PREDICTIONS_FILE: predictions_csv(table),
    })
    return folder


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def test_browse_shows_mistakes_first_and_pages(classifier: Path) -> None:
    at = _page()
    assert not at.exception
    assert any("4 of 30 test images misclassified" in m.value for m in at.markdown)
    captions = _captions(at)
    assert len(captions) == 24
    assert captions[0] == "true: River / predicted: SeaLake (p=0.86)"
    assert {c.split(" / ")[0] for c in captions[:4]} == {"true: Forest", "true: River",
                                                         "true: SeaLake"}
    badges = [m.value for m in at.markdown if "badge" in m.value]
    assert badges[:4] == [":red-badge[Mistake]"] * 4
    assert set(badges[4:]) == {":green-badge[Correct]"}
    at.number_input(key="clf_page").set_value(2).run()
    assert not at.exception and len(_captions(at)) == 6


def test_filter_by_class_and_mistakes_only(classifier: Path) -> None:
    at = _page()
    at.number_input(key="clf_page").set_value(2).run()
    at.selectbox(key="clf_true_class").select("River").run()
    assert at.number_input(key="clf_page").value == 1  # a new filter starts at page 1
    captions = _captions(at)
    assert len(captions) == PER_CLASS and all(c.startswith("true: River") for c in captions)
    at.toggle(key="clf_mistakes_only").set_value(True).run()
    assert [c.split(" (")[0] for c in _captions(at)] == [
        "true: River / predicted: SeaLake", "true: River / predicted: Highway"]
    at.selectbox(key="clf_true_class").select("Forest").run()
    at.selectbox(key="clf_true_class").select("Pasture").run()
    assert not at.exception and not _captions(at) and "No mistakes" in at.success[0].value


def test_missing_predictions_or_images_explain_what_to_run(
    classifier: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LULC_EUROSAT_DIR", str(tmp_path / "nowhere"))
    at = _page()
    assert not at.exception and not _captions(at)
    assert any("4 of 30" in m.value for m in at.markdown)  # the numbers need no images
    assert "lulc fetch eurosat" in at.info[0].value
    (classifier / TEST_PREDICTIONS_FILE).unlink()
    at = _page()
    assert not at.exception and "lulc evaluate --model tiny" in at.info[0].value


def _upload(at: AppTest, data: bytes, name: str = "tile.png") -> AppTest:
    return at.file_uploader(key="clf_upload").set_value((name, data, "image/png")).run()


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_top3_and_clear_messages_for_bad_files(classifier: Path) -> None:
    at = _upload(_page(), _png((64, 64)))
    assert not at.exception and not at.error
    top = at.dataframe[0].value
    assert len(top) == 3 and set(top["class"]) <= set(EUROSAT_CLASSES)
    assert top["probability"].is_monotonic_decreasing
    at = _upload(at, _png((100, 80)))
    assert not at.exception and "resized and stretched to a square" in at.info[0].value
    for data, words in [(b"not an image at all", "not a readable image"),
                        (_png((300, 64)), "far from square"), (_png((20, 20)), "too small")]:
        at = _upload(at, data)
        assert not at.exception and words in at.error[0].value
        assert any("misclassified" in m.value for m in at.markdown)  # browsing still works
