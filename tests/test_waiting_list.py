"""The waiting list: join, a freed time offered in turn, claimed through the normal booking
path (a race of two claimers on either backend), expiry, leaving, and the desk's pages."""

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import waiting_list
from booking.clinic.appointments import cancel_appointment
from booking.clinic.jobs import run_due_jobs
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import offer_uid_from_token, waiting_uid_from_token
from booking.clinic.waiting_list import (
    EXPIRED_MESSAGE,
    GONE_MESSAGE,
    OfferGone,
    Wish,
    add_caller,
    claim_offer,
    offer_free_times,
    offer_time_by_hand,
)
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    OfferStatus,
    OutboxMessage,
    Practitioner,
    SessionType,
    StaffUser,
    WaitingListEntry,
    WaitingListOffer,
    WaitingStatus,
)
from tests.at_once import race
from tests.factories import make_appointment, make_course, make_patient
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")


def coming_weekday() -> date:
    """The first weekday from tomorrow whose day of the week is not today's: no earlier
    day of the same name lies between now and it, so a wish for that day of the week
    until that day matches that day only."""
    today = datetime.now(LONDON).date()
    day = today + timedelta(days=1)
    while day.weekday() > 4 or day.weekday() == today.weekday():
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


@pytest.fixture
def desk(app, demo, sign_in):
    """The demo receptionist, signed in."""
    client = app.test_client()
    assert sign_in(client, desk_user(), password=demo).status_code == 302
    return client


@pytest.fixture
def full_morning(demo):
    """Colette's morning on a coming weekday, booked solid: 09:00-10:00, a massage at
    10:00 (the appointment to cancel), 10:45-13:00. Returns (day, the 10:00 appointment)."""
    day = coming_weekday()
    make_appointment(at(day, 9), minutes=60)
    ten = make_appointment(at(day, 10), patient="Cancelling Patient")
    make_appointment(at(day, 10, 45), minutes=135)
    return day, ten


def wish(day: date, practitioner="colette-assor") -> Wish:
    return Wish(
        session_type=get(SessionType, slug="massage"),
        practitioner=get(Practitioner, slug=practitioner) if practitioner else None,
        weekdays=str(day.weekday()),
        parts_of_day="m",
        until=day,
    )


def desk_user() -> StaffUser:
    return get(StaffUser, email="reception@clinic.example")


def wait(name: str, day: date, **patient_fields) -> WaitingListEntry:
    return add_caller(make_patient(name, **patient_fields), wish(day), staff_user=desk_user())


def offers_of(entry_id: int) -> list[WaitingListOffer]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(WaitingListOffer)
            .where(WaitingListOffer.entry_id == entry_id)
            .order_by(WaitingListOffer.id)
        )
    )


def offer_emails(recipient: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.recipient == recipient, OutboxMessage.kind == "waiting_list_offer"
            )
        )
    )


def link_in(message: OutboxMessage, path: str) -> str:
    found = re.search(rf"https?://[^\s]+({re.escape(path)}[^\s]+)", message.text_body)
    assert found, message.text_body
    return found.group(1)


def test_nothing_is_offered_while_no_matching_time_is_free(app, full_morning):
    day, _ = full_morning
    wait("Wendy Waiting", day)
    assert offer_free_times() == []


def test_a_cancelled_time_is_offered_to_the_first_waiting_patient_only(app, full_morning):
    day, ten = full_morning
    first = wait("First Waiting", day)
    second = wait("Second Waiting", day)
    cancel_appointment(ten, reason="Patient rang", staff_user=desk_user())

    made = offer_free_times()

    assert [(offer.entry_id, offer.starts_at) for offer in made] == [(first.id, at(day, 10))]
    assert offers_of(second.id) == []
    [email] = offer_emails(first.patient.email)
    assert "10:00" in email.subject and "Massage" in email.subject
    assert "/waiting-list/offer/" in email.text_body and "/waiting-list/" in email.text_body
    # Run again at once: the open offer stands, nothing is offered twice.
    assert offer_free_times() == []
    assert len(offer_emails(first.patient.email)) == 1


