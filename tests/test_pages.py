"""Streamlit AppTest: every page renders without exception and shows its key numbers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lulc_core.config import REPO_ROOT
from lulc_core.geo import AOI

MODELS = REPO_ROOT / "artifacts" / "models"
# A small demo Paris that holds the map explorer's "Centre (10 x 10 km)" preset (~1200 x 1200 px)
PARIS_CENTRE = AOI("paris", 2.27, 48.80, 2.43, 48.91)


@pytest.fixture(scope="module")
def demo_paris(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$LULC_DATA_DIR`` with a synthetic demo scene named paris (real formats), built here so
    the map pages are tested whether or not ``./data`` holds the demo scenes."""
    from lulc_core.data.demo import build_demo_scene

    data = tmp_path_factory.mktemp("pages-data")
    build_demo_scene(PARIS_CENTRE, data / "scenes" / "paris", seed=0)
    mp = pytest.MonkeyPatch()
    mp.setenv("LULC_DATA_DIR", str(data))
    st.cache_data.clear()  # scenes are cached by city name, not by data folder
    st.cache_resource.clear()
    yield data
    st.cache_data.clear()
    st.cache_resource.clear()
    mp.undo()


def _app() -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()


def test_overview_lists_committed_models() -> None:
    at = _app()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"efficientnet_lite0", "unet-paris"} <= set(table["model"])


def test_model_evaluation_shows_the_card_metrics() -> None:
    at = _app()
    at.switch_page("app_pages/model_evaluation.py").run()
    assert not at.exception
    at.selectbox(key="eval_model").select("efficientnet_lite0").run()
    card = json.loads((MODELS / "efficientnet_lite0" / "card.json").read_text())
    shown = next(m.value for m in at.metric if m.label == "Test accuracy")
    assert shown == f"{card['metrics']['accuracy']:.2%}"
    for view in ("absolute", "log", "row"):
        at.radio(key="cm_view").set_value(view).run()
        assert not at.exception
    at.selectbox(key="eval_model").select("unet-paris").run()
    assert not at.exception and any(m.label == "Test mIoU" for m in at.metric)
    synthetic = json.loads((MODELS / "unet-paris" / "card.json").read_text())["data"]["synthetic"]
    assert any("synthetic demo scene" in w.value for w in at.warning) == synthetic


def test_classifier_page_renders() -> None:
    at = _app()
    at.switch_page("app_pages/classifier.py").run()
    assert not at.exception and at.selectbox(key="clf_model").value == "efficientnet_lite0"


def test_pages_survive_a_corrupted_model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    art = tmp_path / "artifacts" / "models"
    shutil.copytree(MODELS / "efficientnet_lite0", art / "efficientnet_lite0")
    (art / "broken").mkdir()
    (art / "broken" / "card.json").write_text("{not json")
    monkeypatch.setenv("LULC_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    at = _app()
    assert not at.exception
    at.switch_page("app_pages/model_evaluation.py").run()
    assert not at.exception


def test_map_explorer_three_panels_legend_and_bad_box(demo_paris: Path) -> None:
    # The sidebar's city is set through the session state: AppTest loses widgets drawn before
    # st.navigation after a rerun (the real browser keeps them; tests/test_browser.py checks).
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.session_state["city"] = "paris"
    at.switch_page("app_pages/map_explorer.py").run()
    assert any("map model **unet-paris**" in m.value for m in at.markdown)  # the city's own model
    assert not at.exception and any("Pick a ready-made area" in i.value for i in at.info)
    at.radio(key="map_area_paris").set_value("Centre (10 x 10 km)").run()
    assert not at.exception
    assert any("synthetic demo data" in w.value for w in at.warning)
    assert len(at.columns) >= 4  # image, truth, prediction, confidence side by side
    assert any(c.value.startswith("Mapped 10") for c in at.caption)  # the 10 x 10 km preset
    legend = at.dataframe[0].value
    assert "class" in legend.columns and len(legend) > 3
    at.radio(key="map_area_paris").set_value("Type a box").run()
    at.text_input(key="map_bbox_paris").set_value("10,10,10.1,10.1").run()
    assert not at.exception and any("Cannot map this area" in e.value for e in at.error)
    at.text_input(key="map_bbox_paris").set_value("2.3,48.8").run()
    assert not at.exception and any("Cannot read this box" in e.value for e in at.error)
    at.radio(key="map_area_paris").set_value("Draw on the map").run()
    assert not at.exception and any("Draw a rectangle" in i.value for i in at.info)


def test_corrupted_weights_give_messages_not_tracebacks(
    demo_paris: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from PIL import Image

    art = tmp_path / "artifacts" / "models"
    for name in ("efficientnet_lite0", "unet-paris"):
        shutil.copytree(MODELS / name, art / name)
        weights = art / name / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])  # truncated, as by a failed copy
    monkeypatch.setenv("LULC_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    at.session_state["city"] = "paris"
    at.switch_page("app_pages/map_explorer.py").run()
    at.radio(key="map_area_paris").set_value("Centre (10 x 10 km)").run()
    assert not at.exception
    assert any("Cannot map this area" in e.value and "restore" in e.value for e in at.error)
    at.switch_page("app_pages/classifier.py").run()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 40)).save(buffer, format="PNG")
    at.file_uploader(key="clf_upload").set_value(("tile.png", buffer.getvalue(), "image/png")).run()
    assert not at.exception
    assert any("cannot be loaded" in e.value for e in at.error)

