"""City comparison: library functions on the committed artifacts and tiny generated scenes, the
figures, and the page (AppTest) with real and with broken artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lulc_core import comparison
from lulc_core.config import REPO_ROOT
from lulc_core.errors import (
    DataNotFoundError,
    InvalidDataError,
    ModelMismatchError,
    UnknownNameError,
)
from lulc_core.runs import city_model_name

ARTIFACTS = REPO_ROOT / "artifacts"
MODELS = ARTIFACTS / "models"
CITIES = ("paris", "ankara")
PAGE = str(REPO_ROOT / "app_pages" / "city_comparison.py")


@pytest.fixture(scope="module")
def evaluations() -> dict[str, comparison.CityEvaluation]:
    return {c: comparison.load_city_evaluation(MODELS / city_model_name(c))
            for c in CITIES}


def _page(timeout: float = 180) -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=timeout).run()


def _heatmap_z(at: AppTest, key: str) -> np.ndarray:
    """Values of the heatmap in the page's plotly chart ``key`` (plotly sends typed arrays)."""
    import base64

    chart = next(e for e in at.get("plotly_chart") if key in e.proto.id)
    trace = json.loads(chart.proto.spec)["data"][0]
    assert trace["type"] == "heatmap"
    z = trace["z"]
    if isinstance(z, dict):
        shape = tuple(int(n) for n in z["shape"].split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.asarray(z, dtype=float)


# --------------------------------------------------------------------------- library


@pytest.mark.parametrize("city", CITIES)
def test_composition_shares_are_the_confusion_margins(city: str, evaluations) -> None:
    ev = evaluations[city]
    comp = comparison.composition(ev)
    assert list(comp.columns) == ["class", "code", "color", "truth_share", "predicted_share"]
    assert comp["truth_share"].sum() == pytest.approx(1.0)
    assert comp["predicted_share"].sum() == pytest.approx(1.0)
    assert comp["color"].str.fullmatch(r"#[0-9a-fA-F]{6}").all()
    per_class = pd.read_csv(MODELS / ev.card.name / "per_class.csv", index_col=0)
    np.testing.assert_allclose(comp["truth_share"] * ev.report.total, per_class["support"])
    assert ev.city == city
    assert ev.report.miou == pytest.approx(ev.card.metrics["miou"])
    assert ev.report.accuracy == pytest.approx(ev.card.metrics["pixel_accuracy"])


def test_iou_table_matches_per_class_csv_and_keeps_absent_as_nan(evaluations) -> None:
    table = comparison.iou_table(evaluations)
    assert list(table["city"].unique()) == list(CITIES)
    for city, rows in table.groupby("city"):
        per_class = pd.read_csv(MODELS / f"unet-{city}" / "per_class.csv", index_col=0)
        np.testing.assert_allclose(rows["iou"], per_class["iou"], atol=1e-6)  # NaN == NaN here
        assert (rows["present"].to_numpy() == per_class["present"].to_numpy()).all()
        assert (rows["present"].to_numpy() == (per_class["support"] > 0).to_numpy()).all()
        assert rows.loc[~rows["present"], "iou"].isna().all()
        assert rows.loc[rows["present"], "iou"].between(0, 1).all()


def test_transfer_matrix_equals_cross_city_json() -> None:
    raw = json.loads((ARTIFACTS / "cross_city.json").read_text())
    for metric in ("miou", "pixel_accuracy"):
        matrix = comparison.transfer_matrix(ARTIFACTS / "cross_city.json", metric)
        assert matrix.shape == (len(raw), len(next(iter(raw.values()))))
        assert list(matrix.index) == list(raw) and list(matrix.columns) == list(raw["unet-paris"])
        for model, row in raw.items():
            for city, cell in row.items():
                assert matrix.at[model, city] == cell[metric]


def test_transfer_summary_names_the_best_and_the_own_model() -> None:
    matrix = pd.DataFrame({"paris": [0.5, 0.2], "ankara": [0.4, 0.3]},
                          index=["unet-paris", "unet-ankara"])
    summary = comparison.transfer_summary(matrix, {"unet-paris": "paris", "unet-ankara": "ankara"})
    assert summary.loc["paris", "best_model"] == summary.loc["paris", "own_model"] == "unet-paris"
    ankara = summary.loc["ankara"]
    assert [ankara["best_model"], ankara["own_model"]] == ["unet-paris", "unet-ankara"]
    assert [ankara["best"], ankara["own"]] == [0.4, 0.3]


def test_transfer_matrix_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="lulc cross-city"):
        comparison.transfer_matrix(tmp_path / "cross_city.json")
    for text in ("{not json", "[]", '{"m": {"paris": {"pixel_accuracy": 0.5}}}', "{}"):
        (tmp_path / "cross_city.json").write_text(text)
        with pytest.raises(InvalidDataError, match="re-run `lulc cross-city`"):
            comparison.transfer_matrix(tmp_path / "cross_city.json")
    with pytest.raises(UnknownNameError, match="pixel_accuracy"):
        comparison.transfer_matrix(ARTIFACTS / "cross_city.json", "f1")  # type: ignore[arg-type]


