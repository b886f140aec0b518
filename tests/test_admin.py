"""Administrators change the clinic's settings, session types and prices from the diary."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.localtime import local_to_utc
from booking.clinic.money import parse_price_pence
from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    ClinicSettings,
    Practitioner,
    SessionType,
    Treatment,
)
from booking.public.page_cache import forget_cached_pages
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
ADMIN_PAGES = ["/diary/settings", "/diary/session-types", "/diary/session-types/new"]


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def audit_events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).filter_by(action=action)))


def next_weekday(weekday: int, *, at_least_days: int = 3):
    day = datetime.now(LONDON).date() + timedelta(days=at_least_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def page_token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return csrf_token(page.get_data(as_text=True))


def settings_answers() -> dict:
    """The settings form filled in with what is stored now, as a browser would send it."""
    db.session.expire_all()
    settings = db.session.get(ClinicSettings, 1)
    answers = {
        name: getattr(settings, name)
        for name in (
            "name",
            "address",
            "phone",
            "email",
            "reception_email",
            "timezone",
            "cancellation_notice_hours",
            "minimum_booking_notice_minutes",
            "booking_horizon_days",
            "slot_step_minutes",
            "buffer_minutes",
            "reminder_hours_before",
            "cancellation_undo_minutes",
            "what_to_bring",
            "directions",
            "waiting_list_offer_minutes",
            "clinical_retention_years",
        )
    }
    # An unticked box is simply not sent.
    for name in (
        "late_cancellation_uses_credit",
        "no_show_uses_credit",
        "waiting_list_courses_first",
        "first_course_session_before_payment",
        "email_confirmation_for_new_patients",
        "late_cancellation_keeps_deposit",
    ):
        if getattr(settings, name):
            answers[name] = "y"
    return answers


def post_settings(client, **changes):
    data = {**settings_answers(), **changes}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(
        "/diary/settings", data={**data, "csrf_token": page_token(client, "/diary/settings")}
    )


def session_type_answers(**changes) -> dict:
    answers = {
        "name": "Cupping and massage",
        "slug": "",
        "description": "Cupping over the back, then massage.",
        "duration_minutes": "50",
        "price": "£70.50",
        "treatments": [get(Treatment, slug="cupping").id, get(Treatment, slug="massage").id],
        "practitioners": [get(Practitioner, slug="colette-assor").id],
        "active": "y",
        "bookable_online": "y",
        "position": "10",
    }
    answers.update(changes)
    return {key: value for key, value in answers.items() if value is not None}


def post_session_type(client, url="/diary/session-types/new", **changes):
    data = session_type_answers(**changes)
    return client.post(url, data={**data, "csrf_token": page_token(client, url)})


@pytest.fixture
def caching(app):
    """The information pages cached as in production, so a stale copy would show."""
    app.config["PAGE_CACHE_SECONDS"] = 30
    forget_cached_pages()
    yield app
    app.config["PAGE_CACHE_SECONDS"] = 0
    forget_cached_pages()


# Settings -----------------------------------------------------------------------------------


def test_an_administrator_changes_the_phone_and_the_contact_page_shows_it_at_once(
    caching, client, admin_client, demo
):
    assert "020 7946 0000" in client.get("/contact").get_data(as_text=True)  # now cached

    response = post_settings(
        admin_client,
        phone="020 7946 1234",
        cancellation_notice_hours="48",
        no_show_uses_credit=None,
    )
    assert response.status_code == 302 and response.location == "/diary/settings"
    assert "settings have been saved" in admin_client.get("/diary/settings").get_data(as_text=True)

    settings = db.session.get(ClinicSettings, 1)
    assert settings.phone == "020 7946 1234"
    assert settings.cancellation_notice_hours == 48
    assert settings.no_show_uses_credit is False
    assert "020 7946 1234" in client.get("/contact").get_data(as_text=True)

    (event,) = audit_events("clinic_settings.changed")
    assert event.staff_user_id == admin_client.user.id
    assert event.details["changes"] == {
        "phone": ["020 7946 0000", "020 7946 1234"],
        "cancellation_notice_hours": [24, 48],
        "no_show_uses_credit": [True, False],
    }


def test_the_settings_page_explains_when_other_processes_show_a_change(caching, admin_client, demo):
    page = admin_client.get("/diary/settings").get_data(as_text=True)
    assert "straight away" in page and "for up to 35 seconds more" in page


def test_saving_unchanged_settings_writes_no_audit_event(admin_client, demo):
    assert post_settings(admin_client).status_code == 302
    assert audit_events("clinic_settings.changed") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "is not a time zone we know"),
        ({"timezone": "../../etc/passwd"}, "is not a time zone we know"),
        ({"timezone": ""}, "Enter the clinic&#39;s time zone"),
        ({"slot_step_minutes": "7"}, "choose one of those"),
        ({"cancellation_notice_hours": "169"}, "between 0 and 168 hours"),
        ({"minimum_booking_notice_minutes": "-1"}, "between 0 and 10080 minutes"),
        ({"booking_horizon_days": "0"}, "between 1 and 365 days"),
        ({"buffer_minutes": "61"}, "between 0 and 60 minutes"),
        ({"reminder_hours_before": "0"}, "between 1 and 168 hours"),
        ({"name": "   "}, "name cannot be empty"),
        ({"reception_email": "reception"}, "should look like name@example.com"),
        ({"directions": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_nothing_changes(
    admin_client, demo, change, message
):
    before = settings_answers()
    response = post_settings(admin_client, phone="020 7946 9999", **change)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    # The form keeps what was typed, so the administrator only fixes the one answer.
    assert 'value="020 7946 9999"' in page
    assert settings_answers() == before
    assert audit_events("clinic_settings.changed") == []


def test_a_number_that_is_not_a_number_is_refused(admin_client, demo):
    response = post_settings(admin_client, buffer_minutes="ten")
    assert response.status_code == 422
    assert "Please correct the highlighted answers" in response.get_data(as_text=True)


# Who may open these pages -------------------------------------------------------------------


@pytest.mark.parametrize("url", [*ADMIN_PAGES, "/diary/session-types/1"])
def test_receptionists_are_refused_and_visitors_are_sent_to_sign_in(
    client, receptionist_client, demo, url
):
    assert receptionist_client.get(url).status_code == 403
    if url != "/diary/session-types":  # the list is only ever read
        token = page_token(receptionist_client, "/diary/")
        assert receptionist_client.post(url, data={"csrf_token": token}).status_code == 403

    response = client.get(url)
    assert response.status_code == 302 and response.location.startswith("/staff/sign-in")


def test_only_administrators_see_the_links_to_these_pages(admin_client, receptionist_client):
    admin_page = admin_client.get("/diary/").get_data(as_text=True)
    desk_page = receptionist_client.get("/diary/").get_data(as_text=True)
    for link in ('href="/diary/settings"', 'href="/diary/session-types"'):
        assert link in admin_page
        assert link not in desk_page


def test_a_post_without_the_csrf_token_is_refused(admin_client, demo):
    response = admin_client.post("/diary/settings", data=settings_answers())
    assert response.status_code == 400
    assert db.session.get(ClinicSettings, 1).phone == "020 7946 0000"


# Prices -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("65", 6500),
        ("65.50", 6550),
        ("£65.50", 6550),
        ("65.5", 6550),
        (" £ 65 ", 6500),
        ("0", 0),
        ("0.99", 99),
        (".50", 50),
        ("1,250", 125000),
        ("1,250.00", 125000),
    ],
)
def test_prices_are_read_as_people_type_them(typed, pence):
    assert parse_price_pence(typed) == pence


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "cannot be negative"),
        ("£-5.00", "cannot be negative"),
        ("", "not a price we can read"),
        ("£", "not a price we can read"),
        ("sixty", "not a price we can read"),
        ("65.505", "not a price we can read"),
        ("65.", "not a price we can read"),
        ("65p", "not a price we can read"),
        ("12,50", "not a price we can read"),
        ("6 5", "not a price we can read"),
        ("1e3", "not a price we can read"),
        ("٦٥", "not a price we can read"),
        ("20000", "more than £10,000"),
    ],
)
def test_nonsense_and_negative_prices_are_refused(typed, message):
    with pytest.raises(DomainError, match=message):
        parse_price_pence(typed)


# Session types ------------------------------------------------------------------------------


def test_the_list_shows_each_session_type_with_its_details(admin_client, demo):
    page = admin_client.get("/diary/session-types").get_data(as_text=True)
    assert "Full combination session" in page
    assert "£110" in page and "1 h 30 min" in page
    assert "Acupuncture, Massage, Cupping, Stretching" in page
    assert "Colette Assor, Sam Okafor" in page


def test_a_new_session_type_is_on_the_public_pages_and_can_be_booked(
    caching, client, admin_client, demo
):
    client.get("/treatments-and-prices")  # a stale copy, unless saving forgets it

    response = post_session_type(admin_client)
    assert response.status_code == 302 and response.location == "/diary/session-types"

    session_type = get(SessionType, slug="cupping-and-massage")
    assert session_type.price_pence == 7050
    assert session_type.duration_minutes == 50
    assert [t.slug for t in session_type.treatments] == ["massage", "cupping"]
    assert [p.slug for p in session_type.practitioners] == ["colette-assor"]
    (event,) = audit_events("session_type.created")
    assert event.subject_id == session_type.id and event.details["price_pence"] == 7050
    assert event.staff_user_id == admin_client.user.id

    assert "Cupping and massage" in client.get("/book").get_data(as_text=True)
    prices = client.get("/treatments-and-prices").get_data(as_text=True)
    assert "Cupping and massage" in prices and "£70.50" in prices

    day = next_weekday(1)
    start = local_to_utc(day, time(9), LONDON)
    url = (
        "/book/cupping-and-massage/details?practitioner=colette-assor"
        f"&start={start.astimezone(UTC):%Y%m%dT%H%MZ}"
    )
    booked = client.post(
        url,
        data={
            "name": "Priya Shah",
            "email": "priya@example.org",
            "phone": "07700 900123",
            "note": "",
            "cauda_equina": "no",
            "other_warning": "no",
            "consent": "y",
            "csrf_token": page_token(client, url),
        },
    )
    assert booked.status_code == 302 and booked.location.startswith("/book/confirmed/")
    appointment = get(Appointment)
    assert appointment.session_type_id == session_type.id
    assert appointment.price_pence == 7050
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=50)


def test_a_new_name_that_is_taken_gets_the_next_free_web_address(admin_client, demo):
    assert post_session_type(admin_client, name="Massage").status_code == 302
    assert get(SessionType, name="Massage", slug="massage-2") is not None


def test_a_typed_web_address_already_in_use_is_refused(admin_client, demo):
    response = post_session_type(admin_client, slug="massage")
    assert response.status_code == 422
    assert "already uses the web address" in response.get_data(as_text=True)
    assert get(SessionType, name="Cupping and massage") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration_minutes": "10"}, "between 15 and 240 minutes"),
        ({"duration_minutes": "245"}, "between 15 and 240 minutes"),
        ({"duration_minutes": "47"}, "in steps of 5 minutes"),
        ({"price": "-65"}, "A price cannot be negative"),
        ({"price": "sixty-five"}, "not a price we can read"),
        ({"treatments": None}, "Tick at least one treatment"),
        ({"name": "  "}, "Give the session type a name"),
        ({"slug": "Not A Slug!"}, "lower-case letters, digits and single hyphens"),
    ],
)
def test_bad_session_types_are_refused_with_a_message_and_the_form_kept(
    admin_client, demo, change, message
):
    response = post_session_type(admin_client, description="Typed with care.", **change)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert "Typed with care." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionType)) == 6
    assert audit_events("session_type.created") == []


def test_a_new_price_leaves_booked_appointments_at_their_price(admin_client, demo):
    massage = get(SessionType, slug="massage")
    appointment = book_appointment(
        session_type=massage,
        starts_at=local_to_utc(next_weekday(1), time(9), LONDON),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Priya Shah", "priya@example.org", None),
    )
    assert appointment.price_pence == 6000

    edit_url = f"/diary/session-types/{massage.id}"
    form = admin_client.get(edit_url).get_data(as_text=True)
    assert 'value="60.00"' in form and 'value="massage"' in form
    massage_box = re.search(
        rf'<input[^>]*name="treatments"[^>]*value="{get(Treatment, slug="massage").id}"[^>]*>', form
    ).group(0)
    assert 'type="checkbox"' in massage_box and "checked" in massage_box
    response = post_session_type(
        admin_client,
        url=edit_url,
        name="Massage",
        slug="massage",
        description=massage.description,
        duration_minutes="45",
        price="72",
        treatments=[get(Treatment, slug="massage").id],
        practitioners=[p.id for p in massage.practitioners],
        position=str(massage.position),
    )
    assert response.status_code == 302

    db.session.expire_all()
    assert db.session.get(SessionType, massage.id).price_pence == 7200
    assert db.session.get(Appointment, appointment.id).price_pence == 6000
    (event,) = audit_events("session_type.changed")
    assert event.details["changes"] == {"price_pence": [6000, 7200]}


def test_a_deactivated_session_type_leaves_the_public_pages_but_keeps_its_history(
    client, admin_client, demo
):
    massage = get(SessionType, slug="massage")
    appointment = book_appointment(
        session_type=massage,
        starts_at=local_to_utc(next_weekday(1), time(9), LONDON),
        practitioner=get(Practitioner, slug="colette-assor"),
        patient=PatientDetails("Priya Shah", "priya@example.org", None),
    )
    response = post_session_type(
        admin_client,
        url=f"/diary/session-types/{massage.id}",
        name="Massage",
        slug="massage",
        description=massage.description,
        duration_minutes="45",
        price="60",
        treatments=[get(Treatment, slug="massage").id],
        practitioners=[p.id for p in massage.practitioners],
        position=str(massage.position),
        active=None,
    )
    assert response.status_code == 302

    assert 'href="/book/massage"' not in client.get("/book").get_data(as_text=True)
    assert client.get("/book/massage").status_code == 404
    prices = client.get("/treatments-and-prices").get_data(as_text=True)
    assert "<h3>Massage</h3>" not in prices and "<h3>Assisted stretching</h3>" in prices
    listing = admin_client.get("/diary/session-types").get_data(as_text=True)
    assert "Massage" in listing

    db.session.expire_all()
    kept = db.session.get(Appointment, appointment.id)
    assert kept.session_type_id == massage.id and kept.price_pence == 6000
    (event,) = audit_events("session_type.changed")
    assert event.details["changes"] == {"active": [True, False]}


def test_an_unknown_session_type_is_not_found(admin_client, demo):
    assert admin_client.get("/diary/session-types/9999").status_code == 404