def test_a_time_freed_by_a_move_is_offered(app, full_morning):
    from booking.clinic.appointments import move_appointment

    day, ten = full_morning
    entry = wait("Waiting For A Move", day)
    assert offer_free_times() == []
    move_appointment(ten, starts_at=at(day, 15), staff_user=desk_user())
    [offer] = offer_free_times()
    assert (offer.entry_id, offer.starts_at) == (entry.id, at(day, 10))


def test_a_time_freed_by_removing_time_off_is_offered(app, demo):
    from booking.clinic.time_off import add_time_off, remove_time_off

    day = coming_weekday()
    make_appointment(at(day, 9), minutes=60)
    make_appointment(at(day, 10, 45), minutes=135)
    colette = get(Practitioner, slug="colette-assor")
    block, _ = add_time_off(
        colette, at(day, 10), at(day, 10, 45), reason="Training", staff_user=desk_user()
    )
    entry = wait("Waiting For Time Off", day)
    assert offer_free_times() == []

    remove_time_off(block, staff_user=desk_user())
    [offer] = offer_free_times()
    assert (offer.entry_id, offer.starts_at) == (entry.id, at(day, 10))


def test_a_time_opened_by_new_working_hours_is_offered(app, full_morning):
    from booking.clinic.working_hours import set_working_hours

    day, _ = full_morning
    entry = wait("Waiting For Hours", day)
    assert offer_free_times() == []

    colette = get(Practitioner, slug="colette-assor")
    week: dict[int, list[tuple[time, time]]] = {}
    for hours in colette.working_hours:
        week.setdefault(hours.weekday, []).append((hours.starts_at, hours.ends_at))
    week.setdefault(day.weekday(), []).append((time(8, 0), time(9, 0)))
    set_working_hours(colette, week, staff_user=desk_user())
    [offer] = offer_free_times()
    assert (offer.entry_id, offer.starts_at) == (entry.id, at(day, 8))


def test_a_resent_offer_stays_in_the_patients_messages(app, full_morning):
    from booking.clinic.communications import patient_log, resend

    day, ten = full_morning
    entry = wait("Resend Me", day)
    cancel_appointment(ten, staff_user=desk_user())
    offer_free_times()
    [email] = offer_emails(entry.patient.email)
    email.status = "sent"
    db.session.commit()
    copy = resend(email.id, staff_user=desk_user())
    # Found by its key, like the original (a copy keyed 'resend:...' was lost from the log).
    logged = [line.message.id for line in patient_log(entry.patient)]
    assert copy.id in logged and email.id in logged


def test_the_worker_runs_the_offers_as_a_scheduled_job(app, full_morning):
    day, ten = full_morning
    entry = wait("Job Waiting", day)
    cancel_appointment(ten, staff_user=desk_user())
    assert "waiting-list-offers" in run_due_jobs()
    assert [offer.starts_at for offer in offers_of(entry.id)] == [at(day, 10)]


def test_an_unclaimed_offer_expires_and_the_time_goes_to_the_next_in_turn(app, full_morning):
    day, ten = full_morning
    first = wait("Slow Claimer", day)
    second = wait("Next In Turn", day)
    cancel_appointment(ten, staff_user=desk_user())
    [offer] = offer_free_times()
    later = offer.expires_at + timedelta(minutes=1)

    [next_offer] = offer_free_times(later)

    assert next_offer.entry_id == second.id and next_offer.starts_at == at(day, 10)
    assert offers_of(first.id)[0].status == OfferStatus.EXPIRED
    with pytest.raises(OfferGone) as refusal:
        claim_offer(offers_of(first.id)[0], now=later)
    assert refusal.value.message == EXPIRED_MESSAGE
    assert db.session.get(WaitingListEntry, first.id).status == WaitingStatus.WAITING