def _copy_model(name: str, root: Path) -> Path:
    return Path(shutil.copytree(MODELS / name, root / name))


def test_load_city_evaluation_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        comparison.load_city_evaluation(tmp_path / "unet-nowhere")
    broken = _copy_model("unet-ankara", tmp_path)
    (broken / "card.json").write_text("{not json")
    with pytest.raises(InvalidDataError, match="restore it from git"):
        comparison.load_city_evaluation(broken)
    classifier = _copy_model("efficientnet_lite0", tmp_path)
    with pytest.raises(ModelMismatchError, match="segmenters"):
        comparison.load_city_evaluation(classifier)
    shuffled = _copy_model("unet-paris", tmp_path)
    frame = pd.read_csv(shuffled / "confusion.csv", index_col=0)
    frame.iloc[::-1, ::-1].to_csv(shuffled / "confusion.csv")  # still square, names reversed
    with pytest.raises(InvalidDataError, match="not those of its card"):
        comparison.load_city_evaluation(shuffled)


def test_load_gallery(tmp_path: Path) -> None:
    gallery = comparison.load_gallery(MODELS / "unet-paris")
    n, h, w = gallery["truth"].shape
    assert gallery["rgb"].shape == (n, h, w, 3) and gallery["prediction"].dtype == np.uint8
    folder = _copy_model("unet-paris", tmp_path)
    (folder / "gallery.npz").write_bytes(b"not a zip")
    with pytest.raises(InvalidDataError, match="corrupted"):
        comparison.load_gallery(folder)
    (folder / "gallery.npz").unlink()
    with pytest.raises(DataNotFoundError):
        comparison.load_gallery(folder)


