"""CLI: Sentinel-2 and Urban Atlas data in, patch stores out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from lulc_core.cli import app, fetch_app, import_app

DATE = "%Y-%m-%d"


def _aoi(city: str | None, bbox: str | None):
    from lulc_core.errors import AOIError
    from lulc_core.geo import city_aoi, parse_bbox

    if bbox:
        return parse_bbox(bbox, name=city or "custom")
    if city:
        return city_aoi(city)
    raise AOIError("give --city (paris, ankara) or --bbox W,S,E,N")


@fetch_app.command("sentinel2")
def fetch_sentinel2(
    city: str = typer.Option(None, help="built-in city: paris or ankara"),
    bbox: str = typer.Option(None, help="any other area: W,S,E,N in degrees (WGS84)"),
    start: datetime = typer.Option("2023-06-01", formats=[DATE], help="first date, YYYY-MM-DD"),
    end: datetime = typer.Option("2023-09-30", formats=[DATE], help="last date, YYYY-MM-DD"),
    max_cloud: float = typer.Option(
        20.0, min=0, max=100, help="maximum scene cloud cover, percent"
    ),
    stac_url: str = typer.Option(None, help="STAC API (default Earth Search v1)"),
    name: str = typer.Option(None, help="scene folder name (default: the city)"),
) -> None:
    """Fetch Sentinel-2 L2A (B02, B03, B04, SCL) for an area from a STAC API."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.data.stac import EARTH_SEARCH, fetch_sentinel2 as fetch

    if end < start:
        raise typer.BadParameter(f"{end:{DATE}} is before --start {start:{DATE}}",
                                 param_hint="'--end'")
    aoi = _aoi(city, bbox)
    out = scene_dir(name or aoi.name)
    manifest = fetch(aoi, out, f"{start:{DATE}}", f"{end:{DATE}}", max_cloud,
                     stac_url or EARTH_SEARCH, city=city)
    ids = ", ".join(i["id"] for i in manifest.items)
    typer.echo(f"wrote {out} from {len(manifest.items)} item(s): {ids}")


@import_app.command("sentinel2")
def import_sentinel2(
    source: Path = typer.Argument(..., help="a .SAFE L2A folder, or a folder of B02/B03/B04/SCL GeoTIFFs"),
    city: str = typer.Option(None, help="clip to a built-in city AOI"),
    bbox: str = typer.Option(None, help="clip to W,S,E,N (WGS84)"),
    name: str = typer.Option(None, help="scene folder name"),
) -> None:
    """Import a local Sentinel-2 L2A product (SAFE or per-band COGs) as a scene folder."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.data.sentinel2 import import_cogs, import_safe
    from lulc_core.errors import DataNotFoundError

    aoi = _aoi(city, bbox) if (city or bbox) else None
    out = scene_dir(name or (aoi.name if aoi else source.stem))
    if (source / "GRANULE").is_dir():
        import_safe(source, out, aoi, city=city)
    else:
        bands = {b: source / f"{b}.tif" for b in ("B02", "B03", "B04", "SCL")}
        missing = [b for b, p in bands.items() if not p.is_file() and b != "SCL"]
        if missing:
            raise DataNotFoundError(
                f"{source} is neither a SAFE folder nor holds {', '.join(f'{b}.tif' for b in missing)}"
            )
        import_cogs({b: p for b, p in bands.items() if p.is_file()}, out, aoi, city=city)
    typer.echo(f"wrote scene {out}")


@import_app.command("urban-atlas")
def import_urban_atlas(
    file: Path = typer.Argument(..., help="official Urban Atlas zip or its GeoPackage"),
    scene: str = typer.Option(..., help="scene folder name to label, e.g. paris"),
) -> None:
    """Rasterize Urban Atlas polygons onto a scene's exact 10 m grid (labels.tif + labels.gpkg)."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.data.urban_atlas import import_urban_atlas as run

    result = run(file, scene_dir(scene))
    typer.echo(f"{int(result['polygons'])} polygons, {result['coverage']:.1%} of the scene labelled")


@app.command("prepare")
def prepare(
    city: str = typer.Option(..., help="scene folder name, e.g. paris"),
    split: str = typer.Option("spatial", help="'spatial' (blocks, default) or 'random' (80/20)"),
    max_cloud: float = typer.Option(
        0.15, min=0, max=1, help="drop patches with more cloud than this share"
    ),
    size: int = typer.Option(64, help="patch side in pixels: 32 to 1024, a multiple of 32"),
    seed: int = typer.Option(0, min=0, max=2**32 - 1),
) -> None:
    """Cut a scene into patches, drop NaN and cloudy ones, split train/test, store them."""
    from lulc_core.config import patches_dir, safe_name
    from lulc_core.data.patches import build_patches
    from lulc_core.data.scene import scene_dir

    s = build_patches(scene_dir(city), patches_dir() / safe_name(city), size=size,
                      max_cloud=max_cloud, split=split, seed=seed)
    typer.echo(
        f"{s.kept} patches kept ({s.train} train / {s.test} test, {split} split); dropped "
        f"{s.dropped_cloud} for cloud > {max_cloud:.0%}, {s.dropped_nan} for NaN -> {s.folder}"
    )