def test_claiming_books_through_the_normal_path_and_ends_the_wait(app, full_morning):
    day, ten = full_morning
    entry = wait("Quick Claimer", day)
    cancel_appointment(ten, staff_user=desk_user())
    [offer] = offer_free_times()

    appointment = claim_offer(offer)

    assert appointment.starts_at == at(day, 10)
    assert appointment.practitioner.slug == "colette-assor"
    assert appointment.patient_id == entry.patient_id
    assert appointment.status == AppointmentStatus.BOOKED
    entry = db.session.get(WaitingListEntry, entry.id)
    assert entry.status == WaitingStatus.BOOKED and entry.appointment_id == appointment.id
    # The patient's confirmation went out as for any booking.
    kinds = db.session.scalars(
        sa.select(OutboxMessage.kind).where(OutboxMessage.appointment_id == appointment.id)
    )
    assert "confirmation" in list(kinds)


def test_the_desk_sees_that_a_freed_time_was_offered_to_and_claimed_by_a_waiting_patient(
    app, full_morning, desk
):
    day, ten = full_morning
    entry = wait("Claiming Patient", day)
    before = desk.get("/diary/waiting-list").get_data(as_text=True)
    assert "No time has been booked from the waiting list in the last 14 days." in before
    cancel_appointment(ten, staff_user=desk_user())
    [offer] = offer_free_times()
    appointment = claim_offer(offer)

    page = unescape(desk.get("/diary/waiting-list").get_data(as_text=True))
    assert "Nobody is waiting." in page
    booked = page.split('id="booked-from-the-list"')[1]
    assert "Claiming Patient" in booked
    assert f'href="/diary/appointments/{appointment.id}"' in booked
    assert re.search(rf"{day.day} \w+ \d{{4}} at 10:00 \((GMT|BST)\) with Colette Assor", booked)
    assert "(by the worker)" in booked
    # The appointment says where it came from.
    shown = unescape(desk.get(f"/diary/appointments/{appointment.id}").get_data(as_text=True))
    assert "online, from the" in shown and "waiting list</a>: the time was offered on" in shown
    assert db.session.get(WaitingListEntry, entry.id).appointment_id == appointment.id


def test_two_patients_claiming_one_freed_time_at_once_exactly_one_books_it(app, full_morning):
    day, ten = full_morning
    first = wait("Racer One", day)
    second = wait("Racer Two", day)
    cancel_appointment(ten, staff_user=desk_user())
    [worker_offer] = offer_free_times()
    hand_offer = offer_time_by_hand(
        db.session.get(WaitingListEntry, second.id),
        get(Practitioner, slug="colette-assor"),
        at(day, 10),
        staff_user=desk_user(),
    )
    offer_ids = [worker_offer.id, hand_offer.id]
    entries = [first.id, second.id]
    db.session.remove()

    def attempt(number: int) -> str:
        claim_offer(db.session.get(WaitingListOffer, offer_ids[number]))
        return f"booked {number}"

    outcomes = race(app, 2, attempt)

    winners = [outcome for outcome in outcomes if outcome.startswith("booked")]
    assert len(winners) == 1, outcomes
    assert [outcome for outcome in outcomes if not outcome.startswith("booked")] == [
        GONE_MESSAGE
    ], outcomes
    live = db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at == at(day, 10), Appointment.is_live)
    ).all()
    assert len(live) == 1
    winner = int(winners[0][-1])
    won = db.session.get(WaitingListEntry, entries[winner])
    lost = db.session.get(WaitingListEntry, entries[1 - winner])
    assert won.status == WaitingStatus.BOOKED and live[0].patient_id == won.patient_id
    assert lost.status == WaitingStatus.WAITING
    assert db.session.get(WaitingListOffer, offer_ids[1 - winner]).status == OfferStatus.GONE


