"""Benchmark: whole-scene inference in km2/s, ours vs a fair torchgeo loop, same run, same U-Net.

Usage: python bench/scene_inference.py [--scene paris] [--model unet-paris] [--repeats 2]
       [--km2 300] [--times 2 --skip-torchgeo]

- ours: ``predict_scene`` end to end as ``lulc predict`` runs it (the model from
  ``load_model(fused=True)``: BatchNorm folded, channels_last, bf16 decoder where the CPU has
  bf16): windowed COG reads on a reader thread, 512 px windows with 64 px overlap, cosine
  blending, COG + area CSV written;
- torchgeo: the best loop a torchgeo user writes: ``RasterDataset`` over the band files +
  ``GridGeoSampler(size=256, stride=224)`` + ``DataLoader(batch_size=16)`` + the same smp U-Net
  (unfused) with ``model.to(memory_format=torch.channels_last)``, in bf16 autocast, argmax per
  window; it neither stitches nor writes anything.
The two alternate (ours, torchgeo, ours, ...) so both see the same machine load; the table gives
each run, the medians, the ratio of each pair, the load average and the CPU share other
processes took during each run. ``--km2`` benchmarks a centred part of the scene (for quick
runs on a busy machine). With ``--times 2`` the scene is first tiled 2 x 2 (4x the area)
through GDAL VRTs, to show that memory stays about flat as the scene grows (one size per
process: peak RSS is per process; the peak printed for ours is taken before the torchgeo loop
first runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lulc_core.data.scene import scene_dir
from lulc_core.models import load_model
from lulc_core.predict import PIXEL_KM2, predict_scene
from lulc_core.inference import autocast, bf16_supported


def torchgeo_loop(module, card, folder: Path) -> None:
    """A torchgeo user's inference loop over the whole scene (argmax per window, kept nowhere)."""
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
    loader = DataLoader(ds, sampler=sampler, batch_size=16, collate_fn=stack_samples)
    mean = torch.tensor(card.normalization["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(card.normalization["std"]).view(1, -1, 1, 1)
    bf16 = bf16_supported(torch.device("cpu"))
    with torch.inference_mode():
        for batch in loader:
            x = (batch["image"].float() * 1e-4 - 0.1 - mean) / std
            with autocast(torch.device("cpu"), bf16):
                module(x.contiguous(memory_format=torch.channels_last)).argmax(dim=1)


def scene_vrt(folder: Path, out: Path, times: int = 1, km2: float | None = None) -> Path:
    """The scene as VRTs: a centred part of about ``km2`` of it, tiled ``times`` x ``times``."""
    import rasterio

    out.mkdir(parents=True)
    for name in ("B02.tif", "B03.tif", "B04.tif", "SCL.tif"):
        with rasterio.open(folder / name) as src:
            w, h, t = src.width, src.height, src.transform
            pixel = round(abs(t.a) / 10)  # 1 at 10 m, 2 for the 20 m SCL
            side = w if km2 is None else min(w, h, int((km2 / PIXEL_KM2) ** 0.5) // pixel)
            cw, ch = (w, h) if km2 is None else (side, side)
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            dtype = {"uint16": "UInt16", "uint8": "Byte"}[src.dtypes[0]]
            scale, offset = src.scales[0], src.offsets[0]
            tiles = "".join(
                f"<SimpleSource><SourceFilename>{(folder / name).resolve()}</SourceFilename>"
                f"<SourceBand>1</SourceBand><SrcRect xOff='{x0}' yOff='{y0}' xSize='{cw}' ySize='{ch}'/>"
                f"<DstRect xOff='{i * cw}' yOff='{j * ch}' xSize='{cw}' ySize='{ch}'/></SimpleSource>"
                for i in range(times) for j in range(times))
            xml = (f"<VRTDataset rasterXSize='{cw * times}' rasterYSize='{ch * times}'>"
                   f"<SRS>{src.crs.to_wkt()}</SRS><GeoTransform>{t.c + x0 * t.a}, {t.a}, 0, "
                   f"{t.f + y0 * t.e}, 0, {t.e}</GeoTransform><VRTRasterBand dataType='{dtype}' band='1'>"
                   f"<NoDataValue>0</NoDataValue><Offset>{offset}</Offset><Scale>{scale}</Scale>"
                   f"{tiles}</VRTRasterBand></VRTDataset>")
        (out / name).write_text(xml)  # GDAL recognises a VRT by its content
    manifest = json.loads((folder / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(manifest | {"name": out.name}))
    return out


def _busy_cpu_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (/proc/stat)."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def timed(run: Callable[[], object]) -> dict[str, float]:
    """Seconds of one run, the load average after it and the cores other processes kept busy."""
    busy0, own0, t0 = _busy_cpu_seconds(), time.process_time(), time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    others = (_busy_cpu_seconds() - busy0) - (time.process_time() - own0)
    return {"s": seconds, "load": os.getloadavg()[0], "others": max(others, 0.0) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="paris")
    parser.add_argument("--model", default="unet-paris")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--km2", type=float, default=None, help="a centred part of the scene")
    parser.add_argument("--skip-torchgeo", action="store_true")
    parser.add_argument("--times", type=int, default=1, help="tile the scene N x N first")
    args = parser.parse_args()
    fast = load_model(args.model, fused=True)  # what `lulc predict` loads
    peer, card = load_model(args.model)
    peer = peer.to(memory_format=torch.channels_last)
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"bf16 {bf16_supported(torch.device('cpu'))}, load average before "
          f"{os.getloadavg()[0]:.2f}")
    rows, peak_ours = [], None
    with tempfile.TemporaryDirectory() as tmp:
        folder = scene_dir(args.scene)
        if args.times > 1 or args.km2:
            folder = scene_vrt(folder, Path(tmp) / f"{args.scene}-part", args.times, args.km2)
        for _ in range(args.repeats):
            summary = []
            row = timed(lambda: summary.append(predict_scene(fast, folder, Path(tmp) / "pred.tif")))
            rows.append(("ours", row))
            peak_ours = peak_ours or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
            if not args.skip_torchgeo:
                rows.append(("torchgeo", timed(lambda: torchgeo_loop(peer, card, folder))))
    km2 = summary[0].km2
    print(f"scene {args.scene}{f' x{args.times}' if args.times > 1 else ''}: {summary[0].width} x "
          f"{summary[0].height} px, {km2:.0f} km2")
    print(f"{'run':4s} {'what':9s} {'seconds':>8s} {'km2/s':>8s} {'load avg':>9s} {'other procs (cores)':>20s}")
    for i, (what, r) in enumerate(rows):
        print(f"{i + 1:<4d} {what:9s} {r['s']:8.1f} {km2 / r['s']:8.1f} {r['load']:9.2f} {r['others']:20.2f}")
    speed = {w: [km2 / r["s"] for x, r in rows if x == w] for w in ("ours", "torchgeo")}
    print(f"median: ours {statistics.median(speed['ours']):.1f} km2/s (read, infer, blend, write "
          f"COG); peak RSS of ours {peak_ours:.2f} GB")
    if speed["torchgeo"]:
        ratios = [o / t for o, t in zip(speed["ours"], speed["torchgeo"])]
        print(f"median: torchgeo {statistics.median(speed['torchgeo']):.1f} km2/s (inference only); "
              f"ratio ours / torchgeo per pair {', '.join(f'{r:.2f}x' for r in ratios)}, "
              f"median {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
