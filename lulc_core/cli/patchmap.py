"""CLI: ``lulc patch-map``: a EuroSAT classifier's map of a scene on a grid of patches."""

from __future__ import annotations

from pathlib import Path

import typer

from lulc_core.cli import app


@app.command("patch-map")
def patch_map_command(
    model: str = typer.Option("efficientnet_lite0", help="EuroSAT classifier name or folder"),
    scene: str = typer.Option(..., help="scene folder name (e.g. paris) or path"),
    out: Path = typer.Option(..., help="output Cloud-Optimized GeoTIFF (.tif)"),
    stride: int = typer.Option(64, help="cell side in px: 64 (one patch per cell), 32 or 16 "
                                        "(overlapping patches, probabilities averaged)"),
    aoi: str = typer.Option(None, help="W,S,E,N in degrees (default: the whole scene)"),
    harmonisation: str = typer.Option("toa", help="none, toa (L2A -> TOA, EuroSAT stretch) or "
                                                  "toa+stats (then EuroSAT's channel statistics)"),
) -> None:
    """Classify a scene patch by patch (EuroSAT classes) and print the class shares."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.errors import InvalidDataError
    from lulc_core.geo import parse_bbox
    from lulc_core.patch_map import check_harmonisation, check_stride, patch_map

    check_stride(stride)
    check_harmonisation(harmonisation)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise InvalidDataError(f"--out {out}: the map is a GeoTIFF, give a .tif path")
    folder = Path(scene) if Path(scene).is_dir() else scene_dir(scene)
    result = patch_map(model, folder, parse_bbox(aoi) if aoi else None, stride, harmonisation)
    result.to_geotiff(out)
    rows, cols = result.shape
    typer.echo(f"wrote {out} ({cols}x{rows} cells of {stride * 10} m, {result.level}, "
               f"harmonisation {harmonisation}, {result.seconds:.1f} s)")
    for name, share in sorted(result.shares().items(), key=lambda kv: -kv[1]):
        if share > 0:
            typer.echo(f"{name}\t{100 * share:.1f} %")
