"""Per-image predictions on a classifier's held-out test split, saved with the model.

``lulc evaluate`` (when it scores exactly the split in ``split.json``) and ``lulc train
classifier`` write ``<model folder>/test_predictions.csv``; the dashboard's classifier page
reads it to browse test images, mistakes first, without running the network. No torch here,
so the page loads fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lulc_core.errors import DataNotFoundError, InvalidDataError

TEST_PREDICTIONS_FILE = "test_predictions.csv"
PREDICTION_COLUMNS = ("path", "true", "predicted", "p_predicted", "p_true")
_REWRITE = "delete it and run `lulc evaluate --model <name>` to write it again"


def prediction_table(
    paths: Sequence[str], probabilities: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> pd.DataFrame:
    """One row per image: what it is, what the model said, and how sure it was.

    Args:
        paths: image paths relative to the data folder (``<Class>/<file>``), N of them.
        probabilities: class probabilities (N, K) (numpy, or a CPU tensor).
        labels: true class indices (N,) (numpy, or a CPU tensor).
        class_names: the K class names, by index.

    Returns:
        Columns :data:`PREDICTION_COLUMNS`: ``path``, ``true`` and ``predicted`` class names,
        ``p_predicted`` (probability of the predicted class) and ``p_true`` (of the true one).
    """
    probs = np.asarray(probabilities, dtype=np.float32)
    truth = np.asarray(labels, dtype=np.int64)
    predicted = probs.argmax(axis=1)
    rows = np.arange(len(probs))
    names = np.asarray(class_names, dtype=object)
    return pd.DataFrame({
        "path": list(paths),
        "true": names[truth],
        "predicted": names[predicted],
        "p_predicted": probs[rows, predicted],
        "p_true": probs[rows, truth],
    })


def predictions_csv(table: pd.DataFrame) -> str:
    """A :func:`prediction_table` as CSV text: sorted by path, probabilities with 4 decimals
    (about 60 bytes per image)."""
    ordered = table.loc[:, list(PREDICTION_COLUMNS)].sort_values("path")
    return ordered.to_csv(index=False, float_format="%.4f", lineterminator="\n")


def save_test_predictions(model_folder: Path, table: pd.DataFrame) -> Path:
    """Write ``<model_folder>/test_predictions.csv`` atomically (see :func:`predictions_csv`)."""
    from lulc_core.files import atomic_write_text

    target = model_folder / TEST_PREDICTIONS_FILE
    atomic_write_text(target, predictions_csv(table))
    return target


def load_test_predictions(model_folder: Path) -> pd.DataFrame:
    """Read a model's ``test_predictions.csv`` and add ``correct`` (bool).

    Raises:
        DataNotFoundError: the model has no saved test predictions.
        InvalidDataError: the file is not a predictions table.
    """
    path = model_folder / TEST_PREDICTIONS_FILE
    if not path.is_file():
        raise DataNotFoundError(
            f"no test predictions for model {model_folder.name!r}: run `lulc evaluate --model "
            f"{model_folder.name}` on its EuroSAT folder"
        )
    try:
        table = pd.read_csv(path, dtype={"path": str, "true": str, "predicted": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InvalidDataError(f"{path} is not readable ({type(e).__name__}): {_REWRITE}") from None
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise InvalidDataError(f"{path} lacks columns {missing}: {_REWRITE}")
    if table[list(PREDICTION_COLUMNS)].isna().any().any():
        raise InvalidDataError(f"{path} has empty cells: {_REWRITE}")
    return table.assign(correct=table["true"] == table["predicted"])


def browse_order(
    table: pd.DataFrame, true_class: str | None = None, mistakes_only: bool = False
) -> pd.DataFrame:
    """Rows of :func:`load_test_predictions` in the order to look at them: mistakes first,
    the most confident mistakes at the top, then correct images, least sure first.

    Args:
        table: from :func:`load_test_predictions`.
        true_class: keep only images of this true class (None: all).
        mistakes_only: keep only misclassified images.
    """
    rows = table
    if true_class is not None:
        rows = rows[rows["true"] == true_class]
    if mistakes_only:
        rows = rows[~rows["correct"]]
    # Mistakes sorted by -p_predicted, correct ones by p_true (= p_predicted): one sort key.
    key = np.where(rows["correct"], 1.0 + rows["p_true"], -rows["p_predicted"])
    return rows.iloc[np.lexsort((rows["path"].to_numpy(), key))].reset_index(drop=True)