def test_a_claim_books_the_offered_practitioner_not_a_time_offered_to_someone_else(app, demo):
    # Colette and Sam both free at 10:00 (a day both work). A waits for anyone and is
    # offered Colette's 10:00; B, also for anyone, Sam's 10:00.
    today = datetime.now(LONDON).date()
    day = today + timedelta(days=1)
    while day.weekday() not in (1, 2, 3) or day.weekday() == today.weekday():
        day += timedelta(days=1)
    colette, sam = get(Practitioner, slug="colette-assor"), get(Practitioner, slug="sam-okafor")
    first = add_caller(make_patient("Offered Colette"), wish(day, None), staff_user=desk_user())
    second = add_caller(make_patient("Offered Sam"), wish(day, None), staff_user=desk_user())
    to_first = offer_time_by_hand(first, colette, at(day, 10), staff_user=desk_user())
    to_second = offer_time_by_hand(second, sam, at(day, 10), staff_user=desk_user())

    booked = claim_offer(to_second)
    # Sam's time, as offered; it used to book whoever came first, Colette, whose time
    # was offered to the other patient.
    assert booked.practitioner_id == sam.id
    assert claim_offer(to_first).practitioner_id == colette.id


def test_patients_with_a_course_in_progress_are_offered_first_when_the_clinic_says_so(
    app, full_morning
):
    day, ten = full_morning
    plain = wait("Joined First", day)
    course_patient = make_patient("Course Patient")
    make_course(patient=course_patient, staff_user=desk_user())
    # The demo course is for the full combination: wait for that session.
    combination = Wish(
        session_type=get(SessionType, slug="full-combination"),
        practitioner=None,
        weekdays=str(day.weekday()),
        parts_of_day="m",
        until=day,
    )
    course_entry = add_caller(course_patient, combination, staff_user=desk_user())
    assert [e.id for e in waiting_list.waiting_entries()] == [course_entry.id, plain.id]

    clinic_settings().waiting_list_courses_first = False
    db.session.commit()
    assert [e.id for e in waiting_list.waiting_entries()] == [plain.id, course_entry.id]


def test_a_patient_joins_from_the_times_page_and_leaves_by_their_link(app, client, demo):
    day = coming_weekday()
    times = client.get("/book/massage/times?practitioner=colette-assor").get_data(as_text=True)
    assert "/book/massage/waiting-list?practitioner=colette-assor" in unescape(times)
    form_url = "/book/massage/waiting-list?practitioner=colette-assor"
    page = client.get(form_url).get_data(as_text=True)
    assert "Join the waiting list" in page

    refused = client.post(
        form_url,
        data={
            "csrf_token": csrf_token(page),
            "until": day.isoformat(),
            "name": "Nora Online",
            "email": "nora@example.org",
            "phone": "07700 900111",
        },
    )
    assert refused.status_code == 422
    assert "Choose at least one day of the week." in refused.get_data(as_text=True)
    assert "Nora Online" in refused.get_data(as_text=True)  # what was typed is kept

    joined = client.post(
        form_url,
        data={
            "csrf_token": csrf_token(page),
            "weekdays": ["1", "3"],
            "parts_of_day": ["m", "e"],
            "until": day.isoformat(),
            "name": "Nora Online",
            "email": "nora@example.org",
            "phone": "07700 900111",
            "consent": "y",
        },
    )
    assert joined.status_code == 302
    entry = get(WaitingListEntry, status="waiting")
    assert (entry.weekdays, entry.parts_of_day, entry.until) == ("13", "me", day)
    assert entry.patient.health_consent_at is not None
    assert entry.practitioner.slug == "colette-assor"
    assert "nora" not in joined.headers["Location"]
    place = client.get(joined.headers["Location"]).get_data(as_text=True)
    assert "You are on the waiting list" in place
    assert "Massage with Colette Assor, Tuesdays or Thursdays, mornings or evenings" in place

    email = get(OutboxMessage, kind="waiting_list_joined")
    leave = link_in(email, "/waiting-list/")
    assert waiting_uid_from_token(leave.rsplit("/", 1)[1]) == entry.uid
    client.get(leave)  # opening the link (a mail scanner, say) changes nothing
    assert db.session.get(WaitingListEntry, entry.id).status == WaitingStatus.WAITING
    left = client.post(leave, data={"csrf_token": csrf_token(client.get(leave).get_data(True))})
    assert left.status_code == 302
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, entry.id).status == WaitingStatus.REMOVED
    assert "You are not on the waiting list" in client.get(leave).get_data(as_text=True)


