"""Headless Chromium for UI tests, installed from the package registries when missing.

Playwright cannot download its own browser here, so it drives Debian's `chromium`.
Chinese text needs `fonts-noto-cjk` or it renders as boxes in screenshots.

`screenshot_path` is a scratch place (tests/screenshots, not in git); `docs_screenshot`
writes the pictures the README shows (docs/screenshots, in git: each run rewrites them)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = Path(__file__).resolve().parents[1] / "screenshots"
DOCS_SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _run(cmd: list[str], timeout: int) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_browser() -> str:
    """Path of a usable Chromium with Playwright importable; skips the test, saying why,
    only where neither can be installed."""
    if importlib.util.find_spec("playwright") is None and not _run(
        [sys.executable, "-m", "pip", "install", "-q", "playwright"], 600
    ):
        pytest.skip("playwright is not installed and `pip install playwright` failed")
    fonts_ok = Path("/usr/share/fonts/opentype/noto").exists()
    if (not Path(CHROMIUM).exists() or not fonts_ok) and shutil.which("apt-get"):
        _run(["apt-get", "update", "-q"], 600)
        _run(["apt-get", "install", "-y", "-q", "chromium", "fonts-noto-cjk"], 900)
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "no Chromium: /usr/bin/chromium missing and `apt-get install chromium` "
            "failed (needs root and Debian's package registry)"
        )
    return CHROMIUM


def screenshot_path(name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR / name


def docs_screenshot(page: Any, name: str, *, full_page: bool = True, colours: int = 128) -> Path:
    """A Playwright page as docs/screenshots/`name`, reduced to a palette of `colours` (a
    UI screenshot keeps its look at a third of the size, so the repository stays small)."""
    import io

    from PIL import Image

    DOCS_SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = DOCS_SCREENSHOT_DIR / name
    shot = Image.open(io.BytesIO(page.screenshot(full_page=full_page))).convert("RGB")
    shot.quantize(colors=colours).save(path, optimize=True)
    return path
