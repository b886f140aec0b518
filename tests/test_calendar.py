"""iCalendar files: invitations, downloads, the Google link, clock changes and line format.

Everything is read back with tests/ical_parser.py, a reader written from RFC 5545
without the icalendar library, so a mistake in how we use the library shows.
"""

import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
from dateutil.rrule import rrulestr
from dateutil.tz import tzical

from booking.clinic import calendar
from booking.clinic.appointments import cancel_appointment
from booking.clinic.feeds import build_feed
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import manage_url, view_url
from booking.extensions import db
from booking.models import Appointment, Patient, Practitioner, SessionType, StaffUser
from tests.ical_parser import parse_calendar, physical_lines_longer_than, unfold
from tests.signed_links import assert_no_manage_link, assert_view_link_for

LONDON = ZoneInfo("Europe/London")
CLINIC = "North West London Physiotherapy Centre"


def practitioner(slug="colette-assor") -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).filter_by(slug=slug))


def session_type(slug="full-combination") -> SessionType:
    return db.session.scalar(sa.select(SessionType).filter_by(slug=slug))


def add_appointment(
    starts_at: datetime, *, patient: Patient | None = None, **fields
) -> Appointment:
    kind = fields.pop("session_type", None) or session_type()
    appointment = Appointment(
        practitioner=fields.pop("practitioner", None) or practitioner(),
        patient=patient or Patient(name="Ada Lovelace", email="ada@example.org"),
        session_type=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=kind.duration_minutes),
        **fields,
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def only_event(ics: bytes):
    [event] = parse_calendar(ics).components_named("VEVENT")
    return event


@pytest.fixture
def appointment(demo):
    return add_appointment(
        datetime(2026, 12, 8, 10, 0, tzinfo=UTC),
        patient_note="Sciatica down the left leg since March",
        staff_note="Prefers the quiet room",
    )


def test_an_invitation_names_the_clinic_as_organizer_and_the_patient_as_attendee(app, appointment):
    ics = calendar.invitation(appointment, "REQUEST")
    cal = parse_calendar(ics)
    assert cal.value("METHOD") == "REQUEST"
    assert cal.value("VERSION") == "2.0"
    event = only_event(ics)
    organizer = event.get("ORGANIZER")
    # Reception's mailbox, which staff read: a reply or a Decline reaches a person.
    assert organizer.value == "mailto:reception@clinic.example"
    assert organizer.param("CN") == CLINIC
    attendee = event.get("ATTENDEE")
    assert attendee.value == "mailto:ada@example.org"
    assert attendee.param("CN") == "Ada Lovelace"
    assert attendee.param("RSVP") == "FALSE"
    assert attendee.param("PARTSTAT") == "ACCEPTED"
    assert event.value("CLASS") == "PRIVATE"
    assert event.value("UID") == f"{appointment.uid}@clinic-booking"
    assert event.value("SEQUENCE") == "0"
    assert event.value("STATUS") == "CONFIRMED"
    assert event.text("SUMMARY") == f"Full combination session with Colette Assor — {CLINIC}"
    assert event.text("LOCATION") == clinic_settings().address
    # The event links to the read-only page; the manage link stays in the patient's email.
    description = event.text("DESCRIPTION")
    assert_view_link_for(description, appointment, base=app.config["PUBLIC_BASE_URL"])
    assert_no_manage_link(description)
    assert event.get("DTSTAMP") is not None and event.get("LAST-MODIFIED") is not None
    assert event.instant("DTSTART") == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert event.instant("DTEND") == datetime(2026, 12, 8, 11, 30, tzinfo=UTC)
    assert event.get("DTSTART").param("TZID") == "Europe/London"