def test_the_claim_link_shows_the_time_and_books_it_only_on_the_button(app, client, full_morning):
    day, ten = full_morning
    entry = wait("Link Claimer", day)
    cancel_appointment(ten, staff_user=desk_user())
    [offer] = offer_free_times()
    link = link_in(offer_emails(entry.patient.email)[0], "/waiting-list/offer/")
    assert offer_uid_from_token(link.rsplit("/", 1)[1]) == offer.uid

    page = client.get(link).get_data(as_text=True)
    assert "Book this time" in page and "10:00" in page
    assert get(WaitingListOffer, id=offer.id).status == OfferStatus.OPEN

    booked = client.post(link, data={"csrf_token": csrf_token(page)})
    assert booked.status_code == 302 and "/book/confirmed/" in booked.headers["Location"]
    db.session.expire_all()
    assert get(WaitingListOffer, id=offer.id).status == OfferStatus.CLAIMED
    assert "You booked this time" in client.get(link).get_data(as_text=True)
    assert client.get("/waiting-list/offer/forged-token").status_code == 404


def test_a_later_claimer_reads_kindly_that_the_time_has_gone_and_still_waits(
    app, client, full_morning
):
    day, ten = full_morning
    first = wait("First Claimer", day)
    later = wait("Later Claimer", day)
    cancel_appointment(ten, staff_user=desk_user())
    [to_first] = offer_free_times()
    to_later = offer_time_by_hand(
        db.session.get(WaitingListEntry, later.id),
        get(Practitioner, slug="colette-assor"),
        at(day, 10),
        staff_user=desk_user(),
    )
    link = link_in(offer_emails(later.patient.email)[0], "/waiting-list/offer/")
    page = client.get(link).get_data(as_text=True)  # open while both offers stand
    claim_offer(to_first)
    refused = client.post(link, data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 409
    assert GONE_MESSAGE in unescape(refused.get_data(as_text=True))
    again = unescape(client.get(link).get_data(as_text=True))
    assert "someone else booked this time first. You are still on our waiting list" in again
    assert "Book this time" not in again
    db.session.expire_all()
    assert get(WaitingListEntry, id=later.id).status == WaitingStatus.WAITING
    assert get(WaitingListOffer, id=to_later.id).status == OfferStatus.GONE
    assert get(WaitingListEntry, id=first.id).status == WaitingStatus.BOOKED


def test_the_desk_sees_the_list_offers_a_time_by_hand_and_removes_an_entry(app, full_morning, desk):
    day, ten = full_morning
    entry = wait("Desk Waiting", day, phone="07700 900222")
    no_email = wait("Phone Only", day, email="")
    page = desk.get("/diary/waiting-list").get_data(as_text=True)
    assert "Desk Waiting" in page and "Massage with Colette Assor" in page
    assert "no email: phone them" in page

    cancel_appointment(ten, staff_user=desk_user())
    offer_page = desk.get(f"/diary/waiting-list/{entry.id}/offer").get_data(as_text=True)
    assert re.search(
        rf"{day.day} \w+ \d{{4}} at 10:00 \((GMT|BST)\) with Colette Assor", offer_page
    )
    start = re.search(r'name="start" value="([^"]+)"', offer_page).group(1)
    offered = desk.post(
        f"/diary/waiting-list/{entry.id}/offer",
        data={
            "csrf_token": csrf_token(offer_page),
            "start": start,
            "practitioner_id": str(get(Practitioner, slug="colette-assor").id),
        },
    )
    assert offered.status_code == 302
    flashed = desk.get(offered.headers["Location"]).get_data(as_text=True)
    # Queued, not sent yet: the words say so ("offered ... by email" read as sent).
    assert "is queued for sending. The offer is open until" in unescape(flashed)
    assert [o.starts_at for o in offers_of(entry.id)] == [at(day, 10)]
    assert len(offer_emails(entry.patient.email)) == 1
    assert "offered, open until" in desk.get("/diary/waiting-list").get_data(as_text=True)

    refused = desk.post(
        f"/diary/waiting-list/{no_email.id}/offer",
        data={
            "csrf_token": csrf_token(offer_page),
            "start": start,
            "practitioner_id": str(get(Practitioner, slug="colette-assor").id),
        },
    )
    assert refused.status_code == 409
    assert "has no email address on file: phone them" in refused.get_data(as_text=True)

    removed = desk.post(
        f"/diary/waiting-list/{entry.id}/remove", data={"csrf_token": csrf_token(page)}
    )
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, entry.id).status == WaitingStatus.REMOVED
    assert offers_of(entry.id)[0].status == OfferStatus.WITHDRAWN
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"waiting_list.added", "waiting_list.offered", "waiting_list.removed"} <= actions


