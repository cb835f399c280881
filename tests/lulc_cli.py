"""Run the real ``lulc`` entry point in-process (as the console script does) for CLI tests."""

from __future__ import annotations

import sys

import pytest

from lulc_core.cli import main


def run_lulc(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """Call ``lulc ARGS`` through :func:`lulc_core.cli.main`.

    Returns:
        (exit code, stdout, stderr).
    """
    monkeypatch.setattr(sys, "argv", ["lulc", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    """Exit code 2, no traceback, and one error line, last on stderr (after any progress bar),
    that mentions ``words``."""
    line = err.rstrip().splitlines()[-1] if err.strip() else ""
    assert code == 2, err
    assert line.startswith("error: ") and err.count("error: ") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word.lower() in line.lower(), line