def test_the_link_in_an_event_shows_the_booking_but_cannot_change_it(app, client, demo):
    # "Need to change it?" shows for an upcoming appointment, so this one is a month from
    # whatever today is (a fixed date would pass only until that date).
    day = (datetime.now(LONDON) + timedelta(days=30)).date()
    appointment = add_appointment(
        datetime(day.year, day.month, day.day, 10, 0, tzinfo=LONDON).astimezone(UTC)
    )
    link = view_url(appointment).removeprefix("http://127.0.0.1:5000")
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"{day:%A} {day.day} {day:%B %Y}" in html and "Colette Assor" in html
    assert "<form" not in html and "Cancel this appointment" not in html
    assert "link in the email" in html
    view_token = link.rsplit("/", 1)[1]
    # The read-only token opens none of the pages that change a booking.
    assert client.get(f"/manage/{view_token}").status_code == 404
    assert client.get(f"/manage/{view_token}/reschedule").status_code == 404
    assert client.post(f"/manage/{view_token}/cancel").status_code in (400, 404)
    db.session.refresh(appointment)
    assert appointment.status == "booked"
    # Nor does a manage token open the read-only page: they are separate signatures.
    manage_token = manage_url(appointment).rsplit("/", 1)[1]
    assert client.get(f"/appointment/{manage_token}").status_code == 404


