"""How a Sentinel-2 product's digital numbers become reflectance, decided once, from its metadata.

reflectance = (DN + ADD_OFFSET) / QUANTIFICATION_VALUE = DN * scale + offset. Products of
processing baseline 04.00 and later (processed from 2022-01-25 on) declare
``BOA_ADD_OFFSET = -1000`` (L2A; ``RADIO_ADD_OFFSET`` for L1C), so offset = -0.1; older ones have
no offset. Getting it wrong is silent and costly: -0.1 on a baseline-02.13 product drives water
and forest negative and the maps fall apart. So every importer asks this module, which reads what
the product says about itself, in this order:

- what the user gave explicitly (``--offset``, ``--baseline``);
- SAFE: ``BOA_ADD_OFFSET`` / ``RADIO_ADD_OFFSET`` in ``MTD_MSIL2A.xml`` / ``MTD_MSIL1C.xml``,
  else the baseline in the product name (``_N0213_``);
- STAC item: ``earthsearch:boa_offset_applied: true`` (Earth Search v1 COGs already carry the
  offset, although ``raster:bands`` still declares it), then ``s2:processing_baseline`` < 04.00
  (no offset, whatever is declared), then the declared ``raster:bands`` offset;
- band GeoTIFFs: a GDAL scale/offset in the files, else a baseline in a product title in their
  tags or names, else the acquisition date (before 2022-01-25: no offset).

When nothing tells, :class:`~lulc_core.errors.InvalidDataError` asks for ``--offset`` or
``--baseline`` instead of guessing. The decision and its source go into the scene manifest.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lulc_core.data.scene import Reflectance
from lulc_core.errors import InvalidDataError

QUANTIFICATION_VALUE = 10000.0
DN_SCALE = 1.0 / QUANTIFICATION_VALUE
BASELINE_04_OFFSET = -0.1  # ADD_OFFSET -1000 / QUANTIFICATION_VALUE 10000
OFFSET_BASELINE = "04.00"
OFFSET_FROM = date(2022, 1, 25)  # first day ESA processed with baseline 04.00
OVERRIDE_HINT = "pass --baseline (e.g. 02.13 or 05.09) or --offset (e.g. 0 or -0.1)"

# S2A_MSIL2A_20190708T105621_N0213_R094_...: baseline 02.13
_BASELINE_IN_NAME = re.compile(r"_N(\d{2})(\d{2})(?=_|\.|$)")
_LEVEL_IN_NAME = re.compile(r"MSIL?(1C|2A)|(?:^|_)L(1C|2A)(?=_|$)", re.IGNORECASE)  # S2MSI2A too
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
# GeoTIFF tags that may hold the product's name, level, baseline or date (sources: the sample's
# downloader, GDAL's SENTINEL2 driver, our own scene files).
_TITLE_TAGS = ("title", "PRODUCT_URI", "PRODUCT_ID", "product_uri", "s2:product_uri")
_BASELINE_TAGS = ("PROCESSING_BASELINE", "processing_baseline", "s2:processing_baseline")
_LEVEL_TAGS = ("processing_level", "PROCESSING_LEVEL", "PRODUCT_TYPE")
_DATE_TAGS = ("date", "DATATAKE_1_DATATAKE_SENSING_START", "PRODUCT_START_TIME", "datetime")


@dataclass(frozen=True)
class ProductInfo:
    """What a product says about itself.

    Attributes:
        level: ``"L2A"`` (surface) or ``"L1C"`` (top-of-atmosphere reflectance).
        baseline: processing baseline ``"NN.NN"`` or None when unknown.
        acquired: acquisition date ``YYYY-MM-DD`` or None when unknown.
        reflectance: the scale/offset decision and its source.
        product_id: the product's name (SAFE name, STAC item id, title tag) when known.
    """

    level: str
    baseline: str | None
    acquired: str | None
    reflectance: Reflectance
    product_id: str | None = None


def normalise_baseline(text: str) -> str:
    """``'0213'``, ``'N0213'``, ``'2.13'``, ``'02.13'`` -> ``'02.13'``.

    Raises:
        InvalidDataError: not a baseline.
    """
    m = re.fullmatch(r"N?(\d{1,2})\.?(\d{2})", str(text).strip())
    if not m:
        raise InvalidDataError(
            f"unknown processing baseline {text!r}: give it as NN.NN, e.g. --baseline 02.13"
        )
    return f"{int(m.group(1)):02d}.{m.group(2)}"


def baseline_in(text: str) -> str | None:
    """The baseline in a product name (``..._N0213_...`` -> ``'02.13'``), or None."""
    m = _BASELINE_IN_NAME.search(text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def level_in(text: str) -> str | None:
    """``'L2A'`` / ``'L1C'`` from a product name, file name or tag value (``MSIL2A``, ``_L1C_``,
    ``2A``, ``Level-1C``), or None."""
    m = _LEVEL_IN_NAME.search(text) or re.fullmatch(r"\s*(?:Level-?)?(1C|2A)\s*", text, re.I)
    if not m:
        return None
    return "L" + next(g for g in m.groups() if g).upper()


def date_in(text: str) -> str | None:
    """The first valid date (``2019-07-08`` or ``20190708``) in a text as ``YYYY-MM-DD``, or
    None."""
    for m in _DATE_IN_NAME.finditer(text):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            continue
    return None


def from_baseline(baseline: str, level: str, how: str, scale: float = DN_SCALE) -> Reflectance:
    """The offset a processing baseline implies (04.00 and later: -0.1; before: none)."""
    if baseline < OFFSET_BASELINE:  # "NN.NN" strings order like the numbers
        return Reflectance(scale=scale, offset=0.0,
                           source=f"{how}: baseline {baseline} < {OFFSET_BASELINE}, no offset")
    add = "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"
    return Reflectance(scale=scale, offset=BASELINE_04_OFFSET,
                       source=f"{how}: baseline {baseline} >= {OFFSET_BASELINE}, {add} -1000 "
                              "(offset -0.1)")


def from_date(acquired: str, level: str, how: str) -> Reflectance:
    """The offset an acquisition date implies (from 2022-01-25, baseline 04.00: -0.1)."""
    if date.fromisoformat(acquired) < OFFSET_FROM:
        return Reflectance(scale=DN_SCALE, offset=0.0,
                           source=f"{how} {acquired}: before {OFFSET_FROM} (baseline 04.00), "
                                  "no offset")
    return from_baseline(OFFSET_BASELINE, level, f"{how} {acquired} on or after {OFFSET_FROM}")


def _explicit(offset: float | None, baseline: str | None, level: str) -> Reflectance | None:
    if offset is not None and baseline is not None:
        raise InvalidDataError(
            f"--offset {offset:g} and --baseline {baseline} both given: give one of them"
        )
    if offset is not None:
        return Reflectance(scale=DN_SCALE, offset=float(offset),
                           source=f"--offset {offset:g} given")
    if baseline is not None:
        return from_baseline(normalise_baseline(baseline), level, f"--baseline {baseline} given")
    return None


def _refuse(what: str) -> InvalidDataError:
    return InvalidDataError(
        f"{what}: nothing says how its digital numbers become reflectance (no offset, processing "
        f"baseline or acquisition date in its metadata or names): {OVERRIDE_HINT}"
    )


def _given_baseline(baseline: str | None) -> str | None:
    return normalise_baseline(baseline) if baseline is not None else None


# --------------------------------------------------------------------------- SAFE


def _xml_values(root: ET.Element, tag: str) -> list[str]:
    """Texts of every element whose local name is ``tag`` (namespaces ignored)."""
    return [e.text.strip() for e in root.iter()
            if e.tag.rsplit("}", 1)[-1] == tag and e.text and e.text.strip()]


def safe_product(safe: Path, offset: float | None = None,
                 baseline: str | None = None) -> ProductInfo:
    """Level, baseline, date and reflectance of a SAFE product folder.

    Raises:
        InvalidDataError: unreadable metadata, or nothing tells the offset.
    """
    name = safe.name.removesuffix(".SAFE")
    level = level_in(name) or ("L1C" if (safe / "MTD_MSIL1C.xml").is_file() else "L2A")
    acquired = date_in(name)
    mtd = safe / f"MTD_MSI{level}.xml"
    root = None
    if mtd.is_file():
        try:
            root = ET.fromstring(mtd.read_text(encoding="utf-8"))
        except (ET.ParseError, UnicodeDecodeError):
            raise InvalidDataError(f"{mtd} is not valid XML: re-download the product") from None
    mtd_baseline = (next(iter(_xml_values(root, "PROCESSING_BASELINE")), None)
                    if root is not None else None)
    found = _given_baseline(baseline) or baseline_in(name) or (
        normalise_baseline(mtd_baseline) if mtd_baseline else None)
    decided = _explicit(offset, baseline, level)
    if decided is None and root is not None:
        quant_tag = "BOA_QUANTIFICATION_VALUE" if level == "L2A" else "QUANTIFICATION_VALUE"
        add_tag = "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"
        quant = float(next(iter(_xml_values(root, quant_tag)), QUANTIFICATION_VALUE))
        adds = _xml_values(root, add_tag)
        if adds:  # one per band, the same for all bands in every baseline so far
            decided = Reflectance(scale=1 / quant, offset=float(adds[0]) / quant,
                                  source=f"{mtd.name}: {add_tag} {float(adds[0]):g} / {quant:g}")
        elif found:
            decided = from_baseline(found, level, f"{mtd.name} has no {add_tag}", 1 / quant)
    if decided is None and found:
        decided = from_baseline(found, level, f"product name N{found.replace('.', '')}")
    if decided is None:
        raise _refuse(f"SAFE product {safe.name}")
    return ProductInfo(level, found, acquired, decided, name)


# --------------------------------------------------------------------------- STAC


def _stac_reflectance(band: dict[str, Any], applied: object, baseline: str | None,
                      acquired: str | None, level: str) -> Reflectance | None:
    scale = float(band.get("scale", DN_SCALE))
    declared = band.get("offset")
    if applied is True:
        return Reflectance(
            scale=scale, offset=0.0,
            source="earthsearch:boa_offset_applied true: the COGs already carry the offset"
                   + (f" (declared raster:bands offset {declared:g} not applied again)"
                      if declared else ""))
    if baseline and baseline < OFFSET_BASELINE:
        decided = from_baseline(baseline, level, "s2:processing_baseline", scale)
        if declared:
            decided.source += f" (declared raster:bands offset {declared:g} ignored)"
        return decided
    if declared is not None:
        return Reflectance(scale=scale, offset=float(declared),
                           source=f"raster:bands offset {float(declared):g} (baseline {baseline}, "
                                  f"earthsearch:boa_offset_applied {applied})")
    if baseline:
        return from_baseline(baseline, level, "s2:processing_baseline", scale)
    if acquired:
        return from_date(acquired, level, "item datetime")
    return None


def stac_item_product(item: dict[str, Any], asset: str = "red", offset: float | None = None,
                      baseline: str | None = None) -> ProductInfo:
    """Level, baseline, date and reflectance of a STAC item (Earth Search v1 conventions).

    Raises:
        InvalidDataError: nothing tells the offset.
    """
    props = item.get("properties", {})
    product = str(props.get("s2:product_uri") or item.get("id", ""))
    level = ("L1C" if "l1c" in str(item.get("collection", "")).lower()
             or props.get("s2:product_type") == "S2MSI1C" else "L2A")
    found = _given_baseline(baseline) or (
        normalise_baseline(props["s2:processing_baseline"]) if props.get("s2:processing_baseline")
        else baseline_in(product))
    acquired = str(props.get("datetime") or "")[:10] or date_in(product)
    band = ((item.get("assets", {}).get(asset) or {}).get("raster:bands") or [{}])[0]
    decided = _explicit(offset, baseline, level) or _stac_reflectance(
        band, props.get("earthsearch:boa_offset_applied"), found, acquired, level)
    if decided is None:
        raise _refuse(f"STAC item {item.get('id')}")
    return ProductInfo(level, found, acquired, decided, item.get("id"))


# --------------------------------------------------------------------------- band GeoTIFFs


@dataclass(frozen=True)
class _BandMetadata:
    title: str | None
    level: str | None
    baseline: str | None
    acquired: str | None
    scale_offset: tuple[float, float] | None


def _band_metadata(path: Path) -> _BandMetadata:
    from lulc_core.data.sentinel2 import open_raster

    with open_raster(path) as src:
        tags = src.tags()
        scale, offset = (src.scales or (1.0,))[0], (src.offsets or (0.0,))[0]
    title = next((tags[k] for k in _TITLE_TAGS if tags.get(k)), None)
    texts = [t for t in (title, path.stem) if t]
    level = next((lv for lv in (*(level_in(tags[k]) for k in _LEVEL_TAGS if tags.get(k)),
                                *(level_in(t) for t in texts)) if lv), None)
    baseline = next((b for b in (*(normalise_baseline(tags[k]) for k in _BASELINE_TAGS
                                   if tags.get(k)), *(baseline_in(t) for t in texts)) if b), None)
    acquired = next((d for d in (*(date_in(t) for t in ([title] if title else [])),
                                 *(date_in(tags[k]) for k in _DATE_TAGS if tags.get(k)),
                                 date_in(path.stem)) if d), None)
    # rasterio reports scale 1 / offset 0 when a file declares none: DN are never reflectance x 1
    declared = (float(scale), float(offset)) if (scale and scale != 1.0) or offset else None
    return _BandMetadata(title, level, baseline, acquired, declared)


def band_files_product(paths: dict[str, Path], offset: float | None = None,
                       baseline: str | None = None) -> ProductInfo:
    """Level, baseline, date and reflectance of per-band GeoTIFFs of one product.

    Args:
        paths: band name (``B02`` ... ``SCL``) -> GeoTIFF path.
        offset, baseline: the user's explicit answer, which wins.

    Raises:
        InvalidDataError: the bands disagree (different products) or nothing tells the offset.
    """
    optical = {b: _band_metadata(Path(p)) for b, p in sorted(paths.items()) if b != "SCL"}
    for field in ("title", "level", "baseline", "acquired", "scale_offset"):
        values = {b: getattr(m, field) for b, m in optical.items() if getattr(m, field)}
        if len(set(values.values())) > 1:
            shown = ", ".join(f"{b}: {v}" for b, v in values.items())
            raise InvalidDataError(
                f"the band files disagree on their product {field} ({shown}): give the bands of "
                "one product only"
            )

    def pick(field: str):
        return next((getattr(m, field) for m in optical.values() if getattr(m, field)), None)

    title = pick("title")
    level = pick("level") or "L2A"  # no word on it: what this importer is documented for
    found = _given_baseline(baseline) or pick("baseline")
    acquired = pick("acquired")
    decided = _explicit(offset, baseline, level)
    if decided is None and pick("scale_offset"):
        scale, off = pick("scale_offset")
        decided = Reflectance(scale=scale, offset=off,
                              source=f"GDAL scale {scale:g} / offset {off:g} in the band files")
    if decided is None and found:
        where = (f"title tag {title}" if title and baseline_in(title)
                 else f"file name {Path(next(iter(paths.values()))).name}")
        decided = from_baseline(found, level, f"{where} (N{found.replace('.', '')})")
    if decided is None and acquired:
        decided = from_date(acquired, level, "acquired")
    if decided is None:
        raise _refuse(f"band files {', '.join(sorted(Path(p).name for p in paths.values()))}")
    return ProductInfo(level, found, acquired, decided, title)
