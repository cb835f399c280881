"""Cached loaders: the only place the app touches lulc_core's files and models.

Every cached result is keyed by what it was read from and that file's (or folder's) mtime, so
a model retrained or re-evaluated while the app runs is read again on the next run of every
session, without wiping other caches (models are published by an atomic folder swap, which
gives the folder a new mtime).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from lulc_core import comparison
from lulc_core.artifacts import CROSS_CITY_FILE, ModelCard, list_models
from lulc_core.config import artifacts_dir, models_dir, scenes_dir
from lulc_core.data.scene import SceneManifest, list_scenes, scene_dir
from lulc_core.runs import city_model_name


# Cached functions take the folder they read as an argument, so pointing LULC_ARTIFACTS_DIR or
# LULC_DATA_DIR elsewhere (tests, a second project) never returns another folder's results.


def _file_key(path: Path) -> tuple[str, int]:
    """(path, mtime in ns, 0 when missing): what a cached read of a file or folder depends on."""
    return str(path), path.stat().st_mtime_ns if path.exists() else 0


def model_cards(task: str | None = None) -> list[ModelCard]:
    """Cards of every valid model under artifacts/models (broken folders are skipped)."""
    return _model_cards(*_file_key(models_dir()), task)


@st.cache_data(ttl=30, show_spinner=False)
def _model_cards(root: str, modified_ns: int, task: str | None) -> list[ModelCard]:
    return list_models(task, Path(root))


def scenes() -> list[SceneManifest]:
    """Manifests of the scenes under the data folder."""
    return _scenes(str(scenes_dir()))


@st.cache_data(ttl=30, show_spinner=False)
def _scenes(root: str) -> list[SceneManifest]:
    return list_scenes(Path(root))


def places() -> list[comparison.Place]:
    """The scenes grouped into places (cities, and sites seen on several dates)."""
    return comparison.places(scenes())


def scene(name: str) -> SceneManifest:
    """The manifest of one scene (from the cached listing)."""
    from lulc_core.errors import DataNotFoundError

    found = next((s for s in scenes() if s.name == name), None)
    if found is None:
        raise DataNotFoundError(f"no scene {name!r}: run 'lulc demo-data' or 'lulc fetch sentinel2'")
    return found


def sample_dates() -> tuple[list[str], bool]:
    """(dates of the real Versailles sample that can be imported here, whether the shared data
    folder with the dates beyond the committed one is beside the clone)."""
    from lulc_core.data.samples import shared_sample_dir

    shared = shared_sample_dir()
    return _sample_dates(str(shared) if shared else None), shared is not None


@st.cache_data(ttl=30, show_spinner=False)
def _sample_dates(shared: str | None) -> list[str]:
    from lulc_core.data.samples import SAMPLE_DATE, sample_sources
    from lulc_core.errors import LulcError

    try:
        return sorted(sample_sources())
    except LulcError:  # an incomplete shared folder: the committed date still imports
        return [SAMPLE_DATE]


def _scene_key(name: str) -> tuple[str, int]:
    """(scene folder, manifest mtime): what a cached result of a scene depends on (a scene
    rebuilt or re-imported under the same name gets a new manifest)."""
    from lulc_core.data.scene import MANIFEST

    folder = scene_dir(name)
    return str(folder), _file_key(folder / MANIFEST)[1]


def _weights_key(name: str) -> tuple[str, int]:
    """(model folder, weights mtime): what a cached result of a model depends on."""
    from lulc_core.artifacts import WEIGHTS_FILE, model_dir

    folder = model_dir(name)
    return str(folder), _file_key(folder / WEIGHTS_FILE)[1]


def model(name: str):
    """(module, card) of a model for prediction (BatchNorm folded), loaded once per process and
    again when its weights file changes (a retrained model)."""
    return _model(*_weights_key(name))


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def _model(folder: str, modified_ns: int):
    from lulc_core.models import load_model

    return load_model(folder, fused=True)


def history(name: str) -> pd.DataFrame | None:
    """Per-epoch history of a model, or None when it has none."""
    from lulc_core.artifacts import HISTORY_FILE, model_dir

    return _read_csv(*_file_key(model_dir(name) / HISTORY_FILE))


def per_class(name: str) -> pd.DataFrame | None:
    """Per-class precision / recall / F1 / IoU of a model (index: class), or None."""
    from lulc_core.artifacts import model_dir

    return _read_csv(*_file_key(model_dir(name) / "per_class.csv"), index_col=0)


@st.cache_data(ttl=30, show_spinner=False)
def _read_csv(path: str, modified_ns: int, index_col: int | None = None) -> pd.DataFrame | None:
    return pd.read_csv(path, index_col=index_col) if Path(path).is_file() else None


def confusion(name: str) -> tuple | None:
    """(matrix, class names) of a model's test split, or None when missing or unreadable."""
    from lulc_core.artifacts import CONFUSION_FILE, model_dir

    return _confusion(*_file_key(model_dir(name) / CONFUSION_FILE))


@st.cache_data(ttl=30, show_spinner=False)
def _confusion(path: str, modified_ns: int) -> tuple | None:
    from lulc_core.errors import LulcError
    from lulc_core.metrics import load_confusion_csv

    try:
        return load_confusion_csv(Path(path))
    except LulcError:
        return None


