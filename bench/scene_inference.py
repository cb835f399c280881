"""Benchmark: whole-scene inference in km2/s, ours vs a torchgeo loop, same run, same U-Net.

Usage: python bench/scene_inference.py [--scene paris] [--model unet-paris] [--skip-torchgeo]

- ours: ``predict_scene`` end to end: windowed COG reads, 512 px windows with 64 px overlap,
  cosine blending, bf16 autocast when supported, writes the COG + area CSV;
- torchgeo: what a torchgeo user writes: ``RasterDataset`` over the band files +
  ``GridGeoSampler(size=256, stride=224)`` + ``DataLoader`` + the same U-Net in bf16 autocast;
  it neither stitches nor writes anything.
With ``--times 2`` the scene is first tiled 2 x 2 (4x the area) through GDAL VRTs, to show
that memory stays about flat as the scene grows (run once per size: peak RSS is per process).
"""

from __future__ import annotations

import argparse
import json
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


def tiled_scene(folder: Path, out: Path, times: int) -> Path:
    """A scene ``times`` x ``times`` larger: each band a VRT repeating the original."""
    import rasterio

    out.mkdir(parents=True)
    for name in ("B02.tif", "B03.tif", "B04.tif", "SCL.tif"):
        with rasterio.open(folder / name) as src:
            w, h, t = src.width, src.height, src.transform
            dtype = {"uint16": "UInt16", "uint8": "Byte"}[src.dtypes[0]]
            scale, offset = src.scales[0], src.offsets[0]
            tiles = "".join(
                f"<SimpleSource><SourceFilename>{(folder / name).resolve()}</SourceFilename>"
                f"<SourceBand>1</SourceBand><SrcRect xOff='0' yOff='0' xSize='{w}' ySize='{h}'/>"
                f"<DstRect xOff='{i * w}' yOff='{j * h}' xSize='{w}' ySize='{h}'/></SimpleSource>"
                for i in range(times) for j in range(times))
            xml = (f"<VRTDataset rasterXSize='{w * times}' rasterYSize='{h * times}'>"
                   f"<SRS>{src.crs.to_wkt()}</SRS><GeoTransform>{t.c}, {t.a}, 0, {t.f}, 0, {t.e}"
                   f"</GeoTransform><VRTRasterBand dataType='{dtype}' band='1'>"
                   f"<NoDataValue>0</NoDataValue><Offset>{offset}</Offset><Scale>{scale}</Scale>"
                   f"{tiles}</VRTRasterBand></VRTDataset>")
        (out / name).write_text(xml)  # GDAL recognises a VRT by its content
    manifest = json.loads((folder / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(manifest | {"name": out.name}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="paris")
    parser.add_argument("--model", default="unet-paris")
    parser.add_argument("--skip-torchgeo", action="store_true")
    parser.add_argument("--times", type=int, default=1, help="tile the scene N x N first")
    args = parser.parse_args()
    torch.set_num_threads(2)
    module, card = load_model(args.model)
    folder = scene_dir(args.scene)
    with tempfile.TemporaryDirectory() as tmp:
        if args.times > 1:
            folder = tiled_scene(folder, Path(tmp) / f"{args.scene}-x{args.times}", args.times)
        ours = predict_scene((module, card), folder, Path(tmp) / "pred.tif")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"scene {args.scene}: {ours.width} x {ours.height} px, {ours.km2:.0f} km2")
    print(f"ours (read, infer, blend, write COG)  {ours.km2_per_second:7.1f} km2/s  ({ours.seconds:.1f} s, peak RSS {peak:.2f} GB)")
    if not args.skip_torchgeo and args.times == 1:
        seconds = torchgeo_loop(module, card, folder)  # same scene, same area
        print(f"torchgeo loop (infer only, bf16)      {ours.km2 / seconds:7.1f} km2/s  ({seconds:.1f} s)")
        print(f"ratio ours / torchgeo                 {ours.km2_per_second / (ours.km2 / seconds):7.2f}x")


if __name__ == "__main__":
    main()
