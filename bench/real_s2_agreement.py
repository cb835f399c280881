"""Benchmark: does a EuroSAT classifier's patch map hold up on real Sentinel-2 imagery?

Usage: python bench/real_s2_agreement.py [--model efficientnet_lite0] [--site DIR]
       [--strides 64 32] [--png docs/img/versailles_maps.png] [--json out.json]

On the shared Versailles sample (three L2A dates and the same-date L1C, 2019-07-03/08/10) it
maps every image with :func:`lulc_core.patch_map.patch_map_array` for each harmonisation
(``none``, ``toa``, ``toa+stats``) at the coarsest stride, and with ``toa`` at the finer
strides (each halving of the stride costs 4x the CPU), and reports:

- agreement between the three L2A dates (pairwise and all three: share of cells mapped in
  both/all with the same class) and between each L2A date and its same-date L1C;
- classes present and class shares per date;
- a ``toa`` variant whose L2A -> TOA fit uses one date only (2019-07-08), scored on the two
  other dates (coarsest stride): how much the pooled fit owes to having seen those dates;
- the U-Net (``unet-paris``) on the L2A reflectance with no offset, raw and harmonised to TOA:
  share of vegetated pixels (Urban Atlas 14100, 2xxxx, 3xxxx, 40000).

There is no ground truth here: agreement across dates and levels measures stability, not
accuracy; the rendered PNG is what shows whether the map is right.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from lulc_core.classes import NODATA_INDEX, urban_atlas_legend
from lulc_core.classify import load_classifier
from lulc_core.data.samples import shared_sample_dir
from lulc_core.harmonise import (
    fit_l2a_to_l1c,
    read_real_s2,
    real_s2_files,
    to_eurosat_rgb,
    to_toa,
)
from lulc_core.patch_map import HARMONISATIONS, PatchMap, patch_map_array

ONE_DATE_FIT = "2019-07-08"


def agreement(*maps: np.ndarray) -> float:
    """Share of cells mapped in every map (no data excluded) where all maps give one class."""
    valid = np.logical_and.reduce([m != NODATA_INDEX for m in maps])
    same = np.logical_and.reduce([m == maps[0] for m in maps[1:]])
    return float((same & valid).sum() / max(valid.sum(), 1))


def summarise(maps: dict[tuple[str, str], PatchMap], dates: list[str]) -> dict:
    """Agreement, classes present and shares for one variant's maps {(level, date): map}."""
    l2a = [maps[("L2A", d)].classes for d in dates]
    out = {
        "l2a_pairwise": {f"{a}|{b}": round(agreement(maps[("L2A", a)].classes,
                                                     maps[("L2A", b)].classes), 3)
                         for a, b in itertools.combinations(dates, 2)},
        "l2a_all_three": round(agreement(*l2a), 3),
        "l1c_all_three": round(agreement(*(maps[("L1C", d)].classes for d in dates
                                           if ("L1C", d) in maps)), 3),
        "l2a_vs_l1c": {d: round(agreement(maps[("L2A", d)].classes, maps[("L1C", d)].classes), 3)
                       for d in dates if ("L1C", d) in maps},
        "classes_present": {f"{lvl} {d}": int(sum(v > 0 for v in m.shares().values()))
                            for (lvl, d), m in maps.items()},
        "shares": {f"{lvl} {d}": {k: round(v, 3) for k, v in m.shares().items() if v > 0}
                   for (lvl, d), m in maps.items()},
        "cells": int((l2a[0] != NODATA_INDEX).sum()),
        "seconds_per_map": round(float(np.mean([m.seconds for m in maps.values()])), 2),
    }
    return out


def is_vegetated(code: int) -> bool:
    """Urban Atlas green urban areas (14100), agriculture (2xxxx), forest and semi-natural
    (3xxxx) and wetlands (40000)."""
    return code == 14100 or 20000 <= code < 50000


