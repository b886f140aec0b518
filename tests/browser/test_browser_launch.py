"""The Chromium the browser tests drive keeps every feature switch Playwright gives it."""

import re


def test_our_disable_features_switch_keeps_playwrights_and_adds_render_document(browser):
    page = browser.new_page()
    try:
        page.goto("chrome://version")
        command_line = page.locator("#command_line").inner_text()
    finally:
        page.close()
    switches = [value.split(",") for value in re.findall(r"--disable-features=(\S+)", command_line)]
    # Chromium applies the last one only: it must hold Playwright's list and ours.
    playwrights, applied = switches[0], switches[-1]
    assert len(switches) == 2
    assert "PaintHolding" in playwrights
    assert set(playwrights) < set(applied)
    assert "RenderDocument" in applied
