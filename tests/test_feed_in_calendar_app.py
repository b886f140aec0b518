"""The feed imported into a real calendar program: calcurse, from Debian.

calcurse reads the .ics the way a practitioner's calendar would: it turns each
TZID time into an instant through the system's time-zone database and shows it on
the clock of the zone it runs in. So this checks, outside our own code and outside
the icalendar library, that every appointment shows at the right local time,
clock-change weekends included, in London and for a practitioner abroad.

`make test` installs calcurse with the browser's packages; without it these skip.
"""

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.clinic.appointments import cancel_appointment
from booking.clinic.feeds import build_feed
from booking.extensions import db
from booking.models import Patient, TimeOff
from tests.test_calendar import add_appointment, practitioner, session_type

CALCURSE = shutil.which("calcurse")
pytestmark = pytest.mark.skipif(
    CALCURSE is None, reason="calcurse is not installed (make test installs it with apt-get)"
)

# Saturday and Monday around both 2027 clock changes, the change days themselves, and
# the one instant only UTC can name: 01:30 on the second pass through the October hour.
# (calcurse keeps wall-clock times, so it cannot hold an event that starts in the first
# pass and ends in the second: its end would be before its start. None here does.)
INSTANTS = [
    datetime(2027, 3, 27, 10, 0, tzinfo=UTC),  # Saturday 10:00 GMT
    datetime(2027, 3, 28, 9, 0, tzinfo=UTC),  # Sunday 10:00 BST, the day the clocks go on
    datetime(2027, 3, 29, 8, 15, tzinfo=UTC),  # Monday 09:15 BST
    datetime(2027, 10, 30, 16, 0, tzinfo=UTC),  # Saturday 17:00 BST
    datetime(2027, 10, 31, 0, 15, tzinfo=UTC),  # 01:15 BST, the first pass through 01:00-02:00
    datetime(2027, 10, 31, 1, 30, tzinfo=UTC),  # 01:30 GMT, the second pass
    datetime(2027, 11, 1, 10, 0, tzinfo=UTC),  # Monday 10:00 GMT
]
BUILT_ON = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
STRETCH = timedelta(minutes=30)


