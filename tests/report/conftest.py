"""Fixtures of the report tests: one headless Chromium for the whole session (see ``tests/report/browser.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.report.browser import require_browser, start_browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless chromium under selenium, offline; skipped (failed under ``CI``) when missing."""
    require_browser()
    driver = start_browser()
    yield driver
    driver.quit()
