"""The dashboard on the real Versailles sample (Sentinel-2 L2A, July 2019) beside a synthetic
city: Overview says which is which and how reflectance was decided; the Map explorer maps the
real scene with the committed models, says the truth is not available, shows the EuroSAT patch
layer, and its date switch changes the image.

The scenes are imported into a fresh data folder with the project's own importer
(``ensure_sample_scenes``): the committed date always, the two others when the shared data
folder is beside the clone (CI always has it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lulc_core.config import REPO_ROOT

SAMPLE = "versailles-2019-07-08"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder with the real Versailles scenes and a synthetic Paris (its manifest is
    all the Overview and the sidebar read)."""
    from lulc_core.data.samples import ensure_sample_scenes
    from lulc_core.data.scene import MANIFEST
    from lulc_core.geo import CITIES

    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LULC_DATA_DIR", str(data))
        ensure_sample_scenes()
        paris = data / "scenes" / "paris"
        paris.mkdir()
        (paris / MANIFEST).write_text(_manifest(
            "paris", CITIES["paris"].bounds, city="paris", synthetic=True, source="synthetic-demo",
            labels_source="synthetic-demo").model_dump_json())
        yield data


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("LULC_DATA_DIR", str(data_dir))
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)


def _manifest(name: str, bounds: tuple[float, float, float, float], **fields):
    from lulc_core.data.scene import SceneManifest

    return SceneManifest(**{"name": name, "bounds_wgs84": bounds, "crs": "EPSG:32631",
                            "bands": ["B02", "B03", "B04"], "synthetic": False,
                            "source": "geotiff", **fields})


def test_places_group_a_site_by_date_and_find_its_city() -> None:
    from lulc_core.comparison import places

    inside_paris = (2.07, 48.79, 2.14, 48.83)
    scenes = [_manifest("versailles-2019-07-10", inside_paris, site="versailles", acquired="2019-07-10"),
              _manifest("paris", (1.9, 48.67, 2.84, 49.04), city="paris", synthetic=True),
              _manifest("versailles-2019-07-03", inside_paris, site="versailles", acquired="2019-07-03"),
              _manifest("elsewhere", (10.0, 50.0, 10.1, 50.1))]
    found = {p.name: p for p in places(scenes)}
    assert list(found) == ["elsewhere", "paris", "versailles"]
    versailles = found["versailles"]
    assert [s.acquired for s in versailles.scenes] == ["2019-07-03", "2019-07-10"]
    assert versailles.city == "paris" and not versailles.synthetic  # inside the Paris AOI
    assert found["paris"].synthetic and found["elsewhere"].city is None
    assert versailles.scene_on("2019-07-03").name == "versailles-2019-07-03"
    # an unknown date (or none yet): without the committed sample date, the latest
    assert versailles.scene_on(None).name == "versailles-2019-07-10"


def test_whole_scene_is_a_preset_only_for_small_scenes() -> None:
    from dashboard.maps import area_presets

    small = area_presets("versailles", _manifest("v", (2.0685, 48.7865, 2.1371, 48.8324)))
    assert list(small) == ["Château and park (3.5 x 3 km)", "Whole scene (5 x 5 km)"]
    large = area_presets("paris", _manifest("paris", (1.9, 48.67, 2.84, 49.04)))
    assert not any(name.startswith("Whole scene") for name in large)


def test_coarse_class_maps_are_drawn_finer_in_their_own_colours() -> None:
    import numpy as np
    from rasterio.transform import from_origin

    from lulc_core.overlays import classes_overlay

    classes = np.array([[0, 1], [255, 1]], np.uint8)  # a 2 x 2 patch map, 640 m cells
    palette = np.zeros((256, 3), np.uint8)
    palette[1] = (220, 40, 40)
    overlay = classes_overlay(classes, "EPSG:32631", from_origin(431640, 5409180, 640, 640),
                              palette, min_side=256)
    assert max(overlay.image.shape[:2]) >= 256
    opaque = overlay.image[..., 3] == 255
    colours = {tuple(c) for c in overlay.image[opaque][:, :3]}
    assert colours == {(0, 0, 0), (220, 40, 40)}  # only the palette's colours, no blending
    assert 0.15 < (~opaque).mean() < 0.35  # the no-data cell (a quarter) is transparent


def _dates(data_dir: Path) -> list[str]:
    return sorted(p.name.removeprefix("versailles-") for p in (data_dir / "scenes").glob("versailles-*"))


def _image_urls(at: AppTest) -> list[str]:
    """Media URLs of the page's pictures: Streamlit names them by a hash of their bytes."""
    return [url for element in at.get("image") for url in element.value]


def test_overview_says_which_scenes_are_real_and_how_reflectance_was_decided(app: AppTest) -> None:
    at = app.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**Real satellite images**: Versailles (real Sentinel-2 L2A)" in text
    assert "no Urban Atlas truth" in text
    assert "**Synthetic demo data**: Paris." in text
    scenes = at.table[0].value.set_index("scene")
    sample = scenes.loc[SAMPLE]
    assert sample["data"] == "real Sentinel-2 L2A" and sample["date"] == "2019-07-08"
    assert sample["reflectance"] == "DN x 0.0001 +0"
    # decided from the product's own title (processing baseline 02.13: no offset)
    assert "N0213" in sample["decided from"] and "no offset" in sample["decided from"]
    assert sample["cloud mask"] == "not available (no SCL)"
    assert sample["credit"].startswith("Contains modified Copernicus Sentinel data 2019")
    assert scenes.loc["paris", "data"] == "synthetic demo"


