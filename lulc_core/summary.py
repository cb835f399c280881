"""A mapped area in plain words, for people who do not read confusion matrices.

Every number comes from the area's own arrays (prediction, Urban Atlas truth, confidence), as
shares of the pixels that have data: "About 62 % of this area is built up; the model agrees
with the official map on 71 % of it; its weakest class here is industry and commerce".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lulc_core.classes import NODATA_INDEX

if TYPE_CHECKING:
    from lulc_core.predict import AreaPrediction

# Short everyday names of the Urban Atlas 2018 classes (code -> name); the official names stay
# in the legend. 0 is the background index (no Urban Atlas polygon).
PLAIN_NAMES: dict[int, str] = {
    0: "land outside the official map",
    11100: "dense city blocks",
    11210: "dense housing",
    11220: "medium-density housing",
    11230: "low-density housing",
    11240: "very low-density housing",
    11300: "isolated buildings",
    12100: "industry and commerce",
    12210: "motorways",
    12220: "other roads",
    12230: "railways",
    12300: "port areas",
    12400: "airports",
    13100: "quarries and dumps",
    13300: "construction sites",
    13400: "vacant land",
    14100: "parks and urban green",
    14200: "sports and leisure grounds",
    21000: "cropland",
    22000: "vineyards and fruit trees",
    23000: "pasture",
    24000: "mixed farmland",
    25000: "orchards",
    31000: "forest",
    32000: "grassland and scrub",
    33000: "bare ground",
    40000: "wetland",
    50000: "water",
}
# "Built up": urban fabric (11xxx), industry / commerce / public units and transport land
# (12xxx). Mines, construction sites and vacant land (13xxx) are not counted as built.
BUILT_UP_CODES = frozenset(c for c in PLAIN_NAMES if 11000 <= c < 13000)
MIN_SHARE_PCT = 2.0  # a class smaller than this share of the area is not named (noise)
SURE, UNSURE = 0.8, 0.5  # confidence (max softmax) thresholds of "sure" and "unsure"


@dataclass(frozen=True)
class ClassShare:
    """A class in plain words with a percentage (its meaning depends on where it is used)."""

    name: str
    pct: float


@dataclass(frozen=True)
class AreaSummary:
    """What :func:`summarise` found; ``text`` puts it in sentences.

    Attributes:
        km2: area with data.
        built_up_pct: share of the area the model maps as built up.
        truth_built_up_pct: the same share on the Urban Atlas, or None without truth.
        largest: up to three largest predicted land uses, share of the area.
        agreement_pct: share of the area where model and Urban Atlas agree (None without truth).
        weakest: with truth, the class (of at least ``MIN_SHARE_PCT`` of the official map) whose
            official area the model labels right least often, pct = that share; without truth,
            the predicted class the model is least sure of, pct = its mean confidence.
        sure_pct, unsure_pct: share of the area where the confidence is >= ``SURE`` / < ``UNSURE``.
    """

    km2: float
    built_up_pct: float
    truth_built_up_pct: float | None
    largest: tuple[ClassShare, ...]
    agreement_pct: float | None
    weakest: ClassShare | None
    sure_pct: float
    unsure_pct: float

    @property
    def has_truth(self) -> bool:
        return self.agreement_pct is not None

    @property
    def sentences(self) -> list[str]:
        """The summary, one finding per sentence."""
        built = f"About {self.built_up_pct:.0f} % of this {self.km2:.3g} km2 area is built up"
        if self.truth_built_up_pct is None:
            out = [built + " according to the model."]
        else:
            out = [built + f" according to the model (the official Urban Atlas map says "
                           f"{self.truth_built_up_pct:.0f} %)."]
        if self.largest:
            parts = [f"{c.name} ({c.pct:.0f} %)" for c in self.largest]
            listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
            out.append(f"The largest land uses are {listed}." if len(parts) > 1
                       else f"The largest land use is {listed}.")
        if self.has_truth:
            agree = f"The model agrees with the official map on {self.agreement_pct:.0f} % of it"
            if self.weakest is None:
                out.append(agree + ".")
            else:
                out.append(f"{agree}; its weakest class here is {self.weakest.name}: it finds "
                           f"{self.weakest.pct:.0f} % of what the official map calls "
                           f"{self.weakest.name}.")
        else:
            no_truth = ("There is no official land-use map (Urban Atlas) for this area, so the "
                        "model's map cannot be checked here")
            out.append(no_truth + (f"; the model is least sure about {self.weakest.name}."
                                   if self.weakest else "."))
        out.append(f"The model is sure of its answer (over {100 * SURE:.0f} %) on "
                   f"{self.sure_pct:.0f} % of the area and unsure (under {100 * UNSURE:.0f} %) on "
                   f"{self.unsure_pct:.0f} %: the dark parts of the confidence map.")
        return out

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def summarise(area: AreaPrediction) -> AreaSummary:
    """Plain-language statistics of a mapped area.

    Args:
        area: the prediction; ``area.area_table`` rows are the model's classes in index order
            (its ``code`` column maps an index to an Urban Atlas code).
    """
    codes = np.asarray(area.area_table["code"].fillna(0), dtype=np.int64)
    k = len(codes)
    valid = area.prediction != NODATA_INDEX
    n = max(int(valid.sum()), 1)
    pred = area.prediction[valid].astype(np.int64)
    pred_pct = 100 * np.bincount(pred, minlength=k)[:k] / n
    built = np.isin(codes, list(BUILT_UP_CODES))
    named = (codes != 0) & np.isin(codes, list(PLAIN_NAMES))  # real land uses, not background
    order = [i for i in np.argsort(-pred_pct, kind="stable")
             if named[i] and pred_pct[i] >= MIN_SHARE_PCT][:3]
    largest = tuple(ClassShare(PLAIN_NAMES[codes[i]], float(pred_pct[i])) for i in order)

    conf = area.confidence[valid]
    truth_built, agreement, weakest = None, None, None
    if area.truth is not None:
        truth = area.truth[valid].astype(np.int64)
        truth_counts = np.bincount(truth, minlength=k)[:k]
        truth_built = float(100 * truth_counts[built].sum() / n)
        agreement = float(100 * (truth == pred).mean()) if pred.size else 0.0
        hits = np.bincount(truth[truth == pred], minlength=k)[:k]
        recall = np.where(truth_counts > 0, 100 * hits / np.maximum(truth_counts, 1), np.inf)
        candidates = named & (100 * truth_counts / n >= MIN_SHARE_PCT)
        if candidates.any():
            i = int(np.argmin(np.where(candidates, recall, np.inf)))
            weakest = ClassShare(PLAIN_NAMES[codes[i]], float(recall[i]))
    else:
        mean_conf = np.bincount(pred, weights=conf, minlength=k)[:k] / np.maximum(
            np.bincount(pred, minlength=k)[:k], 1)
        candidates = named & (pred_pct >= MIN_SHARE_PCT)
        if candidates.any():
            i = int(np.argmin(np.where(candidates, mean_conf, np.inf)))
            weakest = ClassShare(PLAIN_NAMES[codes[i]], float(100 * mean_conf[i]))
    return AreaSummary(
        km2=float(area.area_table["predicted_km2"].sum()),
        built_up_pct=float(pred_pct[built].sum()),
        truth_built_up_pct=truth_built, largest=largest, agreement_pct=agreement,
        weakest=weakest, sure_pct=float(100 * (conf >= SURE).sum() / n),
        unsure_pct=float(100 * (conf < UNSURE).sum() / n),
    )


def plain_legend(area: AreaPrediction, min_km2: float = 0.0) -> pd.DataFrame:
    """The area table with everyday class names: columns ``color``, ``name`` and the table's
    km2 / % columns, classes with more than ``min_km2`` on either map, largest official (else
    predicted) area first."""
    table = area.area_table
    has_truth = "truth_km2" in table
    km2 = table[["predicted_km2", "truth_km2"]].max(axis=1) if has_truth else table["predicted_km2"]
    shown = table[km2 > min_km2].sort_values("truth_km2" if has_truth else "predicted_km2",
                                             ascending=False)
    names = [PLAIN_NAMES.get(int(code), name)
             for code, name in zip(shown["code"].fillna(0), shown["class"])]
    return shown.assign(name=names).drop(columns=["class", "code"])
