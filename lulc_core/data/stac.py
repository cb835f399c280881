"""Fetch Sentinel-2 L2A from a STAC API (Earth Search v1 by default) into a scene folder.

Search ``sentinel-2-l2a`` items over the AOI and dates, keep the least cloudy ones that
together cover the AOI (one per MGRS tile), read only the AOI window of each COG asset over
HTTP range requests (GDAL ``/vsicurl/``), mosaic them on one UTM grid, and write the local scene
layout with a manifest of item ids and dates. Reflectance is decided per item from its own
metadata (:func:`lulc_core.data.reflectance.stac_item_product`): Earth Search v1 items declare
``raster:bands`` ``offset: -0.1`` *and* ``earthsearch:boa_offset_applied: true`` (the offset is
already in the COGs), so the declared offset alone would be applied twice.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lulc_core.data.reflectance import ProductInfo, stac_item_product
from lulc_core.data.scene import SceneManifest, read_manifest
from lulc_core.errors import DataNotFoundError, DownloadError, InvalidDataError
from lulc_core.geo import AOI

EARTH_SEARCH = "https://earth-search.aws.element84.com/v1"
COLLECTION = "sentinel-2-l2a"
ASSETS = {"B02": "blue", "B03": "green", "B04": "red", "SCL": "scl"}


@dataclass(frozen=True)
class ChosenItem:
    """A STAC item picked for the mosaic."""

    id: str
    datetime: str
    cloud_cover: float
    tile: str
    hrefs: dict[str, str]
    product: ProductInfo


def choose_items(items: list[dict], max_cloud: float, offset: float | None = None,
                 baseline: str | None = None) -> list[ChosenItem]:
    """The least cloudy item per MGRS tile, cloud cover <= max_cloud (percent).

    ``offset`` / ``baseline`` override what the items say about reflectance.

    Raises:
        InvalidDataError: nothing tells a chosen item's reflectance offset.
    """
    best: dict[str, dict] = {}
    for item in items:
        props = item["properties"]
        cloud = float(props.get("eo:cloud_cover", 100.0))
        if cloud > max_cloud:
            continue
        tile = str(props.get("grid:code") or props.get("s2:mgrs_tile") or item["id"].split("_")[1])
        if tile not in best or cloud < float(best[tile]["properties"].get("eo:cloud_cover", 100)):
            best[tile] = item
    chosen = []
    for tile, item in sorted(best.items()):
        assets = item["assets"]
        missing = [a for a in ASSETS.values() if a not in assets]
        if missing:
            continue
        chosen.append(ChosenItem(
            item["id"], item["properties"].get("datetime", ""),
            float(item["properties"].get("eo:cloud_cover", 0)), tile,
            {band: assets[key]["href"] for band, key in ASSETS.items()},
            stac_item_product(item, "red", offset, baseline),
        ))
    return chosen


def search(aoi: AOI, start: str, end: str, stac_url: str = EARTH_SEARCH, limit: int = 100) -> list[dict]:
    """Item dicts intersecting the AOI between two dates (YYYY-MM-DD)."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    try:
        client = Client.open(stac_url)
        result = client.search(collections=[COLLECTION], bbox=aoi.bounds,
                               datetime=f"{start}/{end}", max_items=limit)
        return [i.to_dict() for i in result.items()]
    except (APIError, OSError, ValueError) as e:
        raise DownloadError(
            f"STAC search at {stac_url} failed ({str(e).splitlines()[0][:120]}): check the "
            "internet connection or pass --stac-url"
        ) from None


def _mosaic(hrefs: list[str], aoi: AOI, crs: str, res: float) -> tuple[np.ndarray, object]:
    """Read the AOI of several rasters onto one grid; first valid (non-zero) pixel wins."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioIOError
    from rasterio.transform import from_origin
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import transform_bounds

    left, bottom, right, top = transform_bounds("EPSG:4326", crs, *aoi.bounds)
    left, top = np.floor(left / 20) * 20, np.ceil(top / 20) * 20  # nest 10 m in 20 m
    width, height = int(np.ceil((right - left) / res)), int(np.ceil((top - bottom) / res))
    transform = from_origin(left, top, res, res)
    out = None
    for href in hrefs:
        try:
            with rasterio.open(href) as src, WarpedVRT(
                src, crs=crs, transform=transform, width=width, height=height,
                resampling=Resampling.nearest, nodata=0,
            ) as vrt:
                data = vrt.read(1)
        except RasterioIOError as e:
            raise DownloadError(f"cannot read {href} ({str(e).splitlines()[0][:100]})") from None
        out = data if out is None else np.where(out == 0, data, out)
    return out, transform


def fetch_sentinel2(
    aoi: AOI, out: Path, start: str, end: str, max_cloud: float = 20.0,
    stac_url: str = EARTH_SEARCH, city: str | None = None, progress: bool = True,
    offset: float | None = None, baseline: str | None = None,
) -> SceneManifest:
    """Search, choose, read and write a Sentinel-2 L2A scene folder for an AOI.

    Raises:
        DataNotFoundError: no item under ``max_cloud`` in the period.
        InvalidDataError: the chosen items' reflectance cannot be decided or differs between
            them (their DN cannot share one scale/offset in a mosaic).
        DownloadError: the STAC API or an asset could not be read.
    """
    import rasterio
    from tqdm import tqdm

    from lulc_core.data.sentinel2 import product_manifest, write_scene

    items = search(aoi, start, end, stac_url)
    chosen = choose_items(items, max_cloud, offset, baseline)
    if not chosen:
        raise DataNotFoundError(
            f"no {COLLECTION} item with cloud cover <= {max_cloud}% over {aoi.name} between "
            f"{start} and {end} ({len(items)} found): widen the dates or raise --max-cloud"
        )
    decisions = {(c.product.reflectance.scale, c.product.reflectance.offset) for c in chosen}
    if len(decisions) > 1:
        shown = "; ".join(f"{c.id}: offset {c.product.reflectance.offset:g} "
                          f"({c.product.reflectance.source})" for c in chosen)
        raise InvalidDataError(
            f"the chosen items need different reflectance offsets ({shown}): narrow --start/--end"
            " to one processing baseline"
        )
    crs = f"EPSG:{aoi.utm_epsg()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    # the staged mosaics go away whatever happens, so a failed read leaves nothing behind
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.",
                                     suffix=".staging") as staging:
        sources = {}
        for band in tqdm(list(ASSETS), desc="reading bands", disable=not progress):
            data, transform = _mosaic([c.hrefs[band] for c in chosen], aoi, crs,
                                      20.0 if band == "SCL" else 10.0)
            path = Path(staging) / f"{band}.tif"
            with rasterio.open(path, "w", driver="GTiff", width=data.shape[1],
                               height=data.shape[0], count=1, dtype=data.dtype.name, crs=crs,
                               transform=transform, nodata=0) as dst:
                dst.write(data, 1)
            sources[band] = path
        manifest = product_manifest(
            out, chosen[0].product, f"stac:{stac_url}",
            [{"id": c.id, "datetime": c.datetime, "cloud_cover": c.cloud_cover, "tile": c.tile,
              "processing_baseline": c.product.baseline} for c in chosen], city=city,
        )
        write_scene(sources, out, None, manifest)
    return read_manifest(out)
