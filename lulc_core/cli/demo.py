"""CLI: ``lulc demo-data``, the synthetic offline demo scenes."""

from __future__ import annotations

from pathlib import Path

import typer

from lulc_core.cli import app


@app.command("demo-data")
def demo_data(
    city: str = typer.Option("all", help="paris, ankara or all"),
    seed: int = typer.Option(
        0, min=0, max=2**32 - 1, help="random seed; the same seed gives the same scene"
    ),
    if_missing: bool = typer.Option(False, "--if-missing", help="skip cities already built"),
    out: Path = typer.Option(None, help="scenes folder (default $LULC_DATA_DIR/scenes)"),
) -> None:
    """Build SYNTHETIC Sentinel-2 + Urban Atlas demo scenes (real formats) for offline use."""
    from lulc_core.config import scenes_dir
    from lulc_core.data.demo import build_demo_scene
    from lulc_core.data.scene import MANIFEST
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
