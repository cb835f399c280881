"""Bad input at the CLI boundary, as a table: every case must end in exit code 2 with exactly one
line on stderr (``error: ...``, naming what to fix), no traceback, and no new, changed or
removed file anywhere under the data, artifacts and output folders.

All cases share one module-scoped set of inputs in the real formats (a tiny demo scene, its
patch store, the committed models copied in, broken copies of each, bad image and Urban Atlas
files), made once; each case must be refused at validation, before any heavy work, so the whole
table runs in seconds. Paths in a case's arguments are written ``{name}`` and filled from
:func:`world`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lulc_cli import run_lulc
from lulc_core.config import REPO_ROOT

pytestmark = pytest.mark.timeout(60)  # per case: a hang fails its case instead of the run

TOWN = (2.30, 48.80, 2.33, 48.82)  # ~220 x 230 px demo scene
SEG = ["train", "segmenter", "--city", "town", "--encoder-weights", "none", "--device", "cpu"]
CLF = ["train", "classifier", "--data", "{eurosat}", "--weights", "none", "--device", "cpu"]
PREP = ["prepare", "--city", "town"]
PRED = ["predict", "--model", "unet-paris", "--scene", "town", "--out", "{out}/map.tif"]
CASES: list[tuple[str, list[str], tuple[str, ...]]] = [
    # usage
    ("unknown-command", ["bogus"], ("no such command",)),
    ("unknown-option", [*PREP, "--bogus"], ("--bogus",)),
    ("missing-option", ["prepare"], ("--city",)),
    ("option-without-value", ["prepare", "--city"], ("--city",)),
    ("not-a-number", [*PREP, "--size", "abc"], ("--size",)),
    # train segmenter: every numeric option bounded and finite (pydantic config)
    ("seg-epochs-0", [*SEG, "--epochs", "0"], ("--epochs",)),
    ("seg-epochs-neg", [*SEG, "--epochs", "-1"], ("--epochs",)),
    ("seg-epochs-huge", [*SEG, "--epochs", "1000000"], ("--epochs",)),
    ("seg-batch-0", [*SEG, "--batch-size", "0"], ("--batch-size",)),
    ("seg-lr-0", [*SEG, "--lr", "0"], ("--lr",)),
    ("seg-lr-neg", [*SEG, "--lr", "-1"], ("--lr",)),
    ("seg-lr-nan", [*SEG, "--lr", "nan"], ("--lr", "finite")),
    ("seg-lr-inf", [*SEG, "--lr", "inf"], ("--lr", "finite")),
    ("seg-limit-0", [*SEG, "--limit", "0"], ("--limit",)),
    ("seg-limit-neg", [*SEG, "--limit", "-1"], ("--limit",)),
    ("seg-patience-0", [*SEG, "--patience", "0"], ("--patience",)),
    ("seg-unknown-store", ["train", "segmenter", "--city", "nowhere"], ("nowhere",)),
    ("seg-unsafe-city", ["train", "segmenter", "--city", "../x"], ("../x",)),
    ("seg-unsafe-name", [*SEG, "--name", "../evil"], ("../evil",)),
    ("seg-unknown-encoder", [*SEG, "--encoder", "nope"], ("nope",)),
    ("seg-unknown-weights", ["train", "segmenter", "--city", "town", "--encoder-weights", "nope"],
     ("nope",)),
    ("seg-bad-device", [*SEG[:-2], "--device", "tpu9"], ("tpu9",)),
    ("seg-corrupted-store", ["train", "segmenter", "--city", "broken", "--encoder-weights", "none"],
     ("broken",)),
    # train classifier
    ("clf-input-size-huge", [*CLF, "--input-size", "100000"], ("--input-size",)),
    ("clf-input-size-tiny", [*CLF, "--input-size", "8"], ("--input-size",)),
    ("clf-seed-neg", [*CLF, "--seed", "-1"], ("--seed",)),
    ("clf-seed-2e70", [*CLF, "--seed", str(2**70)], ("--seed",)),
    ("clf-epochs-0", [*CLF, "--epochs", "0"], ("--epochs",)),
    ("clf-batch-0", [*CLF, "--batch-size", "0"], ("--batch-size",)),
    ("clf-lr-inf", [*CLF, "--lr", "inf"], ("--lr", "finite")),
    ("clf-lr-nan", [*CLF, "--lr", "nan"], ("--lr", "finite")),
    ("clf-limit-1", [*CLF, "--limit-per-class", "1"], ("--limit-per-class",)),
    ("clf-unknown-model", [*CLF, "--model", "nope"], ("nope",)),
    ("clf-unknown-weights", ["train", "classifier", "--weights", "nope"], ("--weights",)),
    ("clf-unsafe-name", [*CLF, "--name", "../evil"], ("../evil",)),
    ("clf-missing-data", ["train", "classifier", "--data", "{out}/nothing"], ("nothing",)),
    ("clf-empty-data", ["train", "classifier", "--data", "{out}/a_dir"], ("a_dir",)),
    ("clf-bad-device", [*CLF[:-2], "--device", "tpu9"], ("tpu9",)),
    # prepare: patch size, cloud share and seed bounded; scenes checked before cutting
    ("prep-size-0", [*PREP, "--size", "0"], ("patch size",)),
    ("prep-size-neg", [*PREP, "--size", "-1"], ("patch size",)),
    ("prep-size-1", [*PREP, "--size", "1"], ("patch size",)),
    ("prep-size-48", [*PREP, "--size", "48"], ("multiple of 32",)),
    ("prep-size-huge", [*PREP, "--size", "100000"], ("patch size",)),
    ("prep-seed-neg", [*PREP, "--seed", "-1"], ("--seed",)),
    ("prep-cloud-nan", [*PREP, "--max-cloud", "nan"], ("--max-cloud", "nan")),
    ("prep-cloud-2", [*PREP, "--max-cloud", "2"], ("--max-cloud",)),
    ("prep-cloud-neg", [*PREP, "--max-cloud", "-0.1"], ("--max-cloud",)),
    ("prep-unknown-split", [*PREP, "--split", "diagonal"], ("diagonal",)),
    ("prep-unknown-scene", ["prepare", "--city", "nowhere"], ("nowhere",)),
    ("prep-unsafe-scene", ["prepare", "--city", "../etc"], ("../etc",)),
    ("prep-text-band", ["prepare", "--city", "text-b04"], ("B04.tif",)),
    ("prep-uneven-bands", ["prepare", "--city", "uneven"], ("not on the grid",)),
    ("prep-missing-band", ["prepare", "--city", "no-b03"], ("B03.tif",)),
    ("prep-no-labels", ["prepare", "--city", "no-labels"], ("urban-atlas",)),
    ("prep-bad-manifest", ["prepare", "--city", "bad-manifest"], ("manifest",)),
    # predict: output, workers, scheduler, area limit, scene and model checked before mapping
    ("pred-workers-0", [*PRED, "--dask", "--workers", "0"], ("--workers",)),
    ("pred-workers-neg", [*PRED, "--dask", "--workers", "-1"], ("--workers",)),
    ("pred-scheduler-refused", [*PRED, "--scheduler", "tcp://127.0.0.1:1"], ("scheduler",)),
    ("pred-scheduler-silent", [*PRED, "--scheduler", "{silent}"], ("within",)),
    ("pred-scheduler-malformed", [*PRED, "--scheduler", "tcp://nohost"], ("scheduler",)),
    ("pred-max-km2-nan", [*PRED, "--max-km2", "nan"], ("--max-km2", "nan")),
    ("pred-max-km2-inf", [*PRED, "--max-km2", "inf"], ("--max-km2",)),
    ("pred-max-km2-0", [*PRED, "--max-km2", "0"], ("--max-km2",)),
    ("pred-area-over-limit", [*PRED, "--max-km2", "1"], ("over the limit of 1 km2",)),
    ("pred-out-is-folder", [*PRED[:-1], "{out}/a_dir.tif"], ("folder",)),
    ("pred-out-under-file", [*PRED[:-1], "{out}/file.txt/map.tif"], ("cannot write",)),
    ("pred-out-unwritable", [*PRED[:-1], "/proc/lulc/map.tif"], ("cannot write",)),
    ("pred-out-not-tif", [*PRED[:-1], "{out}/map.csv"], (".tif",)),
    ("pred-text-band", [*PRED[:3], "--scene", "text-b04", *PRED[5:]], ("B04.tif",)),
    ("pred-uneven-bands", [*PRED[:3], "--scene", "uneven", *PRED[5:]], ("not on the grid",)),
    ("pred-unknown-scene", [*PRED[:3], "--scene", "nowhere", *PRED[5:]], ("nowhere",)),
    ("pred-unsafe-scene", [*PRED[:3], "--scene", "../x", *PRED[5:]], ("../x",)),
    ("pred-aoi-outside", [*PRED, "--aoi", "30,10,30.1,10.1"], ("does not overlap",)),
    ("pred-aoi-three-numbers", [*PRED, "--aoi", "2.3,48.8,2.31"], ("2.3,48.8,2.31",)),
    ("pred-aoi-text", [*PRED, "--aoi", "a,b,c,d"], ("a,b,c,d",)),
    ("pred-aoi-inverted", [*PRED, "--aoi", "2.33,48.82,2.30,48.80"], ("aoi",)),
    ("pred-unknown-model", ["predict", "--model", "nope", *PRED[3:]], ("nope",)),
    ("pred-classifier-model", ["predict", "--model", "efficientnet_lite0", *PRED[3:]],
     ("segmenter",)),
    ("pred-corrupted-card", ["predict", "--model", "broken-card", *PRED[3:]], ("broken-card",)),
    ("pred-truncated-weights", ["predict", "--model", "{artifacts}/truncated/unet-paris",
                                *PRED[3:]], ("unet-paris",)),
    # classify and evaluate
    ("classify-decompression-bomb", ["classify", "{out}/bomb.png"], ("too large",)),
    ("classify-text-as-png", ["classify", "{out}/text.png"], ("text.png",)),
    ("classify-empty-jpg", ["classify", "{out}/empty.jpg"], ("empty.jpg",)),
    ("classify-garbage-tif", ["classify", "{out}/garbage.tif"], ("garbage.tif",)),
    ("classify-missing", ["classify", "{out}/missing.png"], ("missing.png",)),
    ("classify-top-k-0", ["classify", "{out}/tile.png", "--top-k", "0"], ("--top-k",)),
    ("classify-segmenter", ["classify", "{out}/tile.png", "--model", "unet-paris"],
     ("classifier",)),
    ("evaluate-missing-data", ["evaluate", "--data", "{out}/nothing"], ("nothing",)),
    ("evaluate-unknown-model", ["evaluate", "--model", "nope", "--data", "{eurosat}"], ("nope",)),
    ("evaluate-out-is-file", ["evaluate", "--data", "{eurosat}", "--out", "{out}/file.txt"],
     ("is a file",)),
    ("evaluate-out-under-file", ["evaluate", "--data", "{eurosat}", "--out",
                                 "{out}/file.txt/results"], ("cannot write",)),
    ("evaluate-batch-0", ["evaluate", "--batch-size", "0"], ("--batch-size",)),
    ("evaluate-workers-neg", ["evaluate", "--workers", "-1"], ("--workers",)),
    # import and fetch
    ("ua-missing-file", ["import", "urban-atlas", "{out}/missing.zip", "--scene", "town"],
     ("missing.zip",)),
    ("ua-not-a-zip", ["import", "urban-atlas", "{out}/broken.zip", "--scene", "town"], ("zip",)),
    ("ua-no-code-column", ["import", "urban-atlas", "{out}/ua-klass.gpkg", "--scene", "town"],
     ("code",)),
    ("ua-text-codes", ["import", "urban-atlas", "{out}/ua-text.gpkg", "--scene", "town"],
     ("code",)),
    ("ua-null-codes", ["import", "urban-atlas", "{out}/ua-null.gpkg", "--scene", "town"],
     ("code",)),
    ("ua-unknown-scene", ["import", "urban-atlas", "{out}/ua-klass.gpkg", "--scene", "nowhere"],
     ("nowhere",)),
    ("s2-missing-bands", ["import", "sentinel2", "{out}/a_dir", "--name", "x"], ("B02.tif",)),
    ("s2-bad-bbox", ["import", "sentinel2", "{out}/a_dir", "--bbox", "1,2"], ("1,2",)),
    ("fetch-unknown-city", ["fetch", "sentinel2", "--city", "atlantis"], ("atlantis",)),
    ("fetch-no-area", ["fetch", "sentinel2"], ("--city",)),
    ("fetch-bad-date", ["fetch", "sentinel2", "--city", "paris", "--start", "2023-13-45"],
     ("--start",)),
    ("fetch-end-before-start", ["fetch", "sentinel2", "--city", "paris", "--start", "2023-09-01",
                                "--end", "2023-06-01"], ("--end",)),
    ("fetch-cloud-nan", ["fetch", "sentinel2", "--city", "paris", "--max-cloud", "nan"],
     ("--max-cloud",)),
    ("fetch-stac-refused", ["fetch", "sentinel2", "--city", "paris", "--stac-url",
                            "http://127.0.0.1:1/"], ("127.0.0.1:1",)),
    ("demo-unknown-city", ["demo-data", "--city", "atlantis"], ("atlantis",)),
    ("demo-seed-neg", ["demo-data", "--city", "paris", "--seed", "-1"], ("--seed",)),
    ("jobs-lines-neg", ["jobs", "status", "--lines", "-1"], ("--lines",)),
    ("models-unknown-task", ["models", "--task", "regression"], ("--task",)),
    ("cross-city-unknown-model", ["cross-city", "--model", "nope", "--city", "town"], ("nope",)),
]


def _write_band_like(src_path: Path, dst_path: Path, rows: int) -> None:
    """A copy of a band keeping only its first ``rows`` rows: same origin and pixel size, a
    different height (as when one band of a product was cropped differently)."""
    import rasterio

    with rasterio.open(src_path) as src:
        profile = src.profile | {"height": rows, "driver": "GTiff"}
        data = src.read(1)[:rows]
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(data, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | str]]:
    """Data, artifacts and output folders holding every input the cases need, and ``silent``:
    the address of a TCP port that accepts connections but never answers (not Dask)."""
    import socket

    import geopandas as gpd
    from PIL import Image
    from shapely.geometry import box

    from conftest import write_fake_eurosat
    from lulc_core.data.demo import build_demo_scene
    from lulc_core.data.patches import build_patches
    from lulc_core.geo import AOI

    root = tmp_path_factory.mktemp("bad-inputs")
    data, artifacts, out = root / "data", root / "artifacts", root / "out"
    scenes, patches, models = data / "scenes", data / "patches", artifacts / "models"
    town = scenes / "town"
    build_demo_scene(AOI("town", *TOWN), town, seed=1, source_dir=root / "no-eurosat")
    build_patches(town, patches / "town", split="random")

    shutil.copytree(town, scenes / "text-b04")
    (scenes / "text-b04" / "B04.tif").write_text("this is not a GeoTIFF\n")
    shutil.copytree(town, scenes / "uneven")
    (scenes / "uneven" / "B04.tif").unlink()
    _write_band_like(town / "B04.tif", scenes / "uneven" / "B04.tif", rows=100)
    shutil.copytree(town, scenes / "no-b03")
    (scenes / "no-b03" / "B03.tif").unlink()
    shutil.copytree(town, scenes / "no-labels")
    for name in ("labels.tif", "labels.gpkg"):
        (scenes / "no-labels" / name).unlink()
    shutil.copytree(town, scenes / "bad-manifest")
    (scenes / "bad-manifest" / "manifest.json").write_text("{not json")
    shutil.copytree(patches / "town", patches / "broken")
    (patches / "broken" / "images.npy").write_bytes(b"\x93NUMPY garbage")

    for name in ("unet-paris", "efficientnet_lite0"):
        shutil.copytree(REPO_ROOT / "artifacts" / "models" / name, models / name)
    shutil.copytree(models / "efficientnet_lite0", models / "broken-card")
    (models / "broken-card" / "card.json").write_text("{not json")
    truncated = shutil.copytree(models / "unet-paris", artifacts / "truncated" / "unet-paris")
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])

    out.mkdir()
    (out / "a_dir").mkdir()
    (out / "a_dir.tif").mkdir()
    (out / "file.txt").write_text("a file, not a folder\n")
    (out / "text.png").write_text("not an image\n")
    (out / "empty.jpg").write_bytes(b"")
    (out / "garbage.tif").write_bytes(b"II*\x00garbage")
    (out / "broken.zip").write_bytes(b"PK\x03\x04 broken")
    Image.new("1", (20_000, 20_000)).save(out / "bomb.png")  # 400 M pixels in 48 KB
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(out / "tile.png")
    for name, column, codes in (("klass", "klass", [11100]), ("text", "code_2018", ["urban"]),
                                ("null", "code_2018", [np.nan])):  # no usable Urban Atlas code
        gpd.GeoDataFrame({column: codes}, geometry=[box(*TOWN)], crs="EPSG:4326").to_crs(
            "EPSG:3035").to_file(out / f"ua-{name}.gpkg", driver="GPKG")  # as Urban Atlas is
    eurosat = write_fake_eurosat(root / "eurosat", per_class=2)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        yield {"root": root, "data": data, "artifacts": artifacts, "out": out, "eurosat": eurosat,
               "silent": f"tcp://127.0.0.1:{silent.getsockname()[1]}"}


def _tree(root: Path) -> dict[str, tuple[int, int] | None]:
    """Every file (size, mtime) and folder (None) under ``root``."""
    return {str(p.relative_to(root)): None if p.is_dir() else (p.stat().st_size,
                                                                 p.stat().st_mtime_ns)
            for p in root.rglob("*")}


@pytest.mark.parametrize(("args", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    args: list[str], words: tuple[str, ...], world: dict[str, Path | str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LULC_DATA_DIR", str(world["data"]))
    monkeypatch.setenv("LULC_ARTIFACTS_DIR", str(world["artifacts"]))
    monkeypatch.setenv("LULC_EUROSAT_DIR", str(world["eurosat"]))
    monkeypatch.delenv("LULC_ADMIN_TOKEN", raising=False)
    filled = [a.format(**{k: str(v) for k, v in world.items()}) for a in args]
    root = Path(world["root"])
    before = _tree(root)
    code, _, err = run_lulc(filled, capsys, monkeypatch)
    assert code == 2, err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word.lower() in err.lower(), err
    after = _tree(root)
    assert sorted(set(after) - set(before)) == [], "new files"
    assert sorted(set(before) - set(after)) == [], "removed files"
    assert {k for k in before if before[k] != after[k]} == set(), "changed files"


def test_the_table_is_large_and_has_unique_ids() -> None:
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


def test_a_running_scheduler_passes_the_check() -> None:
    from distributed import LocalCluster

    from lulc_core.cli.segmenter import _check_scheduler

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None) as cluster:
        _check_scheduler(cluster.scheduler_address)  # raises ClusterError if refused
