"""The dashboard on the real Versailles sample (Sentinel-2 L2A, July 2019) beside a synthetic
city: Overview says which is which and how reflectance was decided; the Map explorer maps the
real scene with the committed models, says the truth is not available, shows the EuroSAT patch
layer, and its date switch changes the image.

The scenes are imported into a fresh data folder with the project's own importer
(``ensure_sample_scenes``): the committed date always, the two others when the shared data
folder is beside the clone (CI always has it).
"""

from __future__ import annotations

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
    from lulc_core.data.scene import MANIFEST, SceneManifest
    from lulc_core.geo import CITIES

    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LULC_DATA_DIR", str(data))
        ensure_sample_scenes()
        paris = data / "scenes" / "paris"
        paris.mkdir()
        (paris / MANIFEST).write_text(SceneManifest(
            name="paris", city="paris", bounds_wgs84=CITIES["paris"].bounds, crs="EPSG:32631",
            bands=["B02", "B03", "B04"], synthetic=True, source="synthetic-demo",
            labels_source="synthetic-demo").model_dump_json())
        yield data


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("LULC_DATA_DIR", str(data_dir))
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)


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
    assert at.slider(key="op_patch").value > 0
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