def test_no_event_ever_carries_notes(app, appointment):
    files = [
        calendar.invitation(appointment, "REQUEST"),
        calendar.download([appointment]),
        build_feed(appointment.practitioner, now=datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    for ics in files:
        text = "".join(unfold(ics))
        assert "Sciatica" not in text
        assert "quiet room" not in text


def test_a_cancellation_keeps_the_uid_and_raises_the_sequence(app, appointment):
    request = only_event(calendar.invitation(appointment, "REQUEST"))
    staff = StaffUser(email="r@clinic.example", name="R", role="receptionist")
    staff.set_password("long enough password")
    db.session.add(staff)
    db.session.commit()
    cancel_appointment(appointment, staff_user=staff, now=datetime(2026, 12, 1, tzinfo=UTC))
    cancel = parse_calendar(calendar.invitation(appointment, "CANCEL"))
    assert cancel.value("METHOD") == "CANCEL"
    [event] = cancel.components_named("VEVENT")
    assert event.value("UID") == request.value("UID")
    assert int(event.value("SEQUENCE")) == int(request.value("SEQUENCE")) + 1
    assert event.value("STATUS") == "CANCELLED"


def test_an_invitation_holds_one_event_and_a_timezone_for_its_year(app, demo):
    first = add_appointment(datetime(2026, 12, 15, 10, 0, tzinfo=UTC))
    second = add_appointment(datetime(2027, 4, 13, 9, 0, tzinfo=UTC), patient=first.patient)
    for appointment in (first, second):
        cal = parse_calendar(calendar.invitation(appointment, "REQUEST"))
        [event] = cal.components_named("VEVENT")  # one UID per iTIP object
        assert event.value("UID").split("@")[0] == appointment.uid
    cal = parse_calendar(calendar.invitation(second, "REQUEST"))
    [event] = cal.components_named("VEVENT")
    [zone] = cal.components_named("VTIMEZONE")
    assert zone.value("TZID") == "Europe/London"
    # 13 April 2027 is summer time: 10:00 on the wall is 09:00 UTC.
    assert event.value("DTSTART") == "20270413T100000"
    assert event.instant("DTSTART") == datetime(2027, 4, 13, 9, 0, tzinfo=UTC)


def test_an_unknown_method_is_refused(app, appointment):
    with pytest.raises(ValueError):
        calendar.invitation(appointment, "PUBLISH-ISH")


def test_the_download_is_published_without_attendees(app, appointment):
    cal = parse_calendar(calendar.download([appointment]))
    assert cal.value("METHOD") == "PUBLISH"
    [event] = cal.components_named("VEVENT")
    assert event.get("ATTENDEE") is None and event.get("ORGANIZER") is None
    assert event.value("UID") == f"{appointment.uid}@clinic-booking"


def test_the_uid_uses_the_sites_domain_when_it_has_one(app, appointment):
    app.config["PUBLIC_BASE_URL"] = "https://book.clinic.example"
    try:
        event = only_event(calendar.download([appointment]))
    finally:
        app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    assert event.value("UID") == f"{appointment.uid}@book.clinic.example"


def test_the_google_link_fills_in_the_event_in_utc(app, appointment):
    url = calendar.google_calendar_url(appointment)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://calendar.google.com/calendar/render"
    )
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == ["20261208T100000Z/20261208T113000Z"]
    assert query["text"] == [f"Full combination session with Colette Assor — {CLINIC}"]
    assert_view_link_for(query["details"][0], appointment, base=app.config["PUBLIC_BASE_URL"])
    assert_no_manage_link(query["details"][0])
    assert query["location"] == [clinic_settings().address]
    assert "Sciatica" not in url


# Each side of both 2026 clock changes, and the hours that are skipped or repeated.
CLOCK_CHANGE_INSTANTS = [
    datetime(2026, 3, 28, 10, 0, tzinfo=UTC),  # Saturday 10:00 GMT
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 00:30 GMT, before the gap
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:00 BST, the first minute after it
    datetime(2026, 3, 30, 9, 0, tzinfo=UTC),  # Monday 10:00 BST
    datetime(2026, 10, 24, 9, 0, tzinfo=UTC),  # Saturday 10:00 BST
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, the first pass
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT, the second pass
    datetime(2026, 10, 26, 10, 0, tzinfo=UTC),  # Monday 10:00 GMT
]


@pytest.mark.parametrize("instant", CLOCK_CHANGE_INSTANTS, ids=lambda i: i.isoformat())
def test_appointments_around_the_clock_changes_land_on_the_right_instant(app, demo, instant):
    # Stretching is 30 minutes, so no appointment here crosses into another.
    appointment = add_appointment(instant, session_type=session_type("stretching"))
    feed = parse_calendar(build_feed(appointment.practitioner, now=instant - timedelta(days=2)))
    for ics in (calendar.invitation(appointment, "REQUEST"), calendar.download([appointment])):
        event = only_event(ics)
        assert event.instant("DTSTART") == instant
        assert event.instant("DTEND") == instant + timedelta(minutes=30)
    [event] = feed.components_named("VEVENT")
    assert event.instant("DTSTART") == instant
    assert event.instant("DTEND") == instant + timedelta(minutes=30)


def _changes(vtimezone, until: datetime) -> list[tuple[str, str, str, str]]:
    """Every change a VTIMEZONE describes before `until` (naive local), as
    (kind, onset as written, TZOFFSETFROM, TZOFFSETTO): each DTSTART, each RDATE and
    each RRULE occurrence, expanded by dateutil (not by our code or icalendar)."""
    changes = []
    for observance in vtimezone.components:
        dtstart = datetime.strptime(observance.value("DTSTART"), "%Y%m%dT%H%M%S")
        onsets = [dtstart]
        onsets += [datetime.strptime(p.value, "%Y%m%dT%H%M%S") for p in observance.all("RDATE")]
        for prop in observance.all("RRULE"):
            onsets += list(rrulestr(prop.value, dtstart=dtstart).between(dtstart, until, inc=True))
        for onset in sorted(set(onsets)):
            if onset < until:
                changes.append(
                    (
                        observance.name,
                        onset.strftime("%Y%m%dT%H%M%S"),
                        observance.value("TZOFFSETFROM"),
                        observance.value("TZOFFSETTO"),
                    )
                )
    return sorted(changes, key=lambda change: change[1])


def test_the_timezone_block_gives_londons_rule_as_an_rrule(app, demo):
    # Outlook approximates any VTIMEZONE by one yearly rule: London's is written as one.
    appointment = add_appointment(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    [zone] = parse_calendar(calendar.download([appointment])).components_named("VTIMEZONE")
    rules = {c.name: c.value("RRULE") for c in zone.components}
    assert len(zone.components) == 2
    assert set(rules["DAYLIGHT"].split(";")) == {"FREQ=YEARLY", "BYMONTH=3", "BYDAY=-1SU"}
    assert set(rules["STANDARD"].split(";")) == {"FREQ=YEARLY", "BYMONTH=10", "BYDAY=-1SU"}
    changes = _changes(zone, datetime(2027, 1, 1))
    assert ("DAYLIGHT", "20260329T010000", "+0000", "+0100") in changes
    assert ("STANDARD", "20261025T020000", "+0100", "+0000") in changes
    # The rule starts before the block's first day, so 1 January has its observance.
    assert changes[0][1] < "20260101T000000"


def test_the_timezone_block_starts_each_change_at_the_clock_time_before_it(app, demo):
    # RFC 5545 3.6.5: an observance's DTSTART is the wall clock just before the change,
    # in its TZOFFSETFROM. London goes forward at 01:00 GMT and back at 02:00 BST.
    appointment = add_appointment(datetime(2027, 6, 1, 9, 0, tzinfo=UTC))
    [zone] = parse_calendar(calendar.download([appointment])).components_named("VTIMEZONE")
    changes = _changes(zone, datetime(2028, 1, 1))
    assert ("DAYLIGHT", "20270328T010000", "+0000", "+0100") in changes
    assert ("STANDARD", "20271031T020000", "+0100", "+0000") in changes


ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Tokyo",
]


def _block(zone_name: str, first_year: int = 2026, last_year: int = 2028):
    block = parse_calendar(
        b"BEGIN:VCALENDAR\r\n"
        + calendar._timezone_component(zone_name, first_year, last_year).to_ical()
        + b"END:VCALENDAR\r\n"
    )
    [vtimezone] = block.components_named("VTIMEZONE")
    return vtimezone


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_change_in_the_timezone_block_is_where_zoneinfo_has_it(zone_name):
    zone = ZoneInfo(zone_name)
    vtimezone = _block(zone_name)
    assert vtimezone.components, "a zone always has at least one observance"
    start = datetime(2026, 1, 1, tzinfo=zone).astimezone(UTC)
    listed = 0
    for kind, onset, offset_from, offset_to in _changes(vtimezone, datetime(2028, 1, 1)):
        local = datetime.strptime(onset, "%Y%m%dT%H%M%S")
        instant = (local - _offset(offset_from)).replace(tzinfo=UTC)
        if _offset(offset_from) == _offset(offset_to):
            continue  # the observance in force from the start, not a change
        assert (instant - timedelta(seconds=1)).astimezone(zone).utcoffset() == _offset(offset_from)
        assert instant.astimezone(zone).utcoffset() == _offset(offset_to)
        assert kind == ("DAYLIGHT" if instant.astimezone(zone).dst() else "STANDARD")
        listed += instant >= start
    # Between two listed changes the offset never changes: none was missed.
    hours = int((datetime(2028, 1, 1) - datetime(2026, 1, 1)).total_seconds() // 3600)
    offsets = [(start + timedelta(hours=h)).astimezone(zone).utcoffset() for h in range(hours)]
    assert listed == sum(1 for a, b in zip(offsets, offsets[1:], strict=False) if a != b)
    has_rules = any(c.get("RRULE") for c in vtimezone.components)
    assert has_rules == (zone_name != "Asia/Tokyo")  # Tokyo has no clock changes


# dateutil's offset for an instant is read at wall times within a day of it (the instant
# moved by the zone's offsets, at most 14 hours, and by a clock change, at most two).
NEAR_AN_ONSET = timedelta(days=2)


def _onsets(reader, first: datetime, last: datetime) -> list[datetime]:
    """Every wall time at which dateutil's reading of the block may change: the onsets of
    its observances, as dateutil itself expands them from DTSTART, RRULE and RDATE (it keeps
    them in `_comps`; should that go, this fails rather than passes)."""
    return sorted(
        {onset for comp in reader._comps for onset in comp.rrule.between(first, last, inc=True)}
    )


@pytest.mark.parametrize("zone_name", ZONES)
def test_a_reader_of_the_timezone_block_gives_zoneinfos_offset_every_hour(zone_name):
    """dateutil reads the VTIMEZONE (RRULEs and all) as an independent calendar would.

    Every half hour of the two years is checked against zoneinfo. dateutil answers for a
    wall time with the observance whose latest onset is at or before it, so its answer
    cannot change more than NEAR_AN_ONSET from every onset: there, one reading stands for
    the whole stretch (and zoneinfo must give that offset at each half hour of it). Near an
    onset dateutil is read at every half hour. Reading it at all 35,000 half hours cost
    about two seconds of processor time a zone.
    """
    text = calendar._timezone_component(zone_name, 2026, 2028).to_ical().decode()
    reader = tzical(io.StringIO(text)).get(zone_name)
    zone = ZoneInfo(zone_name)
    start = datetime(2026, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(2028, 1, 1, tzinfo=zone).astimezone(UTC)
    onsets = _onsets(
        reader,
        start.replace(tzinfo=None) - NEAR_AN_ONSET,
        end.replace(tzinfo=None) + NEAR_AN_ONSET,
    )
    wrong = []
    read_in_this_stretch = None  # dateutil's offset, far from every onset
    instant = start
    while instant < end:
        wall = instant.replace(tzinfo=None)
        if any(abs(wall - onset) <= NEAR_AN_ONSET for onset in onsets):
            read, read_in_this_stretch = instant.astimezone(reader).utcoffset(), None
        elif read_in_this_stretch is None:
            read = read_in_this_stretch = instant.astimezone(reader).utcoffset()
        else:
            read = read_in_this_stretch
        if read != instant.astimezone(zone).utcoffset():
            wrong.append(instant)
        instant += timedelta(minutes=30)
    assert wrong == []
    # dateutil's onsets were found: two clock changes a year, or Tokyo's one observance.
    assert len(onsets) >= (1 if zone_name == "Asia/Tokyo" else 4)


def test_a_zone_without_a_weekday_rule_gets_dated_changes():
    # Morocco moves its clocks around Ramadan: no yearly weekday rule fits, so each
    # change is written as its own observance, still where zoneinfo has it.
    vtimezone = _block("Africa/Casablanca")
    assert all(c.get("RRULE") is None for c in vtimezone.components)
    zone = ZoneInfo("Africa/Casablanca")
    for _, onset, offset_from, offset_to in _changes(vtimezone, datetime(2028, 1, 1))[1:]:
        instant = (datetime.strptime(onset, "%Y%m%dT%H%M%S") - _offset(offset_from)).replace(
            tzinfo=UTC
        )
        assert instant.astimezone(zone).utcoffset() == _offset(offset_to)


def _offset(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5]))


def test_lines_end_in_crlf_and_fold_at_75_octets_without_breaking_characters(app, demo):
    settings = clinic_settings()
    settings.address = (
        "Unit 4, Ørsted Court — Żółkiewskiego Yard; 221B Baker Street, London NW1 6XE"
    )
    db.session.commit()
    patient = Patient(
        name="Zoë Ångström-Þórsdóttir Núñez de la Peña y Ñandú Ibáñez", email="zoe@example.org"
    )
    appointment = add_appointment(datetime(2026, 12, 9, 11, 0, tzinfo=UTC), patient=patient)
    practitioner = appointment.practitioner
    practitioner.feed_privacy = "full_name"
    db.session.commit()
    files = [
        calendar.invitation(appointment, "REQUEST"),
        calendar.download([appointment]),
        build_feed(practitioner, now=datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    for ics in files:
        assert ics.endswith(b"\r\n")
        assert b"\n" not in ics.replace(b"\r\n", b"")
        assert b"\r" not in ics.replace(b"\r\n", b"")
        assert physical_lines_longer_than(ics, 75) == []
        ics.decode("utf-8")  # folding never splits a character
        event = only_event(ics)
        assert event.text("LOCATION") == settings.address
    feed_event = only_event(files[2])
    assert feed_event.text("SUMMARY") == f"{patient.name} — Full combination session"
    invitation_event = only_event(files[0])
    assert invitation_event.get("ATTENDEE").param("CN") == patient.name


def test_folding_keeps_escapes_whole_and_counts_octets():
    line = "DESCRIPTION:" + "\\n" * 60 + "é" * 40
    folded = calendar.fold(line)
    physical = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in physical)
    assert all(not part.rstrip("\\").endswith("\\") or part.endswith("\\\\") for part in physical)
    for part in physical:
        assert (len(part) - len(part.rstrip("\\"))) % 2 == 0
    assert "".join(p[1:] if i else p for i, p in enumerate(physical)) == line
    assert calendar.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_the_icalendar_library_reads_our_files_the_same_way(app, appointment):
    """A second, independent reading of the hand-written feed lines."""
    feed = build_feed(appointment.practitioner, now=datetime(2026, 12, 1, tzinfo=UTC))
    [event] = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(UTC) == appointment.starts_at
    assert str(event["UID"]) == f"{appointment.uid}@clinic-booking"
    reference = calendar.appointment_event(appointment, for_patient=False)
    assert event.decoded("DTEND") == reference.decoded("DTEND")
    assert str(event["LOCATION"]) == str(reference["LOCATION"])


LONG_HOST = (
    "bookings-for-the-sciatica-and-lower-back-pain-clinic.physiotherapy-north-london.example.org"
)


def test_a_long_uid_domain_and_a_non_ascii_name_fold_every_feed_line_and_read_back(app, demo):
    """The feed's hand-written lines (UID, times, summary) fold at 75 octets like the rest."""
    from booking.clinic.feeds import download_range
    from booking.models import TimeOff

    saved = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = f"https://{LONG_HOST}"
    try:
        patient = Patient(name="Zoë Ångström-Þórsdóttir Łukasiewicz-Żółć", email="zoe@example.org")
        appointment = add_appointment(datetime(2026, 12, 9, 11, 0, tzinfo=UTC), patient=patient)
        colette = appointment.practitioner
        colette.feed_privacy = "full_name"
        block = TimeOff(
            practitioner=colette,
            starts_at=datetime(2026, 12, 10, 9, 0, tzinfo=UTC),
            ends_at=datetime(2026, 12, 10, 12, 0, tzinfo=UTC),
            reason="Training",
        )
        db.session.add(block)
        db.session.commit()
        feed = build_feed(colette, now=datetime(2026, 12, 1, tzinfo=UTC))
        export = download_range(
            colette, datetime(2026, 12, 9).date(), datetime(2026, 12, 10).date()
        )
        invitation = calendar.invitation(appointment, "REQUEST")
        summary = f"{patient.name} — Full combination session"
        for ics, domain in ((feed, LONG_HOST), (export, f"export.{LONG_HOST}")):
            assert len(f"UID:{appointment.uid}@{domain}") > 75  # the line that must fold
            assert physical_lines_longer_than(ics, 75) == []
            ics.decode("utf-8")  # no UTF-8 sequence is split across lines
            events = icalendar.Calendar.from_ical(ics).walk("VEVENT")
            by_uid = {str(event["UID"]): event for event in events}
            assert set(by_uid) == {
                f"{appointment.uid}@{domain}",
                f"time-off-{block.id}@{domain}",
            }
            assert str(by_uid[f"{appointment.uid}@{domain}"]["SUMMARY"]) == summary
            assert (
                by_uid[f"time-off-{block.id}@{domain}"].decoded("DTSTART").astimezone(UTC)
                == block.starts_at
            )
        assert physical_lines_longer_than(invitation, 75) == []
        [sent] = icalendar.Calendar.from_ical(invitation).walk("VEVENT")
        assert str(sent["UID"]) == f"{appointment.uid}@{LONG_HOST}"
    finally:
        app.config["PUBLIC_BASE_URL"] = saved
