"""Classification and segmentation metrics from one confusion matrix.

Counts come from torchmetrics' ``MulticlassConfusionMatrix`` (int64 state, so billions of
pixels accumulate exactly, batch by batch); every score is then derived from that single
matrix, so accuracy, per-class scores and mIoU can never disagree with the saved confusion
matrix. A class with no true samples is *absent*: its scores are NaN (not 0) and it is left out
of macro averages, because a city without airports should not drag mIoU down for "airport".

Conventions: rows of the confusion matrix are the truth, columns the prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lulc_core.errors import DataNotFoundError, InvalidDataError
from lulc_core.files import atomic_write_text

if TYPE_CHECKING:
    import torch

# torch and torchmetrics are imported where matrices are counted, not at module level: reading
# a saved matrix (the dashboard) then costs milliseconds instead of seconds of imports.

PER_CLASS_COLUMNS = ("precision", "recall", "f1", "iou", "support", "present")


class ConfusionAccumulator:
    """Accumulate a confusion matrix over batches of labels (images or pixels).

    Args:
        num_classes: number of classes K; labels are 0..K-1.
        ignore_index: target value to skip (e.g. 255 = nodata); None keeps everything.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        from torchmetrics.classification import MulticlassConfusionMatrix

        self.num_classes = num_classes
        self._metric = MulticlassConfusionMatrix(
            num_classes, ignore_index=ignore_index, validate_args=False
        )

    def update(self, preds: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray) -> None:
        """Add one batch.

        Args:
            preds: predicted class indices, any shape (N,) or (N, H, W), or logits /
                probabilities of shape (N, K, ...) (argmax over dim 1 is taken).
            target: true class indices with the shape of the predicted indices.
        """
        import torch

        preds_t = torch.as_tensor(preds)
        target_t = torch.as_tensor(target).long()
        if preds_t.is_floating_point():
            preds_t = preds_t.argmax(dim=1)
        self._metric.update(preds_t.long().reshape(-1), target_t.reshape(-1))

    def compute(self) -> np.ndarray:
        """The (K, K) int64 confusion matrix so far (rows = truth, columns = prediction)."""
        return self._metric.confmat.detach().cpu().numpy().astype(np.int64)

    def report(self, class_names: Sequence[str]) -> MetricsReport:
        """Scores for everything accumulated so far (see :func:`report_from_confusion`)."""
        return report_from_confusion(self.compute(), class_names)


@dataclass(frozen=True)
class MetricsReport:
    """Scores derived from one confusion matrix.

    Attributes:
        class_names: K names, in index order.
        confusion: (K, K) int64 counts, rows = truth, columns = prediction.
        per_class: DataFrame indexed by class name with columns precision, recall, f1, iou
            (float, NaN for absent classes), support (int) and present (bool).
        accuracy: correct / total (for segmentation this is the pixel accuracy).
        macro_f1: mean F1 over present classes.
        miou: mean IoU over present classes.
    """

    class_names: tuple[str, ...]
    confusion: np.ndarray
    per_class: pd.DataFrame
    accuracy: float
    macro_f1: float
    miou: float

    @property
    def total(self) -> int:
        """Number of scored samples (images or pixels)."""
        return int(self.confusion.sum())

    @property
    def pixel_accuracy(self) -> float:
        """Alias of :attr:`accuracy` for segmentation readers."""
        return self.accuracy

    @property
    def absent_classes(self) -> list[str]:
        """Classes with no true sample: their scores are NaN and left out of the averages."""
        return [str(n) for n in self.per_class.index[~self.per_class["present"]]]

    def summary(self) -> dict[str, Any]:
        """Headline numbers as plain JSON-ready values (NaN becomes None)."""
        return {
            "accuracy": _finite_or_none(self.accuracy),
            "macro_f1": _finite_or_none(self.macro_f1),
            "miou": _finite_or_none(self.miou),
            "total": self.total,
            "present_classes": int(self.per_class["present"].sum()),
            "absent_classes": self.absent_classes,
        }