def unet_vegetated(images: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Vegetated share of the unet-paris map per input (and the maps)."""
    from lulc_core.models import load_model
    from lulc_core.predict import predict_array

    module, card = load_model("unet-paris", fused=True)
    vegetated = np.array([is_vegetated(c.code or 0) for c in card.classes])
    shares, maps = {}, {}
    for name, refl in images.items():
        classes, _ = predict_array(module, card, refl)
        valid = classes != NODATA_INDEX
        shares[name] = round(float(vegetated[classes[valid]].mean()), 3)
        maps[name] = classes
    return shares, maps


def render(path: Path, panels: list[tuple[str, np.ndarray]],
           legends: list[list[tuple[str, str]]]) -> None:
    """Pictures (same size, uint8 (H, W, 3)) in rows of four with titles, legends below."""
    from PIL import Image, ImageDraw

    from lulc_core.files import atomic_path

    h, w = panels[0][1].shape[:2]
    title_h, gap, per_row = 18, 6, 4
    n_rows = -(-len(panels) // per_row)
    legend_h = 16 * sum(-(-len(items) // 5) for items in legends) + 8
    canvas = Image.new("RGB", (per_row * (w + gap) - gap, n_rows * (h + title_h + gap) + legend_h),
                       "white")
    draw = ImageDraw.Draw(canvas)
    for k, (title, picture) in enumerate(panels):
        x, y = (k % per_row) * (w + gap), (k // per_row) * (h + title_h + gap)
        draw.text((x + 2, y + 3), title, fill="black")
        canvas.paste(Image.fromarray(picture), (x, y + title_h))
    y = n_rows * (h + title_h + gap)
    for items in legends:
        for i, (name, color) in enumerate(items):
            x = (i % 5) * (canvas.width // 5)
            yy = y + (i // 5) * 16
            draw.rectangle([x + 2, yy + 2, x + 14, yy + 12], fill=color, outline="black")
            draw.text((x + 18, yy + 1), name, fill="black")
        y += 16 * -(-len(items) // 5)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")


def upscale(picture: np.ndarray, stride: int, h: int, w: int) -> np.ndarray:
    """A grid picture (rows, cols, 3) shown on the scene's pixel grid (white beyond the grid)."""
    big = np.repeat(np.repeat(picture, stride, axis=0), stride, axis=1)[:h, :w]
    out = np.full((h, w, 3), 255, np.uint8)
    out[: big.shape[0], : big.shape[1]] = big
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--site", type=Path, default=shared_sample_dir(),
                        help="folder with L2A/ and L1C/ (default: the shared Versailles sample)")
    parser.add_argument("--strides", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--png", type=Path, default=Path("docs/img/versailles_maps.png"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-unet", action="store_true")
    args = parser.parse_args()
    if args.site is None:
        parser.error("no shared Versailles sample beside the clone: pass --site or set "
                     "LULC_REAL_S2_DIR")

    classifier = load_classifier(args.model)
    dates = sorted({d for d, _ in real_s2_files(args.site / "L2A", "L2A")})
    images = {(lvl, d): read_real_s2(args.site, lvl, d) for lvl in ("L2A", "L1C") for d in dates}
    one_date = {b: (f.slope, f.intercept)
                for b, f in fit_l2a_to_l1c(args.site, [ONE_DATE_FIT]).items()}
    report: dict = {"model": args.model, "site": str(args.site), "dates": dates, "variants": {}}
    kept: dict[tuple[int, str], dict] = {}
    coarse = max(args.strides)
    for stride in sorted(args.strides, reverse=True):
        # Variants are compared at the coarsest stride; finer ones run the default only (CPU).
        for harmonisation in HARMONISATIONS if stride == coarse else ("toa",):
            maps = {key: patch_map_array(classifier, refl, key[0], crs, transform, stride,
                                         harmonisation)
                    for key, (refl, crs, transform) in images.items()}
            kept[(stride, harmonisation)] = maps
            report["variants"][f"stride {stride} {harmonisation}"] = summarise(maps, dates)
            summary = report["variants"][f"stride {stride} {harmonisation}"]
            print(f"stride {stride} {harmonisation}:",
                  json.dumps({k: v for k, v in summary.items() if k != "shares"}), flush=True)
        if stride != coarse:
            continue
        # L2A -> TOA with the fit of one date, scored on the two others (fed in as TOA).
        maps = {("L1C", d): kept[(stride, "toa")][("L1C", d)] for d in dates}
        for d in dates:
            refl, crs, transform = images[("L2A", d)]
            maps[("L2A", d)] = patch_map_array(classifier, to_toa(refl, "L2A", one_date), "L1C",
                                               crs, transform, stride, "toa")
        others = [d for d in dates if d != ONE_DATE_FIT]
        name = f"stride {stride} toa fitted on {ONE_DATE_FIT} only"
        report["variants"][name] = {
            "l2a_vs_l1c_other_dates": {d: round(agreement(maps[("L2A", d)].classes,
                                                          maps[("L1C", d)].classes), 3)
                                       for d in others},
            "l2a_all_three": round(agreement(*(maps[("L2A", d)].classes for d in dates)), 3),
        }
        print(name, json.dumps(report["variants"][name]), flush=True)

    show = dates[1] if len(dates) > 1 else dates[0]
    refl, _, _ = images[("L2A", show)]
    l1c, _, _ = images[("L1C", show)]
    h, w = refl.shape[1:]
    rgb = to_eurosat_rgb(refl, "L2A")
    panels = [(f"L2A {show} (TOA-harmonised RGB)", rgb)]
    for harmonisation in HARMONISATIONS:
        stride = min(s for s, v in kept if v == harmonisation)
        pm = kept[(stride, harmonisation)][("L2A", show)]
        panels.append((f"classifier L2A, {harmonisation}, {stride} px",
                       upscale(pm.rgb(), stride, h, w)))
    panels.append((f"L1C {show} RGB", to_eurosat_rgb(l1c, "L1C")))
    stride = min(args.strides)
    pm = kept[(stride, "toa")][("L1C", show)]
    panels.append((f"classifier L1C, toa, {stride} px", upscale(pm.rgb(), stride, h, w)))
    legends = [list(zip(pm.class_names, pm.colors, strict=True))]
    if not args.skip_unet:
        t0 = time.perf_counter()
        shares, unet_maps = unet_vegetated({"L2A raw": refl, "L2A as TOA": to_toa(refl, "L2A")})
        report["unet_vegetated_share"] = shares
        report["unet_seconds"] = round(time.perf_counter() - t0, 1)
        print("unet-paris vegetated share:", shares, flush=True)
        from lulc_core.render import colorize

        for name, classes in unet_maps.items():
            panels.append((f"unet-paris, {name}", colorize(classes)))
        present = sorted({int(c) for m in unet_maps.values() for c in np.unique(m)}
                         - {NODATA_INDEX})
        legend = {c.index: c for c in urban_atlas_legend()}
        legends.append([(f"{legend[i].code} {legend[i].name[:28]}", legend[i].color)
                        for i in present])
    args.png.parent.mkdir(parents=True, exist_ok=True)
    render(args.png, panels, legends)
    print(f"wrote {args.png}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
