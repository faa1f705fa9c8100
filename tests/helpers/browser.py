"""A real browser for the kiosk screen tests: Debian's `chromium` driven by Playwright (no browser
download), axe-core accessibility checks, and screenshots kept under `var/screenshots/`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

LANDSCAPE: ViewportSize = {"width": 1920, "height": 1080}
PORTRAIT: ViewportSize = {"width": 1080, "height": 1920}
# axe-core impacts that fail a screen (minor and moderate ones are reported, not failed).
FAILING_IMPACTS = {"serious", "critical"}
MIN_TARGET_PX = 64

_axe = Axe()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian chromium; Django's async guard is relaxed while Playwright's sync API (an
    event loop in this thread) runs alongside the ORM."""
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on what the page shows now."""
    results = _axe.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} → {targets}")
    return "\n".join(lines)


def small_targets(page: Page) -> list[str]:
    """Visible buttons and inputs smaller than a finger (64 px) in either direction."""
    found: list[str] = page.evaluate(
        """(min) => Array.from(document.querySelectorAll('button, input'))
            .filter((el) => el.offsetParent !== null)
            .filter((el) => { const r = el.getBoundingClientRect();
                              return r.height < min || r.width < min; })
            .map((el) => el.id || el.textContent.trim() || el.outerHTML.slice(0, 60))""",
        MIN_TARGET_PX,
    )
    return found


def needs_scrolling(page: Page) -> str | None:
    """A kiosk screen must fit without scrolling: which way it does not, if any."""
    overflow: str | None = page.evaluate(
        """() => {
            const main = document.querySelector('main');
            if (document.documentElement.scrollWidth > window.innerWidth + 1) return 'sideways';
            if (document.documentElement.scrollHeight > window.innerHeight + 1) return 'page down';
            if (main && main.scrollHeight > main.clientHeight + 1) return 'screen down';
            return null;
        }"""
    )
    return overflow


def check_screen(page: Page, name: str, *, portrait: bool = True) -> None:
    """Screenshot the current screen in landscape (and portrait), and fail on serious axe
    violations, small touch targets or a screen that does not fit without scrolling."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or LANDSCAPE
    orientations: list[tuple[str, ViewportSize]] = [("landscape", LANDSCAPE)]
    if portrait:
        orientations.append(("portrait", PORTRAIT))
    try:
        for orientation, size in orientations:
            page.set_viewport_size(size)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{orientation}.png"))
            violations = serious_violations(page)
            assert not violations, f"{name} ({orientation}):\n{describe(violations)}"
            assert not small_targets(page), f"{name} ({orientation}): {small_targets(page)}"
            scrolling = needs_scrolling(page)
            assert not scrolling, f"{name} ({orientation}) needs scrolling {scrolling}"
    finally:
        page.set_viewport_size(original)
