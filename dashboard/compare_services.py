"""Cached loaders of the City comparison page (the only place that page touches files).

Each takes the folder or file it reads as a string, so the cache key changes with
``LULC_DATA_DIR`` / ``LULC_ARTIFACTS_DIR`` (tests, other deployments) and never serves another
folder's results. Errors (``LulcError``) are not cached: the page shows their message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from lulc_core import comparison
from lulc_core.data.scene import SceneManifest, read_manifest


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def scene_manifest(scene_folder: str) -> SceneManifest:
    """Provenance of a scene folder (``synthetic`` or not)."""
    return read_manifest(Path(scene_folder))


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def city_thumbnails(scene_folder: str) -> comparison.SceneThumbnails:
    """True colour and Urban Atlas thumbnails of a whole scene, from its COG overviews."""
    return comparison.city_thumbnails(Path(scene_folder))


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def city_evaluation(model_folder: str) -> comparison.CityEvaluation:
    """Card and test-split scores of a segmenter folder."""
    return comparison.load_city_evaluation(Path(model_folder))


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def transfer_matrix(path: str, metric: str) -> pd.DataFrame:
    """Models x cities table of ``cross_city.json`` for ``metric`` (miou / pixel_accuracy)."""
    return comparison.transfer_matrix(Path(path), metric)


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def gallery(model_folder: str) -> dict[str, np.ndarray]:
    """Sample test patches of a segmenter: ``rgb``, ``truth`` and ``prediction``."""
    return comparison.load_gallery(Path(model_folder))
