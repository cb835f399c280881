"""Benchmark: whole-scene inference in km2/s, ours vs a torchgeo loop, same run, same U-Net.

Usage: python bench/scene_inference.py [--scene paris] [--model unet-paris] [--skip-torchgeo]

- ours: ``predict_scene`` end to end: windowed COG reads, 512 px windows with 64 px overlap,
  cosine blending, bf16 autocast when supported, writes the COG + area CSV;
- torchgeo: what a torchgeo user writes: ``RasterDataset`` over the band files +
  ``GridGeoSampler(size=256, stride=224)`` + ``DataLoader`` + the same U-Net in bf16 autocast;
  it neither stitches nor writes anything.
Also reports the peak resident memory of our path (a 4x larger scene can be measured by
pointing --scene at one).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from lulc_core.data.scene import scene_dir
from lulc_core.models import load_model
from lulc_core.predict import predict_scene
from lulc_core.train import autocast, bf16_supported


def torchgeo_loop(module, card, folder: Path) -> float:
    """Seconds for a torchgeo user's inference loop over the whole scene."""
    from torch.utils.data import DataLoader
    from torchgeo.datasets import RasterDataset, stack_samples
    from torchgeo.samplers import GridGeoSampler

    class Bands(RasterDataset):
        filename_glob = "B0*.tif"
        filename_regex = r"^(?P<band>B0[234])\.tif$"
        is_image = True
        separate_files = True
        all_bands = ("B04", "B03", "B02")
        rgb_bands = ("B04", "B03", "B02")

    ds = Bands(paths=str(folder), bands=tuple(card.bands))
    sampler = GridGeoSampler(ds, size=256, stride=224)
    loader = DataLoader(ds, sampler=sampler, batch_size=8, collate_fn=stack_samples)
    mean = torch.tensor(card.normalization["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(card.normalization["std"]).view(1, -1, 1, 1)
    bf16 = bf16_supported(torch.device("cpu"))
    t0 = time.perf_counter()
    with torch.inference_mode():
        for batch in loader:
            x = (batch["image"].float() * 1e-4 - 0.1 - mean) / std
            with autocast(torch.device("cpu"), bf16):
                module(x.contiguous(memory_format=torch.channels_last))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="paris")
    parser.add_argument("--model", default="unet-paris")
    parser.add_argument("--skip-torchgeo", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    module, card = load_model(args.model)
    folder = scene_dir(args.scene)
    with tempfile.TemporaryDirectory() as tmp:
        ours = predict_scene((module, card), folder, Path(tmp) / "pred.tif")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"scene {args.scene}: {ours.width} x {ours.height} px, {ours.km2:.0f} km2")
    print(f"ours (read, infer, blend, write COG)  {ours.km2_per_second:7.1f} km2/s  ({ours.seconds:.1f} s, peak RSS {peak:.2f} GB)")
    if not args.skip_torchgeo:
        seconds = torchgeo_loop(module, card, folder)  # same scene, same area
        print(f"torchgeo loop (infer only, bf16)      {ours.km2 / seconds:7.1f} km2/s  ({seconds:.1f} s)")
        print(f"ratio ours / torchgeo                 {ours.km2_per_second / (ours.km2 / seconds):7.2f}x")


if __name__ == "__main__":
    main()
