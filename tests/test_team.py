"""Administrators add and change practitioners and staff accounts from the diary."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.slugs import slug_from_name
from booking.clinic.team import change_staff_account, unique_slug
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
)
from tests.fixtures_staff import STAFF_PASSWORD
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
PASSWORD_SHOWN = re.compile(r'<code class="new-password" id="new-password">([^<]+)</code>')


def get(model, **filters):
    return db.session.scalar(sa.select(model).filter_by(**filters))


def refreshed(instance):
    db.session.expire_all()
    return db.session.get(type(instance), instance.id)


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def post_form(client, url, data, page_url=None):
    """Post `data` to `url` with the CSRF token of the page the form is on."""
    page = client.get(page_url or url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def practitioner_form(practitioner: Practitioner, **changes) -> dict:
    """The edit form as the page fills it in, with `changes` made."""
    data = {
        "name": practitioner.name,
        "title": practitioner.title,
        "bio": practitioner.bio,
        "email": practitioner.email or "",
        "position": practitioner.position,
        "session_type_ids": [t.id for t in practitioner.session_types],
        "active": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def book_in_the_future(practitioner: Practitioner, *, days: int, status="booked") -> Appointment:
    session_type = get(SessionType, slug="massage")
    starts_at = (utcnow() + timedelta(days=days)).replace(second=0, microsecond=0)
    appointment = Appointment(
        practitioner=practitioner,
        patient=Patient(name="Dana Booked", phone="07700 900123"),
        session_type=session_type,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=session_type.duration_minutes),
        status=status,
        source="staff",
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def shown_password(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "no-store"
    match = PASSWORD_SHOWN.search(response.get_data(as_text=True))
    assert match, "no password on the page"
    return match.group(1)


# Practitioners ------------------------------------------------------------------------------


def test_a_new_practitioner_offering_massage_is_offered_to_patients_booking_massage(
    admin_client, demo, client
):
    massage = get(SessionType, slug="massage")
    response = post_form(
        admin_client,
        "/diary/practitioners/new",
        {
            "name": "  Zoë  O'Brien ",
            "title": "Massage therapist",
            "bio": "Zoë treats back and hip pain with massage.",
            "email": "Zoe@Clinic.example",
            "position": "2",
            "session_type_ids": [massage.id],
            "active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    zoe = get(Practitioner, slug="zoe-obrien")
    assert response.location == f"/diary/practitioners/{zoe.id}"
    assert zoe.name == "Zoë O'Brien"
    assert zoe.email == "zoe@clinic.example"
    assert [t.slug for t in zoe.session_types] == ["massage"]
    assert len(zoe.feed_token) >= 32

    choose = client.get("/book/massage").get_data(as_text=True)
    assert "Zoë O&#39;Brien" in choose
    assert "/book/massage/times?practitioner=zoe-obrien" in choose
    assert client.get("/book/massage/times?practitioner=zoe-obrien").status_code == 200
    assert "Zoë" not in client.get("/book/acupuncture").get_data(as_text=True)

    page = admin_client.get(f"/diary/practitioners/{zoe.id}").get_data(as_text=True)
    assert 'href="/diary/working-hours/zoe-obrien"' in page
    assert "Zoë O&#39;Brien" in admin_client.get("/diary/practitioners").get_data(as_text=True)

    added = get(AuditEvent, action="practitioner.added")
    assert added.subject_id == zoe.id
    assert added.staff_user_id == admin_client.user.id
    assert added.details["session_types"] == ["massage"]


def test_a_second_practitioner_of_the_same_name_gets_the_next_free_slug(admin_client, demo):
    for _ in range(2):
        response = post_form(
            admin_client,
            "/diary/practitioners/new",
            {"name": "Sam Okafor", "position": "3", "active": "y"},
        )
        assert response.status_code == 302
    slugs = set(db.session.scalars(sa.select(Practitioner.slug)))
    assert {"sam-okafor", "sam-okafor-2", "sam-okafor-3"} <= slugs
    tokens = list(db.session.scalars(sa.select(Practitioner.feed_token)))
    assert len(set(tokens)) == len(tokens)
    assert slug_from_name("***") == ""
    assert unique_slug("***") == "practitioner"


def test_a_practitioner_form_with_a_missing_name_is_shown_again_with_the_answers_kept(
    admin_client, demo
):
    response = post_form(
        admin_client,
        "/diary/practitioners/new",
        {"name": "", "title": "Kept title", "position": "1", "email": "not an email"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter the practitioner&#39;s name." in page
    assert 'value="Kept title"' in page
    assert actions() == ["staff.added"]  # the demo's receptionist; nothing since


def test_a_practitioner_with_appointments_ahead_cannot_be_marked_as_gone_until_they_are_moved(
    admin_client, demo
):
    sam = get(Practitioner, slug="sam-okafor")
    url = f"/diary/practitioners/{sam.id}"
    book_in_the_future(sam, days=-3, status="attended")  # the past does not count
    ahead = [book_in_the_future(sam, days=days) for days in (5, 12)]
    book_in_the_future(sam, days=8, status="cancelled")  # nor do cancelled ones

    response = post_form(
        admin_client, url, practitioner_form(sam, active=None, title="Retired therapist")
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Sam Okafor still has 2 appointments booked from now on." in page
    first_day = ahead[0].starts_at.astimezone(LONDON).date().isoformat()
    week_link = re.search(r'href="(/diary/week/sam-okafor/[0-9-]+)"', page)
    assert week_link, page
    assert week_link.group(1).endswith(first_day)
    assert admin_client.get(week_link.group(1), follow_redirects=True).status_code == 200
    assert 'value="Retired therapist"' in page  # the form keeps what was typed
    assert refreshed(sam).active is True
    assert refreshed(sam).title != "Retired therapist"
    assert "practitioner.changed" not in actions()

    for appointment in ahead:
        appointment.status = AppointmentStatus.CANCELLED.value
    db.session.commit()
    response = post_form(admin_client, url, practitioner_form(sam, active=None))
    assert response.status_code == 302
    assert refreshed(sam).active is False
    changed = get(AuditEvent, action="practitioner.changed")
    assert changed.subject_id == sam.id
    assert changed.details["changes"] == {"active": [True, False]}
    # Colette is now the only one offering massage: the booking flow goes straight to her.
    assert "practitioner=colette-assor" in admin_client.get("/book/massage").location


def test_changing_a_practitioners_sessions_keeps_their_slug_and_is_audited(admin_client, demo):
    sam = get(Practitioner, slug="sam-okafor")
    stretching = get(SessionType, slug="stretching")
    response = post_form(
        admin_client,
        f"/diary/practitioners/{sam.id}",
        practitioner_form(sam, name="Samuel Okafor", session_type_ids=[stretching.id]),
    )
    assert response.status_code == 302
    sam = refreshed(sam)
    assert sam.slug == "sam-okafor"
    assert sam.name == "Samuel Okafor"
    assert [t.slug for t in sam.session_types] == ["stretching"]
    changes = get(AuditEvent, action="practitioner.changed").details["changes"]
    assert changes["name"] == ["Sam Okafor", "Samuel Okafor"]
    assert changes["session_types"][1] == ["stretching"]


# Staff accounts -----------------------------------------------------------------------------


def test_an_administrator_creates_an_account_whose_shown_password_signs_in(
    admin_client, app, sign_in
):
    response = post_form(
        admin_client,
        "/diary/staff/new",
        {
            "name": "Robin Desk",
            "email": " Robin.Desk@Clinic.example ",
            "role": "receptionist",
            "practitioner_id": "0",
        },
    )
    password = shown_password(response)
    assert len(password) >= 10
    assert "only time it is shown" in response.get_data(as_text=True)
    robin = get(StaffUser, email="robin.desk@clinic.example")
    assert robin.role == "receptionist"
    assert robin.practitioner_id is None

    robins_client = app.test_client()
    assert sign_in(robins_client, robin, password=password).status_code == 302
    assert robins_client.get("/diary/").status_code == 200

    added = get(AuditEvent, action="staff.added")
    assert added.subject_id == robin.id
    assert added.details == {
        "email": "robin.desk@clinic.example",
        "role": "receptionist",
        "practitioner": None,
    }
    assert password not in str(added.details)

    listing = admin_client.get("/diary/staff").get_data(as_text=True)
    assert "robin.desk@clinic.example" in listing
    assert "Receptionist" in listing

    again = post_form(
        admin_client,
        "/diary/staff/new",
        {"name": "Robin Twice", "email": "ROBIN.desk@clinic.EXAMPLE", "role": "admin"},
    )
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert "There is already a staff account for robin.desk@clinic.example." in page
    assert 'value="Robin Twice"' in page


def test_a_practitioner_account_needs_a_practitioner_without_an_account(admin_client, demo):
    colette = get(Practitioner, slug="colette-assor")
    sam = get(Practitioner, slug="sam-okafor")
    unlinked = post_form(
        admin_client,
        "/diary/staff/new",
        {"name": "Colette", "email": "colette@clinic.example", "role": "practitioner"},
    )
    assert unlinked.status_code == 422
    assert "must be linked to a practitioner" in unlinked.get_data(as_text=True)

    linked = post_form(
        admin_client,
        "/diary/staff/new",
        {
            "name": "Colette",
            "email": "colette@clinic.example",
            "role": "practitioner",
            "practitioner_id": str(colette.id),
        },
    )
    shown_password(linked)
    assert get(StaffUser, email="colette@clinic.example").practitioner_id == colette.id

    page = admin_client.get("/diary/staff/new").get_data(as_text=True)
    assert f'value="{sam.id}"' in page
    assert f'value="{colette.id}"' not in page
    taken = post_form(
        admin_client,
        "/diary/staff/new",
        {
            "name": "Impostor",
            "email": "impostor@clinic.example",
            "role": "practitioner",
            "practitioner_id": str(colette.id),
        },
    )
    assert taken.status_code == 422
    assert get(StaffUser, email="impostor@clinic.example") is None


def test_resetting_a_password_ends_the_old_one_and_the_accounts_sessions(
    admin_client, app, make_staff, sign_in
):
    robin = make_staff("receptionist")
    robins_client = app.test_client()
    assert sign_in(robins_client, robin).status_code == 302
    url = f"/diary/staff/{robin.id}"

    response = post_form(admin_client, f"{url}/reset-password", {}, page_url=url)
    password = shown_password(response)
    assert password != STAFF_PASSWORD
    assert refreshed(robin).session_version == 2

    assert robins_client.get("/diary/").status_code == 302  # signed out
    assert sign_in(app.test_client(), robin).status_code == 401  # the old password
    assert sign_in(app.test_client(), robin, password=password).status_code == 302
    reset = get(AuditEvent, action="staff.password_reset")
    assert (reset.subject_id, reset.staff_user_id) == (robin.id, admin_client.user.id)


def test_an_administrator_changes_and_deactivates_another_account(
    admin_client, app, make_staff, sign_in
):
    robin = make_staff("receptionist")
    old_name = robin.name
    robins_client = app.test_client()
    assert sign_in(robins_client, robin).status_code == 302
    response = post_form(
        admin_client,
        f"/diary/staff/{robin.id}",
        {"name": "Robin Front", "role": "admin", "practitioner_id": "0"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    robin = refreshed(robin)
    assert (robin.name, robin.role, robin.active) == ("Robin Front", "admin", False)
    assert robins_client.get("/diary/").status_code == 302  # switched off at once
    changes = get(AuditEvent, action="staff.changed").details["changes"]
    assert changes == {
        "name": [old_name, "Robin Front"],
        "role": ["receptionist", "admin"],
        "active": [True, False],
    }


def test_an_administrator_cannot_demote_or_deactivate_their_own_account(admin_client):
    me = admin_client.user
    url = f"/diary/staff/{me.id}"
    for change in ({"role": "receptionist", "active": "y"}, {"role": "admin"}):
        response = post_form(
            admin_client,
            url,
            {"name": "New Name", "practitioner_id": "0", **change},
        )
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "You cannot remove your own administrator role" in page
        assert 'value="New Name"' in page
    me = refreshed(me)
    assert (me.role, me.active) == ("admin", True)
    assert admin_client.get("/diary/staff").status_code == 200
    page = admin_client.get(url).get_data(as_text=True)
    assert "/reset-password" not in page  # their own password goes through Change password


def test_the_last_active_administrator_cannot_be_demoted_or_deactivated(admin_client, make_staff):
    me = admin_client.user
    other = make_staff("admin")
    response = post_form(
        admin_client,
        f"/diary/staff/{other.id}",
        {"name": other.name, "role": "receptionist", "practitioner_id": "0", "active": "y"},
    )
    assert response.status_code == 302
    assert refreshed(other).role == "receptionist"

    # Someone without a signed-in admin behind them (a script, say) still meets the rule.
    for role, active in (("receptionist", True), ("admin", False)):
        with pytest.raises(DomainError, match="only active administrator"):
            change_staff_account(
                refreshed(me),
                name=me.name,
                role=role,
                practitioner=None,
                active=active,
                staff_user=None,
            )
    # An administrator whose own account was switched off meanwhile cannot remove the last.
    me = refreshed(me)
    other.role, other.active = "admin", True
    db.session.commit()
    me.active = False
    db.session.commit()
    with pytest.raises(DomainError, match="only active administrator"):
        change_staff_account(
            refreshed(other),
            name=other.name,
            role="receptionist",
            practitioner=None,
            active=True,
            staff_user=refreshed(me),
        )
    assert refreshed(other).role == "admin"


# Who may ------------------------------------------------------------------------------------

TEAM_PAGES = [
    "/diary/practitioners",
    "/diary/practitioners/new",
    "/diary/practitioners/1",
    "/diary/staff",
    "/diary/staff/new",
    "/diary/staff/1",
]


def test_receptionists_are_refused_and_visitors_sent_to_sign_in(receptionist_client, client, demo):
    for url in TEAM_PAGES:
        assert receptionist_client.get(url).status_code == 403, url
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/staff/sign-in"), url
    token = csrf_token(receptionist_client.get("/diary/").get_data(as_text=True))
    for url in ("/diary/practitioners/new", "/diary/staff/new", "/diary/staff/1/reset-password"):
        response = receptionist_client.post(url, data={"csrf_token": token, "name": "X"})
        assert response.status_code == 403, url
    page = receptionist_client.get("/diary/").get_data(as_text=True)
    assert 'href="/diary/staff"' not in page
    assert 'href="/diary/practitioners"' not in page
    assert actions() == ["staff.added"]  # the demo's receptionist; nothing since


def test_administrators_find_the_team_pages_in_the_staff_header(admin_client):
    page = admin_client.get("/diary/").get_data(as_text=True)
    assert 'href="/diary/practitioners"' in page
    assert 'href="/diary/staff"' in page