def calcurse_appointments(ics: bytes, zone: str, tmp_path, first: date, days: int) -> list[str]:
    """Import the file into an empty calcurse and list its appointments on `zone`'s clock."""
    home = tmp_path / zone.replace("/", "-")
    home.mkdir()
    feed = home / "feed.ics"
    feed.write_bytes(ics)
    environment = {"HOME": str(home), "TZ": zone, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}
    run = ["calcurse", "--directory", str(home / "data")]
    imported = subprocess.run(  # noqa: S603 - fixed program, our own arguments
        [*run, "--import", str(feed)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "0 skipped" in imported.stdout, imported.stdout
    listed = subprocess.run(  # noqa: S603
        [
            *run,
            "--query",
            "--input-datefmt=4",
            f"--from={first.isoformat()}",
            f"--days={days}",
            "--format-apt=%(start:%Y-%m-%d %H:%M)|%(end:%Y-%m-%d %H:%M)|%m\n",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    # An event over midnight is listed under each of its days: count it once.
    return sorted({line for line in listed.stdout.splitlines() if "|" in line})


def on_clock(instant: datetime, zone: str) -> str:
    return f"{instant.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Asia/Tokyo"])
def test_every_appointment_shows_at_its_local_time_in_calcurse(app, demo, tmp_path, zone):
    colette = practitioner("colette-assor")
    colette.feed_privacy = "full_name"
    stretching = session_type("stretching")
    for n, instant in enumerate(INSTANTS):
        add_appointment(
            instant,
            session_type=stretching,
            patient=Patient(name=f"Patient {n}", email=f"p{n}@example.org"),
        )
    db.session.add(
        TimeOff(
            practitioner=colette,
            # A block across the night the clocks go on: 18:00 Saturday to 12:00 Sunday.
            starts_at=datetime(2027, 3, 27, 18, 0, tzinfo=UTC),
            ends_at=datetime(2027, 3, 28, 11, 0, tzinfo=UTC),
            reason="Conference",
        )
    )
    db.session.commit()

    listed = calcurse_appointments(
        build_feed(colette, now=BUILT_ON), zone, tmp_path, date(2027, 3, 20), 240
    )

    expected = [
        f"{on_clock(at, zone)}|{on_clock(at + STRETCH, zone)}|Patient {n} — {stretching.name}"
        for n, at in enumerate(INSTANTS)
    ]
    block_start = datetime(2027, 3, 27, 18, 0, tzinfo=UTC)
    block_end = datetime(2027, 3, 28, 11, 0, tzinfo=UTC)
    expected.append(f"{on_clock(block_start, zone)}|{on_clock(block_end, zone)}|Unavailable")
    assert listed == sorted(expected)


def test_london_sees_the_clinics_wall_clock_on_both_sides_of_each_change(app, demo, tmp_path):
    # Written out by hand, not worked out with zoneinfo: what the practitioner expects.
    stretching = session_type("stretching")
    for instant in INSTANTS:
        add_appointment(instant, session_type=stretching)
    listed = calcurse_appointments(
        build_feed(practitioner("colette-assor"), now=BUILT_ON),
        "Europe/London",
        tmp_path,
        date(2027, 3, 20),
        240,
    )
    assert [line.split("|")[0] for line in listed] == [
        "2027-03-27 10:00",
        "2027-03-28 10:00",
        "2027-03-29 09:15",
        "2027-10-30 17:00",
        "2027-10-31 01:15",
        "2027-10-31 01:30",
        "2027-11-01 10:00",
    ]


def test_a_cancelled_appointment_reaches_the_calendar_marked_cancelled(app, demo, tmp_path):
    kept = add_appointment(datetime(2027, 3, 29, 9, 0, tzinfo=UTC))
    dropped = add_appointment(datetime(2027, 3, 30, 9, 0, tzinfo=UTC))
    cancel_appointment(dropped, now=datetime(2027, 3, 10, tzinfo=UTC))
    listed = calcurse_appointments(
        build_feed(kept.practitioner, now=datetime(2027, 3, 15, tzinfo=UTC)),
        "Europe/London",
        tmp_path,
        date(2027, 3, 28),
        5,
    )
    name = kept.session_type.name
    assert [line.split("|", 1)[1] for line in listed] == [
        f"2027-03-29 11:30|AL — {name}",
        f"2027-03-30 11:30|Cancelled: AL — {name}",
    ]


def calcurse_all_day_events(ics: bytes, tmp_path, day: date) -> list[str]:
    """The all-day events calcurse (on London's clock) lists for one day."""
    home = tmp_path / f"all-day-{day.isoformat()}"
    home.mkdir()
    (home / "feed.ics").write_bytes(ics)
    environment = {
        "HOME": str(home),
        "TZ": "Europe/London",
        "LANG": "C.UTF-8",
        "PATH": "/usr/bin:/bin",
    }
    run = ["calcurse", "--directory", str(tmp_path / "all-day-data")]
    if not (tmp_path / "all-day-data").exists():
        subprocess.run(  # noqa: S603 - fixed program, our own arguments
            [*run, "--import", str(home / "feed.ics")],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    listed = subprocess.run(  # noqa: S603
        [
            *run,
            "--query",
            "--input-datefmt=4",
            f"--from={day.isoformat()}",
            "--days=1",
            "--format-event=EVENT|%m\n",
            "--format-apt=APPOINTMENT|%m\n",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return [line for line in listed.stdout.splitlines() if "|" in line]


def test_a_whole_day_off_is_an_all_day_event_in_calcurse(app, demo, tmp_path):
    colette = practitioner("colette-assor")
    # Monday 5 April 2027, midnight to midnight in London (BST, so 23:00 UTC the day before).
    db.session.add(
        TimeOff(
            practitioner=colette,
            starts_at=datetime(2027, 4, 4, 23, 0, tzinfo=UTC),
            ends_at=datetime(2027, 4, 5, 23, 0, tzinfo=UTC),
            reason="Bank holiday",
        )
    )
    db.session.commit()
    ics = build_feed(colette, now=BUILT_ON)
    assert calcurse_all_day_events(ics, tmp_path, date(2027, 4, 5)) == ["EVENT|Unavailable"]
    assert calcurse_all_day_events(ics, tmp_path, date(2027, 4, 4)) == []
    assert calcurse_all_day_events(ics, tmp_path, date(2027, 4, 6)) == []
