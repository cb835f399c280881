"""CLI: Sentinel-2 and Urban Atlas data in, patch stores out."""

from __future__ import annotations

from pathlib import Path

import typer

from lulc_core.cli import app, fetch_app, import_app


def _aoi(city: str | None, bbox: str | None):
    from lulc_core.errors import AOIError
    from lulc_core.geo import city_aoi, parse_bbox

    if bbox:
        return parse_bbox(bbox, name=city or "custom")
    if city:
        return city_aoi(city)
    raise AOIError("give --city (paris, ankara) or --bbox W,S,E,N")


OFFSET_HELP = "reflectance offset (e.g. 0 or -0.1) when the product's metadata does not tell"
BASELINE_HELP = "processing baseline (e.g. 02.13, 05.09) when the product's metadata does not tell"


def _describe(folder: Path) -> str:
    """Two lines on a written scene: what it is, and how its reflectance was decided."""
    from lulc_core.data.scene import read_manifest

    m = read_manifest(folder)
    refl = m.reflectance
    return (
        f"wrote scene {folder}: {m.level}, acquired {m.acquired or 'unknown'}, processing baseline "
        f"{m.processing_baseline or 'unknown'}, bands {', '.join(m.bands)} on one 10 m grid "
        f"({m.crs}), cloud mask: {'SCL' if m.cloud_mask else 'none (no SCL)'}\n"
        f"reflectance = DN x {refl.scale:g} + {refl.offset:g} ({refl.source})"
    )


@fetch_app.command("sentinel2")
def fetch_sentinel2(
    city: str = typer.Option(None, help="built-in city: paris or ankara"),
    bbox: str = typer.Option(None, help="any other area: W,S,E,N in degrees (WGS84)"),
    start: str = typer.Option("2023-06-01", help="first date, YYYY-MM-DD"),
    end: str = typer.Option("2023-09-30", help="last date, YYYY-MM-DD"),
    max_cloud: float = typer.Option(20.0, help="maximum scene cloud cover, percent"),
    stac_url: str = typer.Option(None, help="STAC API (default Earth Search v1)"),
    name: str = typer.Option(None, help="scene folder name (default: the city)"),
    offset: float = typer.Option(None, help=OFFSET_HELP),
    baseline: str = typer.Option(None, help=BASELINE_HELP),
) -> None:
    """Fetch Sentinel-2 L2A (B02, B03, B04, SCL) for an area from a STAC API."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.data.stac import EARTH_SEARCH, fetch_sentinel2 as fetch

    aoi = _aoi(city, bbox)
    out = scene_dir(name or aoi.name)
    manifest = fetch(aoi, out, start, end, max_cloud, stac_url or EARTH_SEARCH, city=city,
                     offset=offset, baseline=baseline)
    ids = ", ".join(i["id"] for i in manifest.items)
    typer.echo(f"{len(manifest.items)} item(s): {ids}")
    typer.echo(_describe(out))


@import_app.command("sentinel2")
def import_sentinel2(
    source: Path = typer.Argument(
        ..., help="a .SAFE product folder (L2A or L1C), or a folder of band GeoTIFFs (B02.tif, "
                  "B03.tif, B04.tif [SCL.tif], or names ending in _B04.tif; several dates "
                  "allowed)"),
    date: str = typer.Option(None, help="date to import from a folder of several, YYYY-MM-DD"),
    offset: float = typer.Option(None, help=OFFSET_HELP),
    baseline: str = typer.Option(None, help=BASELINE_HELP),
    city: str = typer.Option(None, help="clip to a built-in city AOI"),
    bbox: str = typer.Option(None, help="clip to W,S,E,N (WGS84)"),
    name: str = typer.Option(None, help="scene folder name (default: the folder's, plus the date)"),
    site: str = typer.Option(None, help="place this scene shows, to group it with other dates"),
) -> None:
    """Import a local Sentinel-2 product (SAFE folder or band GeoTIFFs) as a scene folder."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.data.sentinel2 import import_band_folder, import_safe

    aoi = _aoi(city, bbox) if (city or bbox) else None
    default = aoi.name if aoi else source.resolve().name.removesuffix(".SAFE")
    out = scene_dir(name or (f"{default}-{date}" if date else default))
    if (source / "GRANULE").is_dir():
        import_safe(source, out, aoi, city=city, offset=offset, baseline=baseline, site=site)
    else:
        import_band_folder(source, out, aoi, acquired=date, offset=offset, baseline=baseline,
                           city=city, site=site)
    typer.echo(_describe(out))


@import_app.command("urban-atlas")
def import_urban_atlas(
    file: Path = typer.Argument(..., help="official Urban Atlas zip, its GeoPackage or .gdb"),
    scene: str = typer.Option(..., help="scene folder name to label, e.g. paris"),
) -> None:
    """Rasterize Urban Atlas polygons onto a scene's exact 10 m grid (labels.tif + labels.gpkg);
    polygons without a usable code are left out and counted."""
    from lulc_core.data.scene import scene_dir
    from lulc_core.data.urban_atlas import import_urban_atlas as run

    typer.echo(run(file, scene_dir(scene)).summary())


@app.command("prepare")
def prepare(
    city: str = typer.Option(..., help="scene folder name, e.g. paris"),
    split: str = typer.Option("spatial", help="'spatial' (blocks, default) or 'random' (80/20)"),
    max_cloud: float = typer.Option(0.15, help="drop patches with more cloud than this share"),
    cloud_filter: bool = typer.Option(
        True, "--cloud-filter/--no-cloud-filter",
        help="drop cloudy patches by the scene's SCL; --no-cloud-filter for scenes without SCL"),
    size: int = typer.Option(64, help="patch side in pixels"),
    seed: int = typer.Option(0),
) -> None:
    """Cut a scene into patches, drop NaN and cloudy ones, split train/test, store them."""
    from lulc_core.config import patches_dir, safe_name
    from lulc_core.data.patches import build_patches
    from lulc_core.data.scene import scene_dir

    s = build_patches(scene_dir(city), patches_dir() / safe_name(city), size=size,
                      max_cloud=max_cloud, split=split, seed=seed, cloud_filter=cloud_filter)
    clouds = (f"{s.dropped_cloud} for cloud > {max_cloud:.0%}" if cloud_filter
              else "none for cloud (--no-cloud-filter)")
    typer.echo(
        f"{s.kept} patches kept ({s.train} train / {s.test} test, {split} split); dropped "
        f"{clouds}, {s.dropped_nan} for NaN -> {s.folder}"
    )