def test_reception_adds_a_caller_from_the_patients_page(app, demo, desk):
    patient = make_patient("Caller On File")
    page = desk.get(f"/diary/patients/{patient.id}").get_data(as_text=True)
    assert f"/diary/patients/{patient.id}/waiting-list" in page
    form = desk.get(f"/diary/patients/{patient.id}/waiting-list").get_data(as_text=True)
    day = coming_weekday()
    added = desk.post(
        f"/diary/patients/{patient.id}/waiting-list",
        data={
            "csrf_token": csrf_token(form),
            "session_type_id": str(get(SessionType, slug="massage").id),
            "practitioner_id": "0",
            "weekdays": ["0", "1", "2", "3", "4"],
            "parts_of_day": ["a"],
            "until": day.isoformat(),
        },
    )
    assert added.status_code == 302
    told = unescape(desk.get(added.headers["Location"]).get_data(as_text=True))
    assert "Caller On File is on the waiting list. An email saying so to" in told
    assert "is queued for sending" in told
    entry = get(WaitingListEntry, patient_id=patient.id)
    assert entry.practitioner_id is None and entry.source == "staff"
    listed = desk.get("/diary/waiting-list").get_data(as_text=True)
    assert "Massage with any practitioner, Mondays, Tuesdays, Wednesdays, Thursdays or" in listed
    # Their own page says so too, for the next time they ring.
    own = desk.get(f"/diary/patients/{patient.id}").get_data(as_text=True)
    assert f'id="waiting-{entry.id}"' in own
    assert "waiting list</a> since" in own and "Massage with any practitioner" in own


def test_a_caller_without_an_email_is_told_to_be_phoned_not_emailed(app, demo, desk):
    patient = make_patient("Phone Only Caller", email="", phone="07700 900333")
    form = desk.get(f"/diary/patients/{patient.id}/waiting-list").get_data(as_text=True)
    added = desk.post(
        f"/diary/patients/{patient.id}/waiting-list",
        data={
            "csrf_token": csrf_token(form),
            "session_type_id": str(get(SessionType, slug="massage").id),
            "practitioner_id": "0",
            "weekdays": ["0", "1", "2", "3", "4"],
            "parts_of_day": ["a"],
            "until": coming_weekday().isoformat(),
        },
    )
    told = unescape(desk.get(added.headers["Location"]).get_data(as_text=True))
    assert "no time can be offered to them by email: when one comes free, phone them" in told
    assert "queued" not in told.split("Phone Only Caller is on the waiting list.")[1][:200]


def test_a_receptionist_cannot_wish_for_a_day_past_the_booking_horizon(app, demo):
    far = datetime.now(LONDON).date() + timedelta(days=400)
    with pytest.raises(waiting_list.DomainError) as refusal:
        add_caller(make_patient(), wish(far), staff_user=desk_user())
    assert "We take bookings up to 90 days ahead" in refusal.value.message


def test_an_erased_patient_leaves_the_waiting_list(app, full_morning):
    from booking.clinic.patients import erase_patient

    day, ten = full_morning
    entry = wait("Erased Waiter", day)
    erase_patient(entry.patient, typed_name="Erased Waiter", staff_user=desk_user())
    assert db.session.get(WaitingListEntry, entry.id).status == WaitingStatus.REMOVED
    cancel_appointment(ten, staff_user=desk_user())
    assert offer_free_times() == []
