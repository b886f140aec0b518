"""How the browser tests drive Chromium: its feature switches, and the screenshots they keep."""

from PIL import Image

from tests.fixtures_browser import PHONE, disable_features_switches


def test_our_disable_features_switch_keeps_playwrights_and_adds_render_document(browser):
    switches = disable_features_switches(browser)
    # Chromium applies the last one only: it must hold Playwright's list and ours.
    playwrights, applied = switches[0], switches[-1]
    assert len(switches) == 2
    assert "PaintHolding" in playwrights
    assert set(playwrights) < set(applied)
    assert "RenderDocument" in applied


def test_a_phones_screenshot_has_one_pixel_per_css_pixel(phone_page, screenshot):
    """At device scale 2 a full-page PNG has four times the pixels, and cost about 0.55 s."""
    phone_page.goto("/")
    path = screenshot(phone_page, "home")
    with Image.open(path) as image:
        width, height = image.size
    assert width == PHONE["width"]
    assert height == phone_page.evaluate("document.documentElement.scrollHeight")
