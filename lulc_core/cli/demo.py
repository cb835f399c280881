"""CLI: ``lulc demo-data``, the synthetic offline demo scenes and the real Versailles samples."""

from __future__ import annotations

from pathlib import Path

import typer

from lulc_core.cli import app


@app.command("demo-data")
def demo_data(
    city: str = typer.Option("all", help="paris, ankara or all"),
    seed: int = typer.Option(0, help="random seed; the same seed gives the same scene"),
    if_missing: bool = typer.Option(False, "--if-missing", help="skip scenes already there"),
    out: Path = typer.Option(None, help="scenes folder (default $LULC_DATA_DIR/scenes)"),
) -> None:
    """Build SYNTHETIC Sentinel-2 + Urban Atlas demo scenes (real formats) for offline use, and
    import the REAL Sentinel-2 sample scenes of Versailles (July 2019) shipped with the project."""
    from lulc_core.config import scenes_dir
    from lulc_core.data.demo import build_demo_scene
    from lulc_core.data.samples import ensure_sample_scenes
    from lulc_core.data.scene import MANIFEST, read_manifest
    from lulc_core.geo import CITIES, city_aoi

    names = sorted(CITIES) if city == "all" else [city_aoi(city).name]
    root = out or scenes_dir()
    for name in names:
        folder = root / name
        if if_missing and (folder / MANIFEST).is_file():
            typer.echo(f"{name}: present at {folder} (skipped)")
            continue
        s = build_demo_scene(CITIES[name], folder, seed=seed)
        textures = "EuroSAT textures" if s.eurosat_textures else "procedural textures (no EuroSAT)"
        typer.echo(
            f"{name}: SYNTHETIC demo scene {s.width}x{s.height} px ({s.crs}, {textures}) "
            f"written to {folder} in {s.seconds:.1f} s"
        )
    if city not in ("all", "paris"):
        return
    for folder in ensure_sample_scenes(if_missing, root):  # Versailles is inside the Paris AOI
        m = read_manifest(folder)
        typer.echo(
            f"{folder.name}: REAL Sentinel-2 {m.level} scene (not synthetic) acquired "
            f"{m.acquired}, no Urban Atlas labels, cloud mask: {'SCL' if m.cloud_mask else 'none'}"
            f", at {folder}; reflectance = DN x {m.reflectance.scale:g} + "
            f"{m.reflectance.offset:g} ({m.reflectance.source})"
        )