def _finite_or_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise numerator / denominator with 0 where the denominator is 0."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def confusion_matrix(
    preds: torch.Tensor | np.ndarray,
    target: torch.Tensor | np.ndarray,
    num_classes: int,
    ignore_index: int | None = None,
) -> np.ndarray:
    """One-shot (K, K) int64 confusion matrix of predicted vs true class indices (any shape)."""
    acc = ConfusionAccumulator(num_classes, ignore_index=ignore_index)
    acc.update(preds, target)
    return acc.compute()


def report_from_confusion(confusion: np.ndarray, class_names: Sequence[str]) -> MetricsReport:
    """Per-class precision / recall / F1 / IoU / support and averages from a confusion matrix.

    A present class that is never predicted gets precision 0 (it earned no true positive),
    matching torchmetrics' ``zero_division=0``; an absent class gets NaN everywhere.

    Args:
        confusion: (K, K) counts, rows = truth, columns = prediction.
        class_names: K names.

    Raises:
        InvalidDataError: the matrix is not square or does not match the number of names.
    """
    cm = np.asarray(confusion, dtype=np.int64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise InvalidDataError(
            f"confusion matrix has shape {cm.shape} but there are {k} class names: "
            "pass one name per row/column"
        )
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    present = support > 0
    precision = _safe_ratio(tp, predicted)
    recall = _safe_ratio(tp, support)
    f1 = _safe_ratio(2 * tp, support + predicted)
    iou = _safe_ratio(tp, support + predicted - tp)
    table = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "iou": iou},
        index=pd.Index([str(n) for n in class_names], name="class"),
    )
    table.loc[~present, :] = np.nan
    table["support"] = support.astype(np.int64)
    table["present"] = present
    total = cm.sum()
    accuracy = float(tp.sum() / total) if total else float("nan")
    macro_f1 = float(f1[present].mean()) if present.any() else float("nan")
    miou = float(iou[present].mean()) if present.any() else float("nan")
    return MetricsReport(tuple(table.index), cm, table, accuracy, macro_f1, miou)


def confusion_csv(confusion: np.ndarray, class_names: Sequence[str]) -> str:
    """The matrix as CSV text: one row per true class, one column per predicted class, both
    labelled with the class names (first header cell ``truth\\prediction``)."""
    frame = pd.DataFrame(
        np.asarray(confusion, dtype=np.int64), index=list(class_names), columns=list(class_names)
    )
    return frame.to_csv(index_label="truth\\prediction")


def save_confusion_csv(path: Path, confusion: np.ndarray, class_names: Sequence[str]) -> None:
    """Write :func:`confusion_csv` atomically."""
    atomic_write_text(path, confusion_csv(confusion, class_names))


def load_confusion_csv(path: Path) -> tuple[np.ndarray, list[str]]:
    """Read a matrix written by :func:`save_confusion_csv`.

    Returns:
        ((K, K) int64 counts, K class names).

    Raises:
        DataNotFoundError: the file is missing.
        InvalidDataError: the file is not a square integer matrix with matching names.
    """
    if not path.is_file():
        raise DataNotFoundError(f"no confusion matrix at {path}: run `lulc evaluate` first")
    bad = InvalidDataError(
        f"{path} is not a square confusion-matrix CSV with class names on both axes: "
        "re-run `lulc evaluate` to rewrite it"
    )
    try:
        frame = pd.read_csv(path, index_col=0)
        cm = frame.to_numpy(dtype=np.int64)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        raise bad from None
    if list(frame.index.astype(str)) != list(frame.columns):
        raise bad
    return cm, list(frame.columns)


def save_per_class_csv(path: Path, report: MetricsReport) -> None:
    """Write the per-class table atomically (absent classes keep empty scores)."""
    atomic_write_text(path, report.per_class.to_csv(float_format="%.6f"))
