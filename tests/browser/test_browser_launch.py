"""The Chromium the browser tests drive keeps every feature switch Playwright gives it."""

from tests.fixtures_browser import disable_features_switches


def test_our_disable_features_switch_keeps_playwrights_and_adds_render_document(browser):
    switches = disable_features_switches(browser)
    # Chromium applies the last one only: it must hold Playwright's list and ours.
    playwrights, applied = switches[0], switches[-1]
    assert len(switches) == 2
    assert "PaintHolding" in playwrights
    assert set(playwrights) < set(applied)
    assert "RenderDocument" in applied