def area_prediction(model_name: str, scene: str, bounds: tuple[float, float, float, float]):
    """Prediction of a (W, S, E, N) box of a scene (cached per model version, scene and box)."""
    return _area_prediction(model(model_name), _weights_key(model_name), _scene_key(scene), bounds)


@st.cache_data(max_entries=16, show_spinner="Mapping the area...")
def _area_prediction(_model, weights_key: tuple[str, int], scene_key: tuple[str, int],
                     bounds: tuple[float, float, float, float]):
    from lulc_core.geo import AOI
    from lulc_core.predict import predict_area

    return predict_area(_model, Path(scene_key[0]), AOI("area", *bounds))


def patch_map(model_name: str, scene: str, bounds: tuple[float, float, float, float]):
    """EuroSAT classes of the 64 x 64 px patches of a (W, S, E, N) box of a scene
    (:func:`lulc_core.patch_map.patch_map_area`; cached per model version, scene and box)."""
    return _patch_map(model(model_name), _weights_key(model_name), _scene_key(scene), bounds)


@st.cache_data(max_entries=16, show_spinner="Classifying the patches...")
def _patch_map(_model, weights_key: tuple[str, int], scene_key: tuple[str, int],
               bounds: tuple[float, float, float, float]):
    from lulc_core.geo import AOI
    from lulc_core.patch_map import patch_map_area

    return patch_map_area(_model, Path(scene_key[0]), AOI("area", *bounds))


def scene_layer(scene: str, layer: str) -> tuple[str, tuple]:
    """(PNG URL, Leaflet bounds) of a scene's true-colour or Urban Atlas layer, warped for the
    web map (see lulc_core.overlays) once per scene version and served as a file
    (:func:`dashboard.media.png_url`, which also rewrites the file if it was pruned)."""
    from dashboard.media import png_url

    overlay = _scene_layer(_scene_key(scene), layer)
    return png_url(overlay.image), overlay.bounds


@st.cache_data(max_entries=8, show_spinner="Loading the scene layer...")
def _scene_layer(scene_key: tuple[str, int], layer: str):
    from lulc_core.overlays import scene_overlay

    return scene_overlay(Path(scene_key[0]), layer)


def test_predictions(name: str) -> pd.DataFrame:
    """Saved per-image test predictions of a classifier (re-read when the file changes).

    Raises:
        LulcError: none saved yet, or the file is broken (the message says how to fix it).
    """
    from lulc_core.heldout import TEST_PREDICTIONS_FILE

    return _test_predictions(*_file_key(models_dir() / name / TEST_PREDICTIONS_FILE))


@st.cache_data(max_entries=8)
def _test_predictions(path: str, modified_ns: int) -> pd.DataFrame:
    from lulc_core.heldout import load_test_predictions

    return load_test_predictions(Path(path).parent)


def thumbnail(path: Path):
    """An image tile enlarged for display (see :func:`enlarge`); None when the file is
    missing or unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return enlarge(img.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        return None


def enlarge(image, width: int = 192):
    """A PIL image enlarged by a whole factor to about ``width`` px with nearest-neighbour,
    so 64 px tiles stay crisp instead of being blurred by the browser; larger images as is."""
    from PIL import Image

    scale = max(1, width // max(image.size))
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


# --------------------------------------------------------------------------- city comparison
# Keyed by folder and mtime like the rest; a LulcError is not cached, the page shows its message.


def scene_table() -> pd.DataFrame:
    """What each scene is, in words, one row per scene
    (:func:`lulc_core.comparison.scene_table`)."""
    return comparison.scene_table(scenes())


def city_thumbnails(city: str) -> comparison.SceneThumbnails:
    """True colour and Urban Atlas thumbnails of a city's whole scene, from its COG overviews."""
    return _city_thumbnails(*_scene_key(city))


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def _city_thumbnails(scene_folder: str, modified_ns: int) -> comparison.SceneThumbnails:
    return comparison.city_thumbnails(Path(scene_folder))


def city_evaluation(city: str) -> comparison.CityEvaluation:
    """Card and test-split scores of a city's own segmenter (:func:`city_model_name`)."""
    return _city_evaluation(*_file_key(models_dir() / city_model_name(city)))


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def _city_evaluation(model_folder: str, modified_ns: int) -> comparison.CityEvaluation:
    return comparison.load_city_evaluation(Path(model_folder))


def transfer_matrix(metric: str) -> pd.DataFrame:
    """Models x cities table of ``cross_city.json`` for ``metric`` (miou / pixel_accuracy)."""
    return _transfer_matrix(*_file_key(artifacts_dir() / CROSS_CITY_FILE), metric)


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def _transfer_matrix(path: str, modified_ns: int, metric: str) -> pd.DataFrame:
    return comparison.transfer_matrix(Path(path), metric)


def gallery(city: str) -> dict[str, np.ndarray]:
    """Sample test patches of a city's own segmenter: ``rgb``, ``truth`` and ``prediction``."""
    return _gallery(*_file_key(models_dir() / city_model_name(city)))


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def _gallery(model_folder: str, modified_ns: int) -> dict[str, np.ndarray]:
    return comparison.load_gallery(Path(model_folder))
