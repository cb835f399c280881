"""The plain-language summary: numbers computed from the arrays, wording for areas with and
without Urban Atlas truth, on hand-made areas and on the demo cities' presets."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from demo_areas import centre_middle
from lulc_core.artifacts import load_card
from lulc_core.classes import NODATA_INDEX, code_to_index
from lulc_core.config import REPO_ROOT
from lulc_core.predict import AreaPrediction, area_table
from lulc_core.summary import PLAIN_NAMES, summarise

CARD = load_card(REPO_ROOT / "artifacts" / "models" / "unet-paris")
IDX = code_to_index()
DENSE, INDUSTRY, FOREST, WATER = IDX[11210], IDX[12100], IDX[31000], IDX[50000]


def _area(truth: np.ndarray | None, prediction: np.ndarray,
          confidence: np.ndarray) -> AreaPrediction:
    h, w = prediction.shape
    return AreaPrediction(np.zeros((h, w, 3), np.uint8), truth, prediction, confidence,
                          "EPSG:32631", None, (2.3, 48.8, 2.31, 48.81),
                          area_table(CARD, prediction, truth), 0.1)


def _hand_made() -> AreaPrediction:
    """100 pixels: truth 50 dense housing, 30 industry, 20 forest. The model gets 45 housing,
    6 industry (24 called housing) and all 20 forest right; one pixel has no data."""
    truth = np.array([DENSE] * 50 + [INDUSTRY] * 30 + [FOREST] * 20, np.uint8).reshape(10, 10)
    pred = truth.copy().ravel()
    pred[45:50] = FOREST  # 5 housing pixels called forest
    pred[56:80] = DENSE  # 24 industry pixels called housing
    pred[99] = NODATA_INDEX
    conf = np.full(100, 0.9, np.float32)
    conf[:30] = 0.4  # unsure on 30 pixels
    conf[99] = np.nan
    return _area(truth, pred.reshape(10, 10), conf.reshape(10, 10))


def test_numbers_come_from_the_arrays() -> None:
    s = summarise(_hand_made())
    # 99 pixels with data: prediction = 69 housing + 6 industry (built) + 24 forest
    assert s.built_up_pct == pytest.approx(100 * 75 / 99)
    assert s.truth_built_up_pct == pytest.approx(100 * 80 / 99)  # truth where the model has data
    assert s.agreement_pct == pytest.approx(100 * (45 + 6 + 19) / 99)
    assert [c.name for c in s.largest] == ["dense housing", "forest", "industry and commerce"]
    assert s.largest[0].pct == pytest.approx(100 * 69 / 99)
    assert s.weakest.name == "industry and commerce"
    assert s.weakest.pct == pytest.approx(100 * 6 / 30)  # share of official industry found
    assert s.sure_pct == pytest.approx(100 * 69 / 99)
    assert s.unsure_pct == pytest.approx(100 * 30 / 99)
    assert s.km2 == pytest.approx(99e-4)


def test_wording_with_truth() -> None:
    text = summarise(_hand_made()).text
    assert text.startswith("About 76 % of this 0.0099 km2 area is built up according to the model "
                           "(the official Urban Atlas map says 81 %).")
    assert "The model agrees with the official map on 71 % of it" in text
    assert "its weakest class here is industry and commerce: it finds 20 % of what the " \
           "official map calls industry and commerce." in text
    assert "unsure (under 50 %) on 30 %" in text


def test_wording_without_truth_says_so() -> None:
    area = dataclasses.replace(_hand_made(), truth=None)
    area = dataclasses.replace(area, area_table=area_table(CARD, area.prediction, None))
    s = summarise(area)
    assert s.agreement_pct is None and s.truth_built_up_pct is None and not s.has_truth
    assert "There is no official land-use map (Urban Atlas) for this area" in s.text
    assert "official Urban Atlas map says" not in s.text and "agrees" not in s.text
    # least sure of: housing has 30 pixels at 0.4 among its 69, forest and industry are at 0.9
    assert s.weakest.name == "dense housing"
    assert s.weakest.pct == pytest.approx(100 * (30 * 0.4 + 39 * 0.9) / 69)
    assert "the model is least sure about dense housing." in s.text


def test_small_classes_and_background_are_not_named() -> None:
    truth = np.full((10, 10), WATER, np.uint8)
    truth[0, 0] = 0  # background: not a land use
    pred = truth.copy()
    pred[0, 1] = FOREST  # 1 % forest: under the 2 % threshold
    s = summarise(_area(truth, pred, np.ones((10, 10), np.float32)))
    assert [c.name for c in s.largest] == ["water"]
    assert "The largest land use is water (98 %)." in s.text
    assert s.built_up_pct == 0 and s.weakest.name == "water"


def test_every_urban_atlas_class_has_a_plain_name() -> None:
    assert {c.code or 0 for c in CARD.classes} == set(PLAIN_NAMES)


@pytest.mark.parametrize("city", ["paris", "ankara"])
def test_demo_city_centres(city: str) -> None:
    area = centre_middle(city)
    summary = summarise(area)
    valid = area.prediction != NODATA_INDEX
    agreement = 100 * (area.prediction == area.truth)[valid].mean()
    assert summary.agreement_pct == pytest.approx(agreement)
    built = [IDX[c] for c in IDX if 11000 <= c < 13000]
    built_pct = 100 * np.isin(area.prediction[valid], built).mean()
    assert summary.built_up_pct == pytest.approx(built_pct)
    text = summary.text
    numbers = [int(x) for x in re.findall(r"(\d+) %", text)]
    assert numbers and all(0 <= x <= 100 for x in numbers)
    assert f"the official map on {summary.agreement_pct:.0f} % of it" in text
    assert "nan" not in text.lower() and "There is no official" not in text
    # the same area without its truth
    card = load_card(REPO_ROOT / "artifacts" / "models" / f"unet-{city}")
    no_truth = dataclasses.replace(area, truth=None, area_table=area_table(card, area.prediction))
    assert "There is no official land-use map" in summarise(no_truth).text
