"""Choosing a free time on the times page the way a test can rely on at any hour.

The first time a page offers can be a few seconds from closing: it is the first on the
booking grid past the clinic's minimum notice, and once the clock passes its edge the
booking is refused (rightly) with "That time has just been taken". A test that taps the
first time and books it seconds later then fails for one run in a hundred or so, at the
hour a grid step crosses the notice. The next time offered is at least one grid step
(15 minutes) further from that edge, so it stays open for the whole test.
"""

from playwright.sync_api import Locator, Page

TIMES = "ul.time-list a.time"


def a_time_clear_of_the_notice(page: Page) -> Locator:
    """The second time offered on the page, or the first when it offers only one."""
    times = page.locator(TIMES)
    times.first.wait_for()
    return times.nth(1) if times.count() > 1 else times.first