def _write_scene(folder: Path, height: int = 300, width: int = 500, labels: bool = True) -> Path:
    """A tiny scene folder in the real format: uint16 COG bands with overviews, uint8 labels."""
    import rasterio
    from affine import Affine

    from lulc_core.data.scene import MANIFEST, SceneManifest

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    transform = Affine(10, 0, 400_000, 0, -10, 5_000_000)
    common = dict(driver="COG", width=width, height=height, count=1, crs="EPSG:32631",
                  transform=transform, blocksize=256, overview_resampling="nearest")
    for band in ("B02", "B03", "B04"):
        dn = rng.integers(1000, 3000, (height, width), dtype=np.uint16)
        dn[:, :10] = 0  # a strip of no data
        with rasterio.open(folder / f"{band}.tif", "w", dtype="uint16", nodata=0, **common) as dst:
            dst.write(dn, 1)
            dst.scales, dst.offsets = (1e-4,), (-0.1,)
    if labels:
        classes = np.where(np.arange(width) < width // 2, 1, 23).astype(np.uint8)
        with rasterio.open(folder / "labels.tif", "w", dtype="uint8", **common) as dst:
            dst.write(np.broadcast_to(classes, (height, width)), 1)
    manifest = SceneManifest(name=folder.name, bounds_wgs84=(2.0, 45.0, 2.1, 45.1),
                             crs="EPSG:32631", bands=["B02", "B03", "B04"], synthetic=True,
                             source="test")
    (folder / MANIFEST).write_text(manifest.model_dump_json())
    return folder


def test_city_thumbnails_from_a_generated_scene(tmp_path: Path) -> None:
    scene = _write_scene(tmp_path / "town")
    thumbs = comparison.city_thumbnails(scene, max_side=100)
    assert thumbs.rgb.shape == (60, 100, 3) and thumbs.rgb.dtype == np.uint8
    assert thumbs.truth is not None and thumbs.truth.shape == (60, 100)
    assert set(np.unique(thumbs.truth)) == {1, 23}  # nearest neighbour: no blended class
    assert (thumbs.rgb[:, 0] == 0).all()  # no data is black
    assert thumbs.size_km == pytest.approx((5.0, 3.0))
    big = comparison.city_thumbnails(scene, max_side=1000)  # never upsampled
    assert big.rgb.shape == (300, 500, 3)

    bare = _write_scene(tmp_path / "bare", labels=False)
    assert comparison.city_thumbnails(bare).truth is None
    with pytest.raises(DataNotFoundError, match="lulc demo-data"):
        comparison.city_thumbnails(tmp_path / "nothing")
    (bare / "B03.tif").write_bytes(b"garbage")
    with pytest.raises(InvalidDataError, match="rebuild the scene"):
        comparison.city_thumbnails(bare)


# --------------------------------------------------------------------------- figures


def test_figures(evaluations) -> None:
    from dashboard import plots

    compositions = {c: comparison.composition(ev) for c, ev in evaluations.items()}
    fig = plots.composition_figure(compositions)
    colors = compositions["paris"].set_index("class")["color"]
    assert {t.name: t.marker.color for t in fig.data} == {t.name: colors[t.name] for t in fig.data}
    assert "Background (no Urban Atlas polygon)" not in {t.name for t in fig.data}  # no pixel

    fig = plots.iou_figure(comparison.iou_table(evaluations))
    per_class = {c: pd.read_csv(MODELS / f"unet-{c}" / "per_class.csv", index_col=0)
                 for c in CITIES}
    scored = set().union(*(set(t.index[t["present"]]) for t in per_class.values()))
    for city, table in per_class.items():
        bars = next(t for t in fig.data if t.name == city.title())
        assert set(bars.y) == scored  # a class absent from every city is left out
        for name, text in zip(bars.y, bars.text):  # absent says so; a present 0 is a real 0
            iou = table.loc[name, "iou"]
            assert text == (f"{iou:.2f}" if table.loc[name, "present"] else "absent")

    matrix = comparison.transfer_matrix(ARTIFACTS / "cross_city.json")
    fig = plots.transfer_figure(matrix, {"unet-paris": "paris", "unet-ankara": "ankara"}, "mIoU")
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), matrix.to_numpy())
    assert len(fig.layout.shapes) == 2  # the diagonal, outlined


# --------------------------------------------------------------------------- page


def test_page_shows_both_cities_and_the_transfer_matrix() -> None:
    at = _page()
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert {"Paris", "Ankara"} <= set(headers)
    cards = {c: json.loads((MODELS / f"unet-{c}" / "card.json").read_text()) for c in CITIES}
    if any(card["data"].get("synthetic") for card in cards.values()):
        assert any("synthetic demo data" in w.value.lower() for w in at.warning)
    assert [m.label for m in at.metric] == ["mIoU", "Pixel accuracy"] * 2
    assert all(m.help for m in at.metric)
    assert at.metric[0].value == f"{cards['paris']['metrics']['miou']:.3f}"
    raw = json.loads((ARTIFACTS / "cross_city.json").read_text())
    np.testing.assert_allclose(_heatmap_z(at, "transfer_chart"),
                               [[c["miou"] for c in row.values()] for row in raw.values()])
    assert len(at.caption) >= 5  # every chart explained
    at.radio(key="transfer_metric").set_value("pixel_accuracy").run()
    assert not at.exception
    pixel_accuracy = raw["unet-paris"]["paris"]["pixel_accuracy"]
    assert _heatmap_z(at, "transfer_chart")[0, 0] == pytest.approx(pixel_accuracy)


def test_page_survives_a_corrupted_model_and_missing_scenes(isolated_dirs) -> None:
    models = isolated_dirs["artifacts"] / "models"
    _copy_model("unet-paris", models)
    (_copy_model("unet-ankara", models) / "card.json").write_text("{not json")
    shutil.copy(ARTIFACTS / "cross_city.json", isolated_dirs["artifacts"] / "cross_city.json")
    at = _page()
    assert not at.exception
    assert any("Ankara's model" in w.value and "corrupted" in w.value for w in at.warning)
    assert sum("No picture of" in i.value and "lulc demo-data" in i.value for i in at.info) == 2
    assert [m.label for m in at.metric] == ["mIoU", "Pixel accuracy"]  # Paris still scored
    assert "transfer_chart" in " ".join(e.proto.id for e in at.get("plotly_chart"))



def test_page_without_any_model(isolated_dirs) -> None:
    at = _page()
    assert not at.exception
    assert any("No city model to compare yet" in i.value for i in at.info)
