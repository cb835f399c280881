"""Where the app's pages live, and a marker for tests that need ``app.py`` to run before a page.

Streamlit 1.67 decides once per process (``PagesManager.uses_pages_directory``) whether the app
uses its legacy multipage mode: True when a folder named ``pages/`` sits beside the entry script,
until a run of ``app.py`` calls ``st.navigation``. In that mode a page URL opened first (a shared
link, a reload on a fresh server) runs the page file alone: no sidebar, Streamlit's automatic page
list. AppTest resets the flag before every run, so there every page switch runs that way.
Renaming the folder (``pages/`` -> ``app_pages/``) fixes both; until then the tests below are
expected to fail (strict: they must start passing once the folder is renamed).
"""

from __future__ import annotations

import pytest

from lulc_core.config import REPO_ROOT

LEGACY_PAGES_DIR = (REPO_ROOT / "pages").is_dir()
PAGES_DIR = "pages" if LEGACY_PAGES_DIR else "app_pages"
needs_app_navigation = pytest.mark.xfail(
    LEGACY_PAGES_DIR, strict=True,
    reason="pages/ beside app.py: Streamlit's legacy multipage mode runs a page without app.py "
           "(rename pages/ to app_pages/)")
