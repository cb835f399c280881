"""Shareable links: the sidebar's place and model and the Map explorer's area and swipe layers
are read from the URL's query parameters and written back; bad or stale values fall back to the
defaults with a plain message, never an exception."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lulc_core.config import REPO_ROOT, scenes_dir


@pytest.fixture(autouse=True)
def _demo_scenes() -> None:
    if not (scenes_dir() / "paris" / "manifest.json").is_file():
        pytest.skip("demo scenes not built (make test runs `lulc demo-data` first)")


def _open(link: dict[str, str], page: str | None = None) -> AppTest:
    """The app opened from a link: query parameters, and the page as the URL's path."""
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)
    at.query_params.update(link)
    if page:
        at.switch_page(f"app_pages/{page}.py")
    return at.run()


def test_link_place_and_model_are_restored_and_written_back() -> None:
    at = _open({"city": "paris", "model": "unet-ankara"})
    assert not at.exception and not at.info
    assert at.session_state["city"] == "paris" and at.session_state["segmenter"] == "unet-ankara"
    assert at.query_params["city"] == "paris" and at.query_params["model"] == "unet-ankara"


def test_unknown_place_and_deleted_model_fall_back_with_a_message() -> None:
    at = _open({"city": "atlantis", "model": "unet-deleted"})
    assert not at.exception
    messages = [i.value for i in at.info]
    assert any("place 'atlantis', which this app does not have" in m for m in messages)
    assert any("map model 'unet-deleted'" in m and "showing 'unet-" in m for m in messages)
    assert at.query_params["city"] != "atlantis"  # the address bar now holds a working link
    assert at.query_params["model"].startswith("unet-")
    # the link is applied once: the next run has no message
    at.run()
    assert not at.exception and not at.info


def test_map_explorer_link_restores_preset_and_layers() -> None:
    at = _open({"city": "paris", "area": "2.28,48.81,2.42,48.9", "left": "truth",
                "right": "confidence"}, "map_explorer")
    assert not at.exception
    assert at.radio(key="map_area_paris").value == "Centre (10 x 10 km)"
    assert at.selectbox(key="swipe_left").value == "truth"
    assert at.selectbox(key="swipe_right").value == "confidence"
    assert any(i.value.startswith("About ") and "built up" in i.value for i in at.info)
    assert at.query_params["area"] == "2.28,48.81,2.42,48.9"
    assert (at.query_params["left"], at.query_params["right"]) == ("truth", "confidence")
    at.selectbox(key="swipe_right").select("prediction").run()
    assert at.query_params["right"] == "prediction"


def test_map_explorer_link_with_a_typed_box() -> None:
    at = _open({"city": "paris", "area": "2.3,48.84,2.34,48.86"}, "map_explorer")
    assert not at.exception
    assert at.radio(key="map_area_paris").value == "Type a box"
    assert at.text_input(key="map_bbox_paris").value == "2.3,48.84,2.34,48.86"
    assert any(c.value.startswith("Mapped ") for c in at.caption)
    assert at.query_params["area"] == "2.3,48.84,2.34,48.86"


@pytest.mark.parametrize("area, message", [
    ("10,10,10.1,10.1", "is outside the Paris scene"),
    ("2.3,48.8", "is not a box"),
])
def test_bad_area_in_a_link_falls_back(area: str, message: str) -> None:
    at = _open({"city": "paris", "area": area, "left": "truth"}, "map_explorer")
    assert not at.exception
    assert any(message in i.value for i in at.info)
    assert at.radio(key="map_area_paris").value is None  # nothing mapped: pick an area
    assert "area" not in at.query_params and "left" not in at.query_params


def test_unknown_layer_falls_back_to_the_default_pair() -> None:
    at = _open({"city": "paris", "area": "2.3,48.84,2.34,48.86", "left": "patches",
                "right": "lidar"}, "map_explorer")
    assert not at.exception
    messages = " ".join(i.value for i in at.info)
    assert "left layer 'patches'" in messages and "right layer 'lidar'" in messages
    assert at.selectbox(key="swipe_left").value == "image"
    assert at.selectbox(key="swipe_right").value == "prediction"


def test_other_pages_drop_the_map_explorer_parameters() -> None:
    at = _open({"city": "paris", "area": "2.28,48.81,2.42,48.9", "left": "truth"})
    assert not at.exception
    assert "area" not in at.query_params and "left" not in at.query_params
