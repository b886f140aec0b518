"""A new patient confirms their email at 375 px; the diary shows the hold, then the booking."""

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.clinic.held_appointments import release_expired_holds
from booking.clinic.outbox import send_due
from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Appointment, AppointmentStatus, OutboxMessage
from tests.browser.free_times import a_time_clear_of_the_notice
from tests.fixtures_browser import DESKTOP, PHONE, _new_page
from tests.fixtures_mail import plain_text

RECEPTIONIST_EMAIL = "reception@clinic.example"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+(/book/confirm-email/[A-Za-z0-9_\-.]+)")


def fill_safety_answers(page) -> None:
    for question in page.locator("fieldset").all():
        question.get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("I agree that the clinic may store")).check()


def test_a_new_patient_confirms_by_the_emailed_link_and_the_diary_shows_it_booked(
    browser, live_server, phone_page, demo, mail_app, smtp_server, axe, screenshot
):
    clinic_settings().email_confirmation_for_new_patients = True
    db.session.commit()
    page = phone_page

    page.goto("/book/massage/times?practitioner=colette-assor")
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    page.get_by_label("Full name").fill("Nadia Okafor")
    page.get_by_label("Email address").fill("nadia@example.org")
    page.get_by_label("Phone number").fill("07700 900321")
    fill_safety_answers(page)
    page.get_by_role("button", name="Book this appointment").tap()

    held = page.locator("#held-message")
    expect(held).to_be_visible()
    match = re.search(
        r"Your time is held until (\d\d:\d\d); open the link we emailed", held.inner_text()
    )
    assert match, held.inner_text()
    expect(page).to_have_title(re.compile("Your time is held"))
    screenshot(page, "held")
    axe(page, label="the held booking page")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    db.session.rollback()
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.status == AppointmentStatus.HELD
    local_until = appointment.held_until.astimezone(clinic_settings().zone)
    assert match.group(1) == local_until.strftime("%H:%M")

    # Reception sees the hold in the diary, with until when.
    desk, desk_page = _new_page(browser, live_server, viewport=DESKTOP)
    desk_page.goto("/staff/sign-in")
    desk_page.get_by_label("Email address").fill(RECEPTIONIST_EMAIL)
    desk_page.get_by_label("Password").fill(demo)
    desk_page.get_by_role("button", name="Sign in").click()
    desk_page.wait_for_url(re.compile(r"/diary/$"))
    desk_page.goto(f"/diary/appointments/{appointment.id}")
    expect(desk_page.locator(".status-badge")).to_have_text(
        f"Held: awaiting email confirmation until {match.group(1)}"
    )

    # The email, as the real mail server received it; its link, opened on the phone.
    db.session.rollback()
    assert send_due().sent == 1
    [message] = smtp_server.to("nadia@example.org")
    assert message["Subject"].startswith("Confirm your booking")
    [path] = set(CONFIRM_LINK.findall(plain_text(message)))
    # Opening the link only shows a button (mail scanners open links too): still held.
    page.goto(path)
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    screenshot(page, "confirm")
    axe(page, label="the confirm-your-booking page")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    db.session.rollback()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.HELD
    page.get_by_role("button", name="Confirm my booking").tap()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    screenshot(page, "booked")
    axe(page, label="the booked page after confirming")
    # Opened again (a second tap on the email's link): the booked page, nothing new sent.
    page.goto(path)
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()

    db.session.rollback()
    assert send_due().sent == 2  # the confirmation with its invitation, reception's notice
    subjects = [m["Subject"].split(":")[0] for m in smtp_server.to("nadia@example.org")]
    assert subjects == ["Confirm your booking", "Booked"]

    day = appointment.starts_at.astimezone(clinic_settings().zone).date()
    desk_page.goto(f"/diary/day/{day.isoformat()}")
    block = desk_page.locator(f'a.appointment[href="/diary/appointments/{appointment.id}"]')
    expect(block.locator(".status-label")).to_have_text("Booked")
    desk_page.goto(f"/diary/appointments/{appointment.id}")
    expect(desk_page.locator(".status-badge")).to_have_text("Booked")
    screenshot(desk_page, "diary")
    desk.close()


def test_a_released_hold_says_so_and_offers_the_times_again_at_375_pixels(
    phone_page, demo, axe, screenshot
):
    clinic_settings().email_confirmation_for_new_patients = True
    db.session.commit()
    page = phone_page
    page.goto("/book/massage/times?practitioner=colette-assor")
    a_time_clear_of_the_notice(page).tap()
    page.wait_for_url(re.compile(r"/book/massage/details"))
    page.get_by_label("Full name").fill("Late Opener")
    page.get_by_label("Email address").fill("late@example.org")
    page.get_by_label("Phone number").fill("07700 900322")
    fill_safety_answers(page)
    page.get_by_role("button", name="Book this appointment").tap()
    expect(page.locator("#held-message")).to_be_visible()

    db.session.rollback()
    appointment = db.session.scalar(sa.select(Appointment))
    assert release_expired_holds(appointment.held_until + timedelta(seconds=1)) == 1
    [email] = db.session.scalars(sa.select(OutboxMessage).filter_by(kind="confirm_email"))
    [path] = set(CONFIRM_LINK.findall(email.text_body))

    page.goto(path)
    expect(page.get_by_role("heading", name="Your time was released")).to_be_visible()
    screenshot(page, "released")
    axe(page, label="the released hold's page")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="Choose a time for Massage").tap()
    day = appointment.starts_at.astimezone(clinic_settings().zone).date().isoformat()
    page.wait_for_url(re.compile(rf"/book/massage/times\?practitioner=colette-assor&first={day}"))
    db.session.rollback()
    assert db.session.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED
