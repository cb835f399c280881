"""CLI commands for evaluation and inference (registered on the app in cli/__init__.py)."""

from __future__ import annotations

from lulc_core.cli import app, fetch_app, import_app, train_app  # noqa: F401
