"""Metrics: counts against a hand-made example, absent classes, accumulation, CSV round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_f1_score, multiclass_jaccard_index

from lulc_core.errors import InvalidDataError
from lulc_core.metrics import (
    ConfusionAccumulator,
    confusion_matrix,
    load_confusion_csv,
    report_from_confusion,
    save_confusion_csv,
)

NAMES = ["a", "b", "c", "d"]


def test_hand_checked_example_with_absent_class() -> None:
    preds = np.array([0, 1, 1, 2, 0, 3])
    target = np.array([0, 1, 2, 2, 1, 2])
    cm = confusion_matrix(preds, target, 4)
    assert cm.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0]]
    report = report_from_confusion(cm, NAMES)
    table = report.per_class
    assert report.accuracy == pytest.approx(3 / 6)
    assert table.loc["a", "precision"] == pytest.approx(0.5)
    assert table.loc["c", "recall"] == pytest.approx(1 / 3)
    assert table.loc["b", "iou"] == pytest.approx(1 / 3)
    # "d" never occurs in the truth: NaN and flagged absent, not 0, and left out of the means.
    assert not table.loc["d", "present"] and table.loc["d", ["precision", "f1", "iou"]].isna().all()
    assert report.absent_classes == ["d"]
    assert report.miou == pytest.approx(np.mean([0.5, 1 / 3, 1 / 3]))
    assert report.summary()["total"] == 6


def test_scores_agree_with_torchmetrics_on_present_classes() -> None:
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.integers(0, 5, 500))
    preds = torch.where(torch.rand(500) < 0.6, target, torch.from_numpy(rng.integers(0, 5, 500)))
    report = report_from_confusion(confusion_matrix(preds, target, 5), list("vwxyz"))
    f1 = multiclass_f1_score(preds, target, 5, average=None)
    iou = multiclass_jaccard_index(preds, target, 5, average=None)
    np.testing.assert_allclose(report.per_class["f1"].to_numpy(), f1.numpy(), rtol=1e-5)
    np.testing.assert_allclose(report.per_class["iou"].to_numpy(), iou.numpy(), rtol=1e-5)


def test_accumulator_over_batches_matches_one_shot_and_ignores_nodata() -> None:
    rng = np.random.default_rng(1)
    target = rng.integers(0, 3, (4, 16, 16))
    target[:, 0, :] = 255
    logits = torch.from_numpy(rng.normal(size=(4, 3, 16, 16))).float()
    acc = ConfusionAccumulator(3, ignore_index=255)
    for i in range(4):
        acc.update(logits[i : i + 1], target[i : i + 1])
    cm = acc.compute()
    assert cm.dtype == np.int64 and cm.sum() == 4 * 15 * 16
    one_shot = confusion_matrix(logits.argmax(1), target, 3, ignore_index=255)
    np.testing.assert_array_equal(cm, one_shot)


def test_confusion_csv_round_trip_and_bad_file(tmp_path: Path) -> None:
    cm = np.arange(16, dtype=np.int64).reshape(4, 4)
    names = ["Forest", "Sea, lake", "c", "d"]
    save_confusion_csv(tmp_path / "cm.csv", cm, names)
    loaded, loaded_names = load_confusion_csv(tmp_path / "cm.csv")
    np.testing.assert_array_equal(loaded, cm)
    assert loaded_names == names
    (tmp_path / "bad.csv").write_text("x,a,b\na,1,2\n")
    with pytest.raises(InvalidDataError):
        load_confusion_csv(tmp_path / "bad.csv")
    with pytest.raises(InvalidDataError):
        report_from_confusion(cm, names[:3])
