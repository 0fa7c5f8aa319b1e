"""Headless Chromium for the report tests: Debian's ``chromium`` driven by selenium, offline, watching plotly draw.

The contract the report tests rely on:

* :func:`start_browser` starts ``/usr/bin/chromium`` headless through ``/usr/bin/chromedriver`` (never Selenium
  Manager, which would try the internet), with the browser console logged and the network blocked: every host
  name resolves to nothing (``--host-resolver-rules``) and every proxied request goes to a closed port, so a
  report that needs anything but its own file shows it as a failed request instead of fetching it.
* :func:`open_report` loads one file and waits, at most ``timeout`` seconds, until plotly has drawn every figure:
  the page's ``<main data-figures=N>`` (written by :class:`ml4t.report.Page`) says how many figures there are;
  drawn means exactly ``N`` ``div.plot`` elements, the document parsed, and each div holding plotly's
  ``.main-svg`` and every visible trace of its figure in the DOM (a trace drawn in SVG has its group node,
  ``calcdata[i][0].node3``; the few trace types plotly draws otherwise are looked up by their element).
  It then fails (``AssertionError``) on any console message of level ``SEVERE`` (a script error, a failed
  load) and on any request for a resource other than the file itself (``data:`` and ``blob:`` URLs are made by
  the page from its own bytes and are not requests to anywhere), and returns what it saw as a
  :class:`Rendering`: figures drawn, console messages, requested URLs and the render time.
* The render time is the page's own clock, ``performance.now()`` (zero at navigation start), read by a watcher
  installed before the page's first script runs (``Page.addScriptToEvaluateOnNewDocument``), on the first
  animation frame where everything is drawn: so it includes reading and parsing the file and plotly.js, and
  drawing; it does not include selenium's polling.
* :func:`require_browser` skips when chromium, chromedriver or selenium is missing, saying how to enable the
  tests, except when the environment variable ``CI`` is set: there a missing browser fails, so CI never skips
  these tests silently.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ENABLE = (
    "install Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver; "
    ".ci/run installs them"
)
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
)
LOCAL_SCHEMES = ("data:", "blob:", "about:")
"""URLs a page makes from its own bytes: not a request to anywhere."""

DEFAULT_TIMEOUT = 60.0
"""Seconds :func:`open_report` waits for every figure (a 1M-bar report draws in a few seconds; a shared CI
machine can be several times slower)."""

# Installed in every new document before its first script. It looks once per animation frame (frames do not
# run while a script is busy, so this costs nothing while plotly draws) and stops at the first frame where
# everything is drawn, keeping the time and what it saw; window.__ml4tStatus() answers the same question on
# demand (used for the message when the wait times out).
_WATCH = r"""
(() => {
  const OTHER = {table: 'g.table', scattergl: 'canvas', splom: 'canvas', parcoords: 'canvas'};
  function traces(gd) {
    const data = gd._fullData, calc = gd.calcdata;
    if (!Array.isArray(data) || !Array.isArray(calc)) return {want: null, got: 0, missing: ['not plotted']};
    let want = 0, got = 0;
    const missing = [];
    data.forEach((trace, i) => {
      if (trace.visible !== true) return;
      want += 1;
      const cd = calc[i];
      const group = cd && cd[0] && cd[0].node3 && cd[0].node3.node();
      if ((group && group.isConnected) || (OTHER[trace.type] && gd.querySelector(OTHER[trace.type]))) got += 1;
      else missing.push(trace.type + (trace.name ? ' ' + JSON.stringify(trace.name) : '') + ' #' + i);
    });
    return {want, got, missing};
  }
  function status() {
    const main = document.querySelector('main[data-figures]');
    const divs = Array.from(document.querySelectorAll('div.plot'));
    const plots = divs.map((gd) => {
      const t = traces(gd);
      const svg = gd.querySelector('.main-svg') !== null;
      return {id: gd.id, svg, traces: t.want, drawn: t.got, missing: t.missing,
              ok: svg && t.want !== null && t.got === t.want};
    });
    const expected = main ? parseInt(main.dataset.figures, 10) : null;
    const drawn = plots.filter((p) => p.ok).length;
    const parsed = document.readyState !== 'loading';
    return {expected, divs: divs.length, drawn, parsed, plots,
            done: parsed && expected !== null && divs.length === expected && drawn === expected};
  }
  window.__ml4tStatus = status;
  window.__ml4tRendered = null;
  function tick() {
    const s = status();
    if (s.done) { window.__ml4tRendered = {at: performance.now(), status: s}; return; }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
})();
"""


@dataclass
class Rendering:
    """What :func:`open_report` saw: ``figures`` drawn (as many as the page declares), the browser console
    (``{"level", "message"}`` each, in order), every URL the page requested (the file itself first), and
    ``render_ms``, navigation start to every figure drawn on the page's clock."""

    path: Path
    figures: int
    console: list[dict[str, str]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    render_ms: float = float("nan")

    @property
    def severe(self) -> list[str]:
        """The console messages of level SEVERE (each one fails :func:`open_report`)."""
        return [m["message"] for m in self.console if m["level"] == "SEVERE"]

    @property
    def foreign(self) -> list[str]:
        """Requested URLs other than the file itself and page-made ``data:``/``blob:`` URLs."""
        own = self.path.resolve().as_uri()
        return [u for u in self.resources if u != own and not u.startswith(LOCAL_SCHEMES)]


def missing_browser() -> str | None:
    """What is missing to run the browser tests (``None`` when nothing is)."""
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        absent.append("the selenium package (pip install -e '.[dev]')")
    return ", ".join(absent) + " not found" if absent else None


def require_browser() -> None:
    """Skip the calling test when the browser is missing, saying how to enable it; fail instead under CI."""
    missing = missing_browser()
    if missing is None:
        return
    message = f"report browser tests need headless Chromium: {missing}; {ENABLE}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: CI runs these tests, it never skips them)", pytrace=False)
    pytest.skip(message)


def start_browser() -> Any:
    """A selenium Chrome driver on Debian's headless chromium, console and network logging on, network
    blocked, with the render watcher installed in every document (see the module docstring)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _WATCH})
    except BaseException:
        driver.quit()
        raise
    return driver


def open_report(browser: Any, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> Rendering:
    """Load the file at ``path``, wait (at most ``timeout`` seconds) until every figure is drawn, and check
    the console and the requests (see the module docstring); ``AssertionError`` says what went wrong."""
    target = Path(path).resolve()
    browser.get_log("browser")  # drop what earlier pages left in the logs
    browser.get_log("performance")
    browser.get(target.as_uri())
    deadline = time.monotonic() + timeout
    rendered = None
    while rendered is None and time.monotonic() < deadline:
        rendered = browser.execute_script("return window.__ml4tRendered;")
        if rendered is None:
            time.sleep(0.05)
    status = rendered["status"] if rendered else browser.execute_script("return window.__ml4tStatus();")
    seen = Rendering(
        path=target,
        figures=int(status["drawn"]),
        console=[{"level": e["level"], "message": e["message"]} for e in browser.get_log("browser")],
        resources=_requests(browser.get_log("performance")),
        render_ms=float(rendered["at"]) if rendered else float("nan"),
    )
    problems = []
    if rendered is None:
        problems.append(f"not every figure was drawn within {timeout:g} s: {_describe(status)}")
    if seen.severe:
        problems.append("console errors: " + " | ".join(seen.severe))
    if seen.foreign:
        problems.append("requested resources other than the file: " + ", ".join(seen.foreign))
    assert not problems, f"{target.name}: " + "; ".join(problems)
    return seen


def _requests(performance_log: list[dict[str, Any]]) -> list[str]:
    urls = []
    for entry in performance_log:
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls


def _describe(status: dict[str, Any]) -> str:
    head = (
        f"{status['drawn']} of {status['expected']} figures drawn ({status['divs']} div.plot, "
        f"document {'parsed' if status['parsed'] else 'still loading'})"
    )
    undrawn = [
        f"{p['id']}: " + ("no .main-svg" if not p["svg"] else f"traces not drawn: {', '.join(p['missing'])}")
        for p in status["plots"]
        if not p["ok"]
    ]
    return head + ("; " + "; ".join(undrawn) if undrawn else "")
