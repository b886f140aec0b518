"""Choosing a free time on the times page the way a test can rely on at any hour.

The first time a page offers can be a few seconds from closing: it is the first on the
booking grid past the clinic's minimum notice, and once the clock passes its edge the
booking is refused (rightly) with "That time has just been taken". A test that taps the
first time and books it seconds later then fails for one run in a hundred or so, at the
hour a grid step crosses the notice. The next time offered is at least one grid step
(15 minutes) further from that edge, so it stays open for the whole test.

A day that offers one time only (today, in the last quarter of an hour before its last
time closes) has no second time: if that one is near the edge too, the test takes the
next day that offers times instead.
"""

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Locator, Page

from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db
from booking.presentation import START_FORMAT

TIMES = "ul.time-list a.time"
# The days after the one chosen, in the day strip (each day is a list item).
LATER_DAYS = "ul.day-list li:has(a.day.chosen) ~ li a.day"
# Longer than any test takes from choosing a time to booking it.
MARGIN = timedelta(minutes=10)


def _clear_of_the_notice(time_link: Locator) -> bool:
    found = re.search(r"start=(\d{8}T\d{4}Z)", time_link.get_attribute("href") or "")
    if found is None:
        return True  # not a time we can read: nothing to judge it by
    start = datetime.strptime(found[1], START_FORMAT).replace(tzinfo=UTC)
    reading = db.session().in_transaction()
    notice = timedelta(minutes=clinic_settings().minimum_booking_notice_minutes)
    if not reading:
        db.session.rollback()  # end the read begun here: the server writes next
    return start - notice - utcnow() > MARGIN


def a_time_clear_of_the_notice(page: Page) -> Locator:
    """The second time offered on the page; the only one if it is clear of the notice's
    edge, or else a time on the next day that offers any."""
    times = page.locator(TIMES)
    times.first.wait_for()
    if times.count() > 1:
        return times.nth(1)
    only = times.first
    later_days = page.locator(LATER_DAYS)
    if _clear_of_the_notice(only) or later_days.count() == 0:
        return only
    with page.expect_navigation():
        later_days.first.click()
    return a_time_clear_of_the_notice(page)
