"""Cities side by side: small scene pictures, class composition, per-class IoU, transfer matrix.

Everything here reads what is already on disk and is cheap (well under a second per city):

- scene thumbnails come from the COG overviews (a decimated read), never the full raster;
- class composition and per-class IoU come from the model folder's ``confusion.csv``: its row
  sums are the true composition of the city's test split and its column sums the predicted
  one, and every score is derived from that one matrix (:mod:`lulc_core.metrics`), so the
  shares, the IoUs and the headline mIoU can never disagree;
- the transfer matrix is ``artifacts/cross_city.json`` as written by ``lulc cross-city``.

A city's own model is named by :func:`lulc_core.runs.city_model_name`. A place
(:class:`Place`) is what the dashboard lets you pick: a city's scene, or the scenes of one site
(e.g. Versailles) on several dates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lulc_core.artifacts import CROSS_CITY_FILE, ModelCard, load_card
from lulc_core.config import artifacts_dir
from lulc_core.data.scene import (
    BAND_FILES,
    LABELS_RASTER,
    RGB_BANDS,
    SceneManifest,
    read_manifest,
)
from lulc_core.errors import (
    DataNotFoundError,
    InvalidDataError,
    ModelMismatchError,
    UnknownNameError,
)
from lulc_core.geo import CITIES
from lulc_core.metrics import MetricsReport, load_confusion_csv, report_from_confusion

TRANSFER_METRICS = ("miou", "pixel_accuracy")


def scene_city(manifest: SceneManifest) -> str | None:
    """The built-in city a scene belongs to: its manifest's ``city``, else the city whose AOI
    holds the whole scene (Versailles lies inside Paris's), else None."""
    if manifest.city:
        return manifest.city
    w, s, e, n = manifest.bounds_wgs84
    return next((name for name, aoi in CITIES.items()
                 if aoi.west <= w and aoi.south <= s and e <= aoi.east and n <= aoi.north), None)


@dataclass(frozen=True)
class Place:
    """A place to look at: one scene, or the scenes of one site (``manifest.site``) by date.

    Attributes:
        name: the site, or the scene name for a scene without a site (``paris``).
        scenes: its scenes, oldest first (undated ones first).
    """

    name: str
    scenes: tuple[SceneManifest, ...]

    @property
    def synthetic(self) -> bool:
        """True when every scene of the place is a synthetic demo."""
        return all(s.synthetic for s in self.scenes)

    @property
    def city(self) -> str | None:
        """Built-in city of the place (whose model maps it best), see :func:`scene_city`."""
        return scene_city(self.scenes[0])

    def scene_on(self, date: str | None) -> SceneManifest:
        """The scene acquired on ``date`` (YYYY-MM-DD). For another date: the committed sample's
        date (the one every clone has, so the first view is the same everywhere), else the
        latest scene."""
        from lulc_core.data.samples import SAMPLE_DATE

        by_date = {s.acquired: s for s in self.scenes}
        return by_date.get(date) or by_date.get(SAMPLE_DATE) or self.scenes[-1]


def places(scenes: list[SceneManifest]) -> list[Place]:
    """Scenes grouped by site (a scene without a site is a place of its own), in name order."""
    groups: dict[str, list[SceneManifest]] = {}
    for manifest in scenes:
        groups.setdefault(manifest.site or manifest.name, []).append(manifest)
    return [Place(name, tuple(sorted(group, key=lambda s: (s.acquired or "", s.name))))
            for name, group in sorted(groups.items())]


# --------------------------------------------------------------------------- scenes


@dataclass(frozen=True)
class SceneThumbnails:
    """Small pictures of a whole scene.

    Attributes:
        rgb: uint8 (H, W, 3) true colour (:func:`lulc_core.render.true_colour`), no data black.
        truth: uint8 (H, W) Urban Atlas indices (0 background), None when the scene has no
            ``labels.tif``.
        size_km: (width, height) of the whole scene on the ground, None when its CRS is not
            projected.
    """

    rgb: np.ndarray
    truth: np.ndarray | None
    size_km: tuple[float, float] | None


def city_thumbnails(scene_folder: Path, max_side: int = 384) -> SceneThumbnails:
    """True colour and Urban Atlas labels of a whole scene, read from its COG overviews.

    The bands are read with ``out_shape``, so GDAL reads the nearest overview instead of the
    full 10 m raster (about 0.1 s per city): reflectance is averaged, labels are taken by
    nearest neighbour so that no made-up class appears on class borders.

    Args:
        scene_folder: a scene folder (see :mod:`lulc_core.data.scene`).
        max_side: longest side of the thumbnails in pixels; never upsampled.

    Raises:
        DataNotFoundError: not a scene folder, or a band file is missing.
        InvalidDataError: a corrupted manifest or raster.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError

    from lulc_core.data.sentinel2 import read_reflectance
    from lulc_core.render import thumbnail_shape, true_colour

    read_manifest(scene_folder)  # a clear "run lulc demo-data" message for a non-scene folder
    rebuild = f"rebuild the scene (lulc demo-data --city {scene_folder.name}, or fetch it again)"
    bands = []
    shape: tuple[int, int] | None = None
    size_km = None
    try:
        for band in RGB_BANDS:
            path = scene_folder / BAND_FILES[band]
            if not path.is_file():
                raise DataNotFoundError(f"{path} is missing: {rebuild}")
            with rasterio.open(path) as src:
                if shape is None:
                    shape = thumbnail_shape(src.height, src.width, max_side)
                    if src.crs is not None and src.crs.is_projected:
                        km = src.crs.linear_units_factor[1] / 1e3  # one CRS unit in km
                        size_km = (src.width * abs(src.res[0]) * km,
                                   src.height * abs(src.res[1]) * km)
                bands.append(read_reflectance(src, out_shape=shape, resampling=Resampling.average))
        truth = None
        labels_path = scene_folder / LABELS_RASTER
        if labels_path.is_file():
            with rasterio.open(labels_path) as src:
                truth = src.read(1, out_shape=shape, resampling=Resampling.nearest).astype(np.uint8)
    except RasterioError as e:
        raise InvalidDataError(
            f"cannot read the rasters of {scene_folder} ({str(e).splitlines()[0]}): {rebuild}"
        ) from None
    return SceneThumbnails(true_colour(np.stack(bands)), truth, size_km)


def scene_table(scenes: list[SceneManifest]) -> pd.DataFrame:
    """What each scene is, in words: one row per scene, for people.

    Returns:
        Columns ``scene``, ``data`` (``real Sentinel-2 L2A`` or ``synthetic demo``), ``date``,
        ``reflectance`` (``DN x 0.0001 +0``), ``decided from`` (the manifest's reason),
        ``cloud mask`` and ``credit`` (the attribution the data's licence asks for, else the
        source).
    """
    rows = []
    for s in scenes:
        refl = s.reflectance
        rows.append({
            "scene": s.name,
            "data": "synthetic demo" if s.synthetic else f"real Sentinel-2 {s.level}",
            "date": s.acquired or ("none (made up)" if s.synthetic else "unknown"),
            "reflectance": f"DN x {refl.scale:g} {refl.offset:+g}" if refl else "not recorded",
            "decided from": refl.source if refl else "not recorded (an older scene: rebuild it)",
            "cloud mask": "SCL" if s.cloud_mask else "not available (no SCL)",
            "credit": s.attribution or s.source,
        })
    return pd.DataFrame(rows, columns=["scene", "data", "date", "reflectance", "decided from",
                                       "cloud mask", "credit"])


# --------------------------------------------------------------------------- model folders


@dataclass(frozen=True)
class CityEvaluation:
    """A segmenter and its scores on its own city's test split, read from its model folder.

    Attributes:
        card: the model card (``card.city`` is the city it was trained and tested on).
        report: scores derived from ``confusion.csv``; ``report.per_class["support"]`` is the
            number of true pixels per class, ``report.confusion.sum(axis=0)`` the predicted ones.
    """

    card: ModelCard
    report: MetricsReport

    @property
    def city(self) -> str:
        """City the model was trained and tested on (its name when the card has no city)."""
        return self.card.city or self.card.name


def load_city_evaluation(model_folder: Path) -> CityEvaluation:
    """Read a segmenter's card and confusion matrix and score them.

    Args:
        model_folder: e.g. ``models_dir() / "unet-paris"``.

    Raises:
        DataNotFoundError: no card or no ``confusion.csv``.
        InvalidDataError: a corrupted card or matrix, or a matrix whose classes are not the
            card's.
        ModelMismatchError: the model is a classifier, not a segmenter.
    """
    card = load_card(model_folder)
    if card.task != "segmentation":
        raise ModelMismatchError(
            f"{card.name} is a {card.task} model: compare cities with segmenters "
            "(lulc train segmenter --city NAME)"
        )
    cm, names = load_confusion_csv(model_folder / "confusion.csv")
    if names != [c.name for c in card.classes]:
        raise InvalidDataError(
            f"the classes of {model_folder / 'confusion.csv'} are not those of its card: "
            f"re-run the evaluation (lulc cross-city) or restore {model_folder.name} from git"
        )
    if cm.sum() == 0:
        raise InvalidDataError(
            f"{model_folder / 'confusion.csv'} counts no pixel: re-run the evaluation "
            "(lulc cross-city) or restore the model folder from git"
        )
    return CityEvaluation(card, report_from_confusion(cm, names))


def composition(evaluation: CityEvaluation) -> pd.DataFrame:
    """Share of the test split in each class: Urban Atlas truth vs model prediction.

    Args:
        evaluation: from :func:`load_city_evaluation`.

    Returns:
        One row per class of the card, in index order, with columns ``class`` (name),
        ``code`` (Urban Atlas code, None for background), ``color`` (#rrggbb),
        ``truth_share`` and ``predicted_share`` (each column sums to 1).
    """
    cm = evaluation.report.confusion
    total = cm.sum()
    return pd.DataFrame({
        "class": [c.name for c in evaluation.card.classes],
        "code": [c.code for c in evaluation.card.classes],
        "color": [c.color for c in evaluation.card.classes],
        "truth_share": cm.sum(axis=1) / total,
        "predicted_share": cm.sum(axis=0) / total,
    })


def iou_table(evaluations: Mapping[str, CityEvaluation]) -> pd.DataFrame:
    """Per-class IoU of each city's own model, in long form (one row per city and class).

    Args:
        evaluations: city -> its evaluation (see :func:`load_city_evaluation`).

    Returns:
        Columns ``city``, ``class``, ``color``, ``iou`` (NaN when the class is absent from
        that city's test split: it cannot be scored, which is not the same as 0),
        ``present`` (bool) and ``support`` (true pixels).
    """
    frames = []
    for city, ev in evaluations.items():
        table = ev.report.per_class
        frames.append(pd.DataFrame({
            "city": city,
            "class": table.index.astype(str),
            "color": [c.color for c in ev.card.classes],
            "iou": table["iou"].to_numpy(dtype=float),
            "present": table["present"].to_numpy(dtype=bool),
            "support": table["support"].to_numpy(dtype=np.int64),
        }))
    columns = ["city", "class", "color", "iou", "present", "support"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def load_gallery(model_folder: Path) -> dict[str, np.ndarray]:
    """The test patches saved beside a segmenter (``gallery.npz``).

    Returns:
        ``rgb`` uint8 (N, H, W, 3), ``truth`` and ``prediction`` uint8 (N, H, W) Urban Atlas
        indices.

    Raises:
        DataNotFoundError: no gallery in the folder.
        InvalidDataError: the file is corrupted or its arrays do not fit together.
    """
    import zipfile

    path = model_folder / "gallery.npz"
    if not path.is_file():
        raise DataNotFoundError(
            f"no sample patches at {path}: retrain the model (lulc train segmenter) or restore "
            "it from git"
        )
    fix = f"{path} is corrupted: retrain the model or restore it from git"
    try:
        with np.load(path, allow_pickle=False) as npz:
            gallery = {k: npz[k] for k in ("rgb", "truth", "prediction")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        raise InvalidDataError(fix) from None
    n, h, w = gallery["truth"].shape if gallery["truth"].ndim == 3 else (0, 0, 0)
    if (n == 0 or gallery["rgb"].shape != (n, h, w, 3) or gallery["prediction"].shape != (n, h, w)):
        raise InvalidDataError(fix)
    return {k: v.astype(np.uint8) for k, v in gallery.items()}


# --------------------------------------------------------------------------- transfer


def transfer_matrix(
    path: Path | None = None, metric: Literal["miou", "pixel_accuracy"] = "miou"
) -> pd.DataFrame:
    """The cross-city transfer matrix written by ``lulc cross-city``.

    Args:
        path: the JSON file (default ``<artifacts>/cross_city.json``), laid out as
            ``{model: {city: {"miou": ..., "pixel_accuracy": ..., "absent_classes": [...]}}}``.
        metric: ``"miou"`` or ``"pixel_accuracy"``.

    Returns:
        float DataFrame (models x cities): row = model (index named ``model``), column = city
        it was tested on (columns named ``city``), in file order; NaN where a pair was not
        evaluated.

    Raises:
        UnknownNameError: an unknown ``metric``.
        DataNotFoundError: no file (run ``lulc cross-city``).
        InvalidDataError: the file is not laid out as above.
    """
    if metric not in TRANSFER_METRICS:
        raise UnknownNameError(
            f"unknown transfer metric {metric!r}: choose one of {TRANSFER_METRICS}"
        )
    path = path or artifacts_dir() / CROSS_CITY_FILE
    if not path.is_file():
        raise DataNotFoundError(
            f"no cross-city results at {path}: run `lulc cross-city` (scores every segmenter on "
            "every city's test split)"
        )
    bad = InvalidDataError(
        f"{path} is not a cross-city table ({{model: {{city: {{{metric}: number}}}}}}): re-run "
        "`lulc cross-city` or restore it from git"
    )
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        values = {
            model: {city: cell[metric] for city, cell in row.items()}
            for model, row in table.items()
        }
        matrix = pd.DataFrame.from_dict(values, orient="index").astype(float)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise bad from None
    if matrix.empty:
        raise bad
    matrix.index.name, matrix.columns.name = "model", "city"
    return matrix


def transfer_summary(matrix: pd.DataFrame, trained_on: Mapping[str, str]) -> pd.DataFrame:
    """For each tested city: the best model on it, and the city's own model for comparison.

    Args:
        matrix: from :func:`transfer_matrix` (models x cities).
        trained_on: model -> city it was trained on (e.g. ``card.city``).

    Returns:
        One row per city with a score (index ``city``), columns ``best_model``, ``best``
        (its score), ``own_model`` and ``own`` (None / NaN when no model of that city is in
        the matrix).
    """
    rows = {}
    for city in matrix.columns:
        scores = matrix[city].dropna()
        if scores.empty:
            continue
        own = next((m for m in scores.index if trained_on.get(m) == city), None)
        rows[city] = {"best_model": scores.idxmax(), "best": scores.max(),
                      "own_model": own, "own": scores[own] if own else np.nan}
    summary = pd.DataFrame.from_dict(rows, orient="index",
                                     columns=["best_model", "best", "own_model", "own"])
    summary.index.name = "city"
    return summary
