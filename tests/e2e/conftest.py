"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

Playwright is imported inside the fixtures, so that ``make test`` (which deselects these tests)
collects this folder without it installed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from lab_server import MARKER, NOTEBOOKS, LabServer

CHROMIUM = Path(os.environ.get("MBP_TEACH_CHROMIUM", "/usr/bin/chromium"))
# The flags Chromium needs here: root (no sandbox), no GPU, and no background requests to the
# internet, which this machine does not reach (they fail, many at a time, and slow it down).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def lab():
    # pytest dies silently on SIGTERM/SIGHUP (a CI time-out, a closed terminal); turn them into an
    # exception so that the finally below stops JupyterLab and its kernels.
    def _raise(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    server = LabServer(NOTEBOOKS)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        leftover = server.leftovers()
        for s, handler in old.items():
            signal.signal(s, handler)
        assert not leftover, f"processes left behind after stopping JupyterLab: {leftover}"


@pytest.fixture(scope="session")
def browser(lab):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium chromium-driver) "
                    "or set MBP_TEACH_CHROMIUM to a Chromium binary", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed in .venv: run `make e2e` (installs requirements-e2e.txt)",
                    pytrace=False)
    with sync_playwright() as p:
        # The marker lets LabServer.stop() find a Chromium that outlived its driver.
        env = {**os.environ, MARKER: lab.run_id}
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=env, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
        lab.shutdown_kernels()  # one notebook's kernel at a time: the machine has 2 cores
