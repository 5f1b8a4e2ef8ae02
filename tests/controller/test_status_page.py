"""The status page in a real browser: what a person sees when a contact drifts and comes back.

Debian's headless Chromium, driven by Playwright's Python API pointed at the system browser (no
browser is downloaded). The page is never reloaded by the test: it must refresh itself. The
screenshots are kept under ``$RECONCILER_TEST_ARTIFACTS`` (or the test's temporary directory)
and their paths printed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.controller import Controller, Emulator, launch_controller

CHROMIUM = os.environ.get("RECONCILER_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PATIENCE_MS = 60_000  # a generous bound on the page's own refreshes, never a timing assertion

MISSING = shutil.which(CHROMIUM) is None
WHY = f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)"

# A machine with only Python and pip skips; CI installs Chromium (.ci/run), so there it must run.
pytestmark = pytest.mark.skipif(MISSING and not os.environ.get("CI"), reason=WHY)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RECONCILER_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def reporting(
    tmp_path: Path, emulator: Emulator, manifests: Path
) -> Iterator[tuple[Controller, Emulator]]:
    controller = launch_controller(tmp_path, emulator, manifests, "--drift-policy", "report")
    yield controller, emulator
    controller.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if MISSING:
        pytest.fail(f"{WHY}; CI must install it before the suite")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 720})
        finally:
            browser.close()


def keep(page: Any, artifacts: Path, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    path = artifacts / f"status-page-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    with capsys.disabled():  # shown even under -q (not from an xdist worker: see the directory)
        print(f"\nscreenshot: {path}")
    return path


def test_the_page_shows_an_account_drift_out_of_sync_and_back_in_sync(
    reporting: tuple[Controller, Emulator],
    page: Any,
    artifacts: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In sync after the first pass; out of sync, with the drifted contact named on the
    account's page, after an out-of-band edit; in sync again once the edit is undone."""
    from playwright.sync_api import expect

    controller, emulator = reporting
    state = page.locator("table tbody tr").first.locator(".badge").first
    page.goto(controller.base + "/")
    expect(page).to_have_title("contacts-reconciler status")
    expect(state).to_have_text("InSync", timeout=PATIENCE_MS)
    expect(page.locator("table tbody tr").first).to_contain_text("default")
    keep(page, artifacts, "in-sync", capsys)

    emulator.edit(emulator.resource_name("jane"), "Mallory")
    expect(state).to_have_text("OutOfSync", timeout=PATIENCE_MS)
    expect(page.locator("table tbody tr").first).to_contain_text("1 / 2")
    keep(page, artifacts, "out-of-sync", capsys)

    page.get_by_role("link", name="default").click()
    expect(page.locator("h1")).to_contain_text("OutOfSync")
    drifted = page.locator("tr", has_text="jane")
    expect(drifted.first).to_contain_text("changed outside the manifests: names")
    keep(page, artifacts, "account-out-of-sync", capsys)

    emulator.edit(emulator.resource_name("jane"), "Jane")
    expect(page.locator("h1")).to_contain_text("InSync", timeout=PATIENCE_MS)
    page.get_by_role("link", name="all accounts").click()
    expect(state).to_have_text("InSync", timeout=PATIENCE_MS)
    keep(page, artifacts, "back-in-sync", capsys)