def test_map_explorer_maps_the_real_sample(app: AppTest) -> None:
    app.session_state["city"] = "versailles"
    at = app.switch_page("pages/map_explorer.py").run()
    assert not at.exception
    # the committed date first, the Paris U-Net (Versailles lies inside the Paris AOI)
    assert any("on **2019-07-08**, map model **unet-paris**" in m.value for m in at.markdown)
    assert any("Real Sentinel-2 L2A" in i.value and "Cloud mask: not available" in i.value
               and "Contains modified Copernicus Sentinel data 2019" in i.value for i in at.info)
    assert not at.warning  # no "synthetic" warning on a real scene
    assert at.radio(key="map_area_versailles").options == [
        "Château and park (3.5 x 3 km)", "Whole scene (5 x 5 km)", "Draw on the map", "Type a box"]
    at.radio(key="map_area_versailles").set_value("Whole scene (5 x 5 km)").run()
    assert not at.exception
    assert any(c.value.startswith("Mapped 25 km2") for c in at.caption)
    assert any("Urban Atlas truth**: not available for this sample" in i.value for i in at.info)
    legend = at.dataframe[0].value
    assert "truth km2" not in legend.columns and legend["predicted %"].sum() == pytest.approx(100)
    # the EuroSAT patch layer is on by default on a real scene, with its own legend
    assert at.slider(key="op_patch_real").value > 0
    patches = at.dataframe[1].value
    assert set(patches["class"]) <= {"AnnualCrop", "Forest", "HerbaceousVegetation", "Highway",
                                     "Industrial", "Pasture", "PermanentCrop", "Residential",
                                     "River", "SeaLake"}
    assert patches["share %"].sum() == pytest.approx(100)
    assert any(s.value.startswith("EuroSAT patches (") for s in at.subheader)


def test_date_switch_changes_the_image(app: AppTest, data_dir: Path) -> None:
    dates = _dates(data_dir)
    if len(dates) < 2:
        pytest.skip("only the committed date: the shared data folder is not beside the clone")
    # The sidebar's choices go through the session state: AppTest loses widgets drawn before
    # st.navigation (the browser test clicks the real date switch).
    app.session_state["city"] = "versailles"
    at = app.switch_page("pages/map_explorer.py").run()
    at.radio(key="map_area_versailles").set_value("Château and park (3.5 x 3 km)").run()
    before = _image_urls(at)
    other = next(d for d in dates if d != "2019-07-08")
    at.session_state["scene_date"] = other
    at.run()
    assert not at.exception
    assert any(f"on **{other}**" in m.value for m in at.markdown)
    after = _image_urls(at)
    assert len(after) == len(before) == 3  # image, prediction, confidence (no truth)
    assert after[0] != before[0]  # another acquisition, another picture


def test_a_box_smaller_than_a_patch_keeps_the_segmenter_map(app: AppTest) -> None:
    app.session_state["city"] = "versailles"
    at = app.switch_page("pages/map_explorer.py").run()
    at.radio(key="map_area_versailles").set_value("Type a box").run()
    at.text_input(key="map_bbox_versailles").set_value("2.115,48.800,2.120,48.803").run()  # ~370 m
    assert not at.exception and not at.error
    assert any(re.match(r"Mapped 0\.1\d km2", c.value) for c in at.caption), [c.value for c in at.caption]
    assert any(c.value.startswith("EuroSAT patches not shown") and "smaller than one" in c.value
               for c in at.caption)


def test_layers_start_from_the_defaults_of_the_scene_kind(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from lulc_core.data.scene import MANIFEST

    # the real sample, and a synthetic place made of the same files
    scenes = tmp_path / "scenes"
    shutil.copytree(data_dir / "scenes" / SAMPLE, scenes / SAMPLE)
    fake = scenes / "synthetic-versailles"
    shutil.copytree(data_dir / "scenes" / SAMPLE, fake)
    (fake / MANIFEST).write_text((fake / MANIFEST).read_text()
                                 .replace('"synthetic": false', '"synthetic": true')
                                 .replace('"site": "versailles"', '"site": null')
                                 .replace(f'"name": "{SAMPLE}"', '"name": "synthetic-versailles"'))
    monkeypatch.setenv("LULC_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)
    at.session_state["city"] = "synthetic-versailles"
    at.switch_page("pages/map_explorer.py").run()
    assert (at.slider(key="op_pred_synthetic").value,
            at.slider(key="op_patch_synthetic").value) == (0.7, 0.0)
    at.session_state["city"] = "versailles"
    at.run()  # the same page, now on a real scene: its own defaults, not the previous values
    assert (at.slider(key="op_pred_real").value, at.slider(key="op_patch_real").value) == (0.0, 0.7)
