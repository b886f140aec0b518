"""Practitioners' private calendar feeds: the link, what it shows, caching and the staff page."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from werkzeug.http import http_date

from booking.clinic.appointments import cancel_appointment
from booking.clinic.feeds import build_feed, feed_version
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    AppointmentStatus,
    FeedRevision,
    HoldReason,
    Patient,
    Practitioner,
    TimeOff,
)
from tests.forms import csrf_token
from tests.ical_parser import parse_calendar, physical_lines_longer_than, unfold
from tests.test_calendar import add_appointment, practitioner, session_type


def feed_path(p: Practitioner) -> str:
    return f"/feeds/{p.feed_token}.ics"


def events(ics: bytes):
    return parse_calendar(ics).components_named("VEVENT")


def summaries(ics: bytes) -> list[str]:
    return [e.text("SUMMARY") for e in events(ics)]


def settle(practitioner: Practitioner, seconds: float = 60) -> None:
    """Make the feed's last change `seconds` old, as if the app asked for it a while later."""
    db.session.execute(
        sa.update(FeedRevision)
        .where(FeedRevision.practitioner_id == practitioner.id)
        .values(changed_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


def soon(days: float = 3, hour: int = 10) -> datetime:
    day = (utcnow() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day


@pytest.fixture
def colette(demo):
    return practitioner("colette-assor")


@pytest.fixture
def front_desk(make_staff):
    user = make_staff("receptionist")
    return user


class CountingStatements:
    """Every SQL statement the application sends while the block runs."""

    def __enter__(self):
        self.statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def _record(self, _conn, _cursor, statement, *_args):
        self.statements.append(statement)

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self._record)


def test_the_feed_is_a_calendar_with_refresh_hints(client, colette):
    add_appointment(soon(), practitioner=colette)
    settle(colette)
    response = client.get(feed_path(colette))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    ics = response.get_data()
    cal = parse_calendar(ics)
    assert cal.text("X-WR-CALNAME") == "Colette Assor — North West London Physiotherapy Centre"
    assert cal.value("X-WR-TIMEZONE") == "Europe/London"
    assert cal.get("REFRESH-INTERVAL").param("VALUE") == "DURATION"
    assert cal.value("REFRESH-INTERVAL") == "PT15M"
    assert cal.value("X-PUBLISHED-TTL") == "PT15M"
    assert [z.value("TZID") for z in cal.components_named("VTIMEZONE")] == ["Europe/London"]
    assert physical_lines_longer_than(ics) == []
    assert b"\n" not in ics.replace(b"\r\n", b"")


def test_an_unknown_token_is_a_plain_404(client, colette):
    response = client.get("/feeds/not-a-real-token-at-all.ics")
    assert response.status_code == 404
    body = response.get_data(as_text=True).lower()
    assert "token" not in body and "feed" not in body and "calendar" not in body
    assert client.get(f"/feeds/{colette.feed_token[:-1]}.ics").status_code == 404


def test_an_inactive_practitioners_feed_stops(client, colette):
    path = feed_path(colette)
    colette.active = False
    db.session.commit()
    assert client.get(path).status_code == 404


def test_an_unchanged_feed_answers_304_to_its_etag_and_to_its_date(client, colette):
    add_appointment(soon(), practitioner=colette)
    settle(colette)
    first = client.get(feed_path(colette))
    etag = first.headers["ETag"]
    by_tag = client.get(feed_path(colette), headers={"If-None-Match": etag})
    assert by_tag.status_code == 304
    assert by_tag.get_data() == b""
    assert by_tag.headers["ETag"] == etag
    assert by_tag.headers["Cache-Control"] == "private, max-age=300"
    by_date = client.get(
        feed_path(colette), headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert by_date.status_code == 304
    assert by_date.get_data() == b""
    # If-None-Match wins: a stale tag gets the feed even with a current date.
    stale = client.get(
        feed_path(colette),
        headers={"If-None-Match": '"old"', "If-Modified-Since": first.headers["Last-Modified"]},
    )
    assert stale.status_code == 200


def test_a_change_under_a_second_old_sends_no_date_to_revalidate_by(client, colette):
    # HTTP dates have whole seconds: a second change in the same second would carry the
    # same date, and a client holding the first would wrongly hear "not modified".
    add_appointment(soon(), practitioner=colette)
    # The rule, at instants chosen exactly: under a second old, the date is no validator.
    changed_at = db.session.get(FeedRevision, colette.id).changed_at
    for age, firm in ((0.2, False), (0.999, False), (1.0, True)):
        version = feed_version(colette, now=changed_at + timedelta(seconds=age))
        assert version.last_modified_is_firm is firm, age
    # Through HTTP the clock runs on between the change and the request, and a slow run
    # could pass the second: the change is stamped a moment ahead of the request instead
    # (as it would be by a server whose clock runs a little ahead of this one).
    settle(colette, seconds=-5)
    fresh = client.get(feed_path(colette))
    assert fresh.status_code == 200
    assert "Last-Modified" not in fresh.headers
    assert fresh.headers["ETag"]
    just_now = http_date(utcnow())
    assert (
        client.get(feed_path(colette), headers={"If-Modified-Since": just_now}).status_code == 200
    )
    # A second later the date is firm, and serves as a validator again.
    settle(colette, seconds=1.5)
    firm = client.get(feed_path(colette))
    assert "Last-Modified" in firm.headers
    by_date = client.get(
        feed_path(colette), headers={"If-Modified-Since": firm.headers["Last-Modified"]}
    )
    assert by_date.status_code == 304


def test_the_304_is_worked_out_without_building_the_feed(client, colette):
    for day in range(1, 40):
        add_appointment(soon(days=day), practitioner=colette)
    etag = client.get(feed_path(colette)).headers["ETag"]
    db.session.remove()
    with CountingStatements() as counted:
        response = client.get(feed_path(colette), headers={"If-None-Match": etag})
    assert response.status_code == 304
    # The token's practitioner, the clinic settings and the feed's revision row: the
    # appointments table is not touched, however many there are.
    queries = [s for s in counted.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) <= 3, queries
    assert not any("appointments" in s for s in counted.statements), counted.statements


def test_a_change_gives_a_new_etag_sequence_and_last_modified(client, colette, front_desk):
    appointment = add_appointment(soon(days=5), practitioner=colette)
    first = client.get(feed_path(colette))
    [before] = events(first.get_data())
    # A move as the diary makes it: new times, one step up in sequence.
    appointment.starts_at = soon(days=6, hour=14)
    appointment.ends_at = appointment.starts_at + timedelta(minutes=90)
    appointment.sequence += 1
    db.session.commit()
    second = client.get(feed_path(colette), headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    [after] = events(second.get_data())
    assert after.value("UID") == before.value("UID")
    assert int(after.value("SEQUENCE")) == int(before.value("SEQUENCE")) + 1
    assert after.instant("LAST-MODIFIED") >= before.instant("LAST-MODIFIED")
    assert after.instant("DTSTART") == soon(days=6, hour=14)


def test_a_privacy_change_gives_a_new_etag(client, colette, make_staff, sign_in):
    add_appointment(soon(), practitioner=colette)
    first = client.get(feed_path(colette))
    staff = make_staff("practitioner", practitioner=colette)
    staff_client = client.application.test_client()
    sign_in(staff_client, staff)
    page = staff_client.get("/diary/feeds")
    staff_client.post(
        "/diary/feeds/colette-assor/privacy",
        data={"privacy": "hidden", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    second = client.get(feed_path(colette), headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert summaries(second.get_data()) == ["Appointment"]


@pytest.mark.parametrize(
    ("privacy", "expected"),
    [
        ("full_name", "Ada Lovelace — Full combination session"),
        ("initials", "AL — Full combination session"),
        ("hidden", "Appointment"),
    ],
)
def test_each_privacy_level_names_the_patient_as_chosen(client, colette, privacy, expected):
    add_appointment(soon(), practitioner=colette)
    colette.feed_privacy = privacy
    db.session.commit()
    ics = client.get(feed_path(colette)).get_data()
    assert summaries(ics) == [expected]
    if privacy != "full_name":
        assert "Lovelace" not in "".join(unfold(ics))


def test_initials_are_the_default(colette):
    assert colette.feed_privacy == "initials"


def test_no_notes_or_contact_details_reach_the_feed(client, colette, front_desk):
    patient = Patient(name="Ada Lovelace", email="ada.private@example.org", phone="07700 900555")
    kept = add_appointment(
        soon(days=2),
        practitioner=colette,
        patient=patient,
        patient_note="Numbness in the left foot",
        staff_note="Discussed referral letter",
    )
    cancelled = add_appointment(soon(days=4), practitioner=colette, patient=patient)
    cancel_appointment(cancelled, reason="Hospital appointment clash", staff_user=front_desk)
    colette.feed_privacy = "full_name"
    db.session.commit()
    text = "\n".join(unfold(client.get(feed_path(colette)).get_data()))
    for secret in (
        "Numbness",
        "referral",
        "ada.private",
        "900555",
        "Hospital appointment clash",
        kept.patient_note,
    ):
        assert secret not in text


def test_the_feed_covers_thirty_days_back_to_a_year_ahead(app, colette):
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    inside = [now - timedelta(days=29), now + timedelta(days=2), now + timedelta(days=364)]
    outside = [now - timedelta(days=32), now + timedelta(days=367)]
    made = {at: add_appointment(at, practitioner=colette) for at in inside + outside}
    uids = {e.value("UID").split("@")[0] for e in events(build_feed(colette, now=now))}
    assert uids == {made[at].uid for at in inside}


def test_a_cancelled_appointment_stays_thirty_days_then_goes(app, colette, front_desk):
    cancelled_on = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    appointment = add_appointment(datetime(2026, 8, 20, 9, 0, tzinfo=UTC), practitioner=colette)
    cancel_appointment(appointment, staff_user=front_desk, now=cancelled_on)
    assert appointment.status == AppointmentStatus.CANCELLED

    [kept] = events(build_feed(colette, now=cancelled_on + timedelta(days=29)))
    assert kept.value("STATUS") == "CANCELLED"
    assert kept.value("SEQUENCE") == "1"
    assert kept.text("SUMMARY").startswith("Cancelled: ")
    assert events(build_feed(colette, now=cancelled_on + timedelta(days=31))) == []


def test_each_status_has_its_own_status_and_transparency_in_one_feed(app, colette):
    """Booked, held and cancelled appointments side by side, each kind more than once and
    in turn: the feed writes STATUS and TRANSP once per kind, and none takes another's."""
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    kinds = ["booked", "cancelled", "held", "booked", "held", "cancelled", "booked"]
    made = {}
    for n, kind in enumerate(kinds):
        fields: dict[str, object] = {}
        if kind == "cancelled":
            fields = {"status": AppointmentStatus.CANCELLED.value, "cancelled_at": now}
        elif kind == "held":
            fields = {
                "status": AppointmentStatus.HELD.value,
                "held_until": now + timedelta(hours=1),
                "hold_reason": HoldReason.DEPOSIT.value,
            }
        at = now + timedelta(days=2 + n)
        made[add_appointment(at, practitioner=colette, **fields).uid] = kind
    expected = {
        "booked": ("CONFIRMED", "OPAQUE"),
        "held": ("TENTATIVE", "OPAQUE"),
        "cancelled": ("CANCELLED", "TRANSPARENT"),
    }
    written = {
        e.value("UID").split("@")[0]: (e.value("STATUS"), e.value("TRANSP"))
        for e in events(build_feed(colette, now=now))
    }
    assert written == {uid: expected[kind] for uid, kind in made.items()}


def test_blocked_time_shows_as_busy_without_its_reason(client, colette):
    start = soon(days=7, hour=9)
    db.session.add(
        TimeOff(
            practitioner=colette,
            starts_at=start,
            ends_at=start + timedelta(hours=8),
            reason="Dentist",
        )
    )
    db.session.commit()
    ics = client.get(feed_path(colette)).get_data()
    [block] = events(ics)
    assert block.text("SUMMARY") == "Unavailable"
    assert block.value("TRANSP") == "OPAQUE"
    assert block.instant("DTSTART") == start
    assert b"Dentist" not in ics


def test_only_the_practitioners_own_events_are_in_their_feed(client, colette):
    sam = practitioner("sam-okafor")
    add_appointment(soon(), practitioner=colette)
    add_appointment(soon(days=4), practitioner=sam, session_type=None)
    assert len(events(client.get(feed_path(colette)).get_data())) == 1
    assert len(events(client.get(feed_path(sam)).get_data())) == 1


# The staff page.


def test_front_desk_sees_every_practitioners_links(receptionist_client, demo):
    page = receptionist_client.get("/diary/feeds")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for slug in ("colette-assor", "sam-okafor"):
        token = practitioner(slug).feed_token
        assert f"http://127.0.0.1:5000/feeds/{token}.ics" in html
        assert f"webcal://127.0.0.1:5000/feeds/{token}.ics" in html
    assert 'data-copy-target="feed-url-colette-assor"' in html
    assert "/static/js/copy.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline scripts"
    assert "Google Calendar" in html and "Apple" in html and "Outlook" in html


def test_a_practitioner_sees_only_their_own_feed(practitioner_client):
    html = practitioner_client.get("/diary/feeds").get_data(as_text=True)
    own = practitioner_client.user.practitioner
    other = (
        practitioner("sam-okafor") if own.slug != "sam-okafor" else practitioner("colette-assor")
    )
    assert own.feed_token in html
    assert other.feed_token not in html
    token = csrf_token(html)
    assert (
        practitioner_client.post(
            f"/diary/feeds/{other.slug}/regenerate", data={"csrf_token": token}
        ).status_code
        == 403
    )
    response = practitioner_client.get(
        f"/diary/feeds/{other.slug}/download?from=2026-12-01&to=2026-12-07"
    )
    assert response.status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, demo):
    response = client.get("/diary/feeds")
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


def test_regenerating_the_token_kills_the_old_link_at_once(receptionist_client, colette):
    old_path = feed_path(colette)
    assert receptionist_client.get(old_path).status_code == 200
    page = receptionist_client.get("/diary/feeds").get_data(as_text=True)
    response = receptionist_client.post(
        "/diary/feeds/colette-assor/regenerate", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    fresh = practitioner("colette-assor")
    assert feed_path(fresh) != old_path
    assert receptionist_client.get(old_path).status_code == 404
    assert receptionist_client.get(feed_path(fresh)).status_code == 200
    assert fresh.feed_token in receptionist_client.get("/diary/feeds").get_data(as_text=True)


def test_regenerating_needs_the_forms_token(receptionist_client, colette):
    old_token = colette.feed_token
    response = receptionist_client.post("/diary/feeds/colette-assor/regenerate")
    assert response.status_code == 400
    db.session.expire_all()
    assert practitioner("colette-assor").feed_token == old_token


def test_the_practitioner_or_an_admin_may_change_privacy_but_not_reception(
    app, colette, make_staff, sign_in
):
    def post_privacy(user, value):
        client = app.test_client()
        sign_in(client, user)
        page = client.get("/diary/feeds").get_data(as_text=True)
        return client.post(
            "/diary/feeds/colette-assor/privacy",
            data={"privacy": value, "csrf_token": csrf_token(page)},
        )

    assert post_privacy(make_staff("receptionist"), "full_name").status_code == 403
    db.session.expire_all()
    assert practitioner("colette-assor").feed_privacy == "initials"

    assert (
        post_privacy(make_staff("practitioner", practitioner=colette), "hidden").status_code == 302
    )
    db.session.expire_all()
    assert practitioner("colette-assor").feed_privacy == "hidden"

    assert post_privacy(make_staff("admin"), "full_name").status_code == 302
    db.session.expire_all()
    assert practitioner("colette-assor").feed_privacy == "full_name"

    assert post_privacy(make_staff("admin"), "everything").status_code == 302
    db.session.expire_all()
    assert practitioner("colette-assor").feed_privacy == "full_name"


def test_a_date_range_downloads_as_an_ics_file_by_local_dates(receptionist_client, colette):
    short = session_type("stretching")
    first = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    last = datetime(2026, 7, 12, 22, 0, tzinfo=UTC)  # 23:00 BST on 12 July
    for at in (
        first,
        last,
        datetime(2026, 7, 12, 23, 15, tzinfo=UTC),  # 00:15 BST on 13 July: outside
        datetime(2026, 7, 5, 22, 45, tzinfo=UTC),  # 23:45 BST on 5 July: outside
    ):
        add_appointment(at, practitioner=colette, session_type=short)
    response = receptionist_client.get(
        "/diary/feeds/colette-assor/download?from=2026-07-06&to=2026-07-12"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    starts = [e.instant("DTSTART") for e in events(response.get_data())]
    assert starts == [first, last]


def test_a_backwards_date_range_is_refused_politely(receptionist_client, colette):
    response = receptionist_client.get(
        "/diary/feeds/colette-assor/download?from=2026-12-13&to=2026-12-07",
        follow_redirects=True,
    )
    assert "on or after" in response.get_data(as_text=True)
    bad = receptionist_client.get(
        "/diary/feeds/colette-assor/download?from=soon&to=later", follow_redirects=True
    )
    assert "Enter two dates" in bad.get_data(as_text=True)


def test_feed_tokens_are_unique_in_the_database(app, colette):
    sam = practitioner("sam-okafor")
    sam.feed_token = colette.feed_token
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_range_download_is_a_plain_export_not_a_second_subscription(receptionist_client, colette):
    appointment = add_appointment(datetime(2026, 7, 7, 9, 0, tzinfo=UTC), practitioner=colette)
    response = receptionist_client.get(
        "/diary/feeds/colette-assor/download?from=2026-07-06&to=2026-07-12"
    )
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="colette-assor-20260706-20260712.ics"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers and "Last-Modified" not in response.headers
    exported = parse_calendar(response.get_data())
    assert exported.value("METHOD") == "PUBLISH"
    for name in ("X-WR-CALNAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        assert exported.get(name) is None, name  # these make a file a subscription
    [event] = exported.components_named("VEVENT")
    subscribed = parse_calendar(build_feed(colette, now=datetime(2026, 7, 1, tzinfo=UTC)))
    [feed_event] = subscribed.components_named("VEVENT")
    assert subscribed.get("REFRESH-INTERVAL") is not None
    # Its own UID: imported beside the subscription it neither collides nor duplicates.
    assert event.value("UID") != feed_event.value("UID")
    assert appointment.uid in event.value("UID") and appointment.uid in feed_event.value("UID")


def test_whole_days_off_are_all_day_events_in_feeds_and_downloads(receptionist_client, colette):
    # Monday 20 and Tuesday 21 July 2026, midnight to midnight in London (BST).
    holiday = TimeOff(
        practitioner=colette,
        starts_at=datetime(2026, 7, 19, 23, 0, tzinfo=UTC),
        ends_at=datetime(2026, 7, 21, 23, 0, tzinfo=UTC),
        reason="Family holiday",
    )
    afternoon = TimeOff(
        practitioner=colette,
        starts_at=datetime(2026, 7, 22, 13, 0, tzinfo=UTC),
        ends_at=datetime(2026, 7, 22, 17, 0, tzinfo=UTC),
    )
    db.session.add_all([holiday, afternoon])
    db.session.commit()
    download = receptionist_client.get(
        "/diary/feeds/colette-assor/download?from=2026-07-20&to=2026-07-26"
    ).get_data()
    for ics in (build_feed(colette, now=datetime(2026, 7, 1, tzinfo=UTC)), download):
        blocks = sorted(events(ics), key=lambda e: e.value("DTSTART"))
        whole, part = blocks
        assert whole.get("DTSTART").param("VALUE") == "DATE"
        assert (whole.value("DTSTART"), whole.value("DTEND")) == ("20260720", "20260722")
        assert whole.value("SUMMARY") == "Unavailable"  # the reason stays in the diary
        assert part.get("DTSTART").param("VALUE") is None
        assert part.instant("DTSTART") == datetime(2026, 7, 22, 13, 0, tzinfo=UTC)
        assert "Family holiday" not in "".join(unfold(ics))
