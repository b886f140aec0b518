"""Fixtures for browser tests (registered in conftest.py).

A real Chromium (Debian's, at /usr/bin/chromium; `make test` installs it with apt) drives
the test app served over HTTP on loopback, against the same database as the `app` fixture.
Screenshots of each step land in test-artefacts/<backend>/<test name>/<step>.png so that a
person can look at what the patient saw (one folder per backend: `make test` runs the SQLite
and PostgreSQL passes at once, and each starts a test's folder afresh).
"""

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "test-artefacts"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
# axe impacts we refuse; "minor" and "moderate" findings are printed but do not fail a test.
BLOCKING_IMPACTS = ("serious", "critical")
# How often the live server looks for a request to stop (serve_forever's poll_interval).
POLL_SECONDS = 0.05


@pytest.fixture
def live_server(app):
    """The test app served on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # serve_forever checks for shutdown every poll_interval (0.5 s by default): each test
    # using this server then waited a quarter of a second on average to stop it.
    thread = threading.Thread(
        target=server.serve_forever, args=(POLL_SECONDS,), name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        reason = (
            f"browser tests skipped: {CHROMIUM} is missing "
            "(`make test` installs Debian's chromium package with apt-get)"
        )
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launch = {"executable_path": str(CHROMIUM), "headless": True, "env": _browser_environment()}
        # RenderDocument gives each navigation a new document host in the browser, about a
        # fifth of the processor time of a page load here and nothing a page can see: the
        # browser tests used 261 s of processor time with it, 242 s without. Reading
        # Playwright's switches costs a first launch per worker.
        first = playwright.chromium.launch(**launch)
        switch = _disable_features_switch(first, "RenderDocument")
        first.close()
        chromium = playwright.chromium.launch(**launch, args=[switch])
        try:
            yield chromium
        finally:
            chromium.close()


def disable_features_switches(chromium) -> list[list[str]]:
    """The features of each --disable-features switch `chromium` was started with, in order.

    Read from its command line as chrome://version shows it.
    """
    page = chromium.new_page()
    try:
        page.goto("chrome://version")
        command_line = page.locator("#command_line").inner_text()
    finally:
        page.close()
    return [value.split(",") for value in re.findall(r"--disable-features=(\S+)", command_line)]


def _disable_features_switch(chromium, *features: str) -> str:
    """Playwright's --disable-features switch for this Chromium, with `features` added.

    Chromium takes the last --disable-features it is given, not the union, so a switch of
    our own must carry the features Playwright switches off too: they are read from the
    command line it gave `chromium`, as chrome://version shows it.
    """
    found = disable_features_switches(chromium)
    given = found[-1] if found else []
    return "--disable-features=" + ",".join([*given, *features])


def _browser_environment() -> dict[str, str]:
    """The environment for Chromium: ours, less libfaketime when `make test-future` runs.

    Under libfaketime Chromium stops painting (every screenshot times out), so it runs on
    the real clock while the app it drives runs a year ahead. The pages compute no dates
    in the browser, so what the tests check is still the app's view of that future day.
    """
    environment = dict(os.environ)
    if "libfaketime" in environment.get("LD_PRELOAD", ""):
        print("browser: Chromium runs on the real clock (it does not paint under libfaketime)")
        for name in ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC"):
            environment.pop(name, None)
    return environment


def _new_page(browser, live_server, **context_options):
    """A page in a fresh context; records what the console says about the page's own rules."""
    context = browser.new_context(base_url=live_server, locale="en-GB", **context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Checks wait for what they look for as actions do: a bare is_visible() right after a
    # click reads a page still loading, and failed on a loaded machine.
    expect.set_options(timeout=15_000)
    page.csp_violations = []
    page.on(
        "console",
        lambda message: (
            page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return context, page


@pytest.fixture
def phone_page(browser, live_server):
    """A touch phone 375 x 812 CSS pixels (an iPhone X-sized screen)."""
    context, page = _new_page(
        browser,
        live_server,
        viewport=PHONE,
        screen=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield page
    context.close()
    assert page.csp_violations == [], "the page broke its own Content-Security-Policy"


@pytest.fixture
def desktop_page(browser, live_server):
    context, page = _new_page(browser, live_server, viewport=DESKTOP)
    yield page
    context.close()
    assert page.csp_violations == [], "the page broke its own Content-Security-Policy"


@pytest.fixture
def screenshot(request, backend):
    """screenshot(page, "step") saves test-artefacts/<backend>/<test name>/<step>.png."""
    folder = ARTEFACTS / backend / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)

    def take(page, step: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', step)}.png"
        # One pixel per CSS pixel: a phone's page at device scale 2 has four times the
        # pixels to encode, and took Chromium about 0.55 s a screenshot (a fifth of the
        # browser's processor time in the public and staff page tests), for a picture a
        # person reads no better.
        page.screenshot(path=str(path), full_page=True, scale="css")
        return path

    return take


def format_violations(violations: list[dict]) -> str:
    """axe's findings as a person reads them: rule, impact, what to fix, where."""
    lines = []
    for violation in violations:
        lines.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']}"
            f" ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    ... and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


@pytest.fixture
def axe():
    """axe(page) runs axe-core on the page and fails on serious or critical violations."""
    if not AXE_SCRIPT.exists():
        pytest.skip(
            "axe-core is not installed: run `npm ci --prefix tests/browser` (`make test` does)"
        )

    # axe-core (650 kB) is evaluated into the page only when a check runs, not added to
    # every page as an init script: parsing it on each of a run's page loads cost about a
    # tenth of the browser tests' processor time. Playwright's evaluate runs it the way an
    # init script ran, through the DevTools protocol, which the page's
    # Content-Security-Policy (script-src 'self') does not govern; an inline <script> tag
    # would rightly be blocked, and bypass_csp=True would hide the violations we look for.
    source = AXE_SCRIPT.read_text()

    def check(page, *, label: str = "") -> list[dict]:
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(source)
        violations = page.evaluate(
            """async () => {
                const results = await axe.run(document, {resultTypes: ['violations']});
                return results.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))
                }));
            }"""
        )
        where = label or page.url
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        if violations and not blocking:
            print(f"axe, minor findings on {where}:\n{format_violations(violations)}")
        assert not blocking, (
            f"axe found serious or critical accessibility problems on {where}:\n"
            + format_violations(blocking)
        )
        return violations

    return check
