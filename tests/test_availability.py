"""The availability engine: the pure core (property tests) and the database-backed API."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.clinic import availability
from booking.clinic.availability import Rules, free_starts, merge_intervals
from booking.extensions import db
from booking.models import (
    AppointmentStatus,
    Practitioner,
    SessionType,
    TimeOff,
    WorkingHours,
)

LONDON = ZoneInfo("Europe/London")
RULES = Rules(zone=LONDON, slot_step_minutes=15, buffer_minutes=0)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)

# Days around both clock changes of 2026 and ordinary days next to them.
INTERESTING_DAYS = [
    date(2026, 3, 28),
    date(2026, 3, 29),  # clocks go forward at 01:00 UTC: 01:00-02:00 local does not exist
    date(2026, 3, 30),
    date(2026, 10, 24),
    date(2026, 10, 25),  # clocks go back at 01:00 UTC: 01:00-02:00 local happens twice
    date(2026, 10, 26),
    date(2026, 6, 15),
    date(2026, 12, 1),
]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def local(instant: datetime) -> datetime:
    return instant.astimezone(LONDON)


def starts(day, hours, busy=(), duration=60, earliest=LONG_AGO, rules=RULES):
    return free_starts(
        day,
        duration=timedelta(minutes=duration),
        hours=hours,
        busy=merge_intervals(busy),
        rules=rules,
        earliest=earliest,
    )


# --- the pure core -------------------------------------------------------------------


def test_a_nine_oclock_slot_is_nine_local_on_both_sides_of_each_clock_change():
    for day in INTERESTING_DAYS:
        offered = starts(day, [(time(9), time(12))])
        assert local(offered[0]).time() == time(9), day
        assert local(offered[-1]).time() == time(11), day
    # Before the October change 09:00 London is 08:00 UTC, after it 09:00 UTC.
    assert starts(date(2026, 10, 24), [(time(9), time(10))])[0].hour == 8
    assert starts(date(2026, 10, 26), [(time(9), time(10))])[0].hour == 9


def test_the_skipped_hour_is_never_offered():
    day = date(2026, 3, 29)
    offered = starts(day, [(time(0), time(4))], duration=15)
    walls = [local(s).time() for s in offered]
    assert not any(time(1) <= w < time(2) for w in walls)
    assert time(0, 45) in walls and time(2) in walls
    assert len(offered) == len(set(offered))


def test_the_repeated_hour_is_offered_once():
    day = date(2026, 10, 25)
    offered = starts(day, [(time(0), time(4))], duration=15)
    walls = [local(s).replace(tzinfo=None).time() for s in offered]
    assert walls.count(time(1, 15)) == 1
    assert len(walls) == len(set(walls)) == 16


def test_a_session_must_end_by_closing_time():
    offered = starts(date(2026, 6, 15), [(time(9), time(11))], duration=90)
    assert [local(s).time() for s in offered] == [time(9), time(9, 15), time(9, 30)]


def test_buffer_keeps_a_gap_after_an_appointment():
    day = date(2026, 6, 15)
    rules = Rules(zone=LONDON, slot_step_minutes=15, buffer_minutes=15)
    buffer = timedelta(minutes=15)
    busy = [(at(day, 10) - buffer, at(day, 11) + buffer)]
    offered = [local(s).time() for s in starts(day, [(time(9), time(13))], busy, rules=rules)]
    # 09:00 would end as the 10:00 appointment starts, with no gap between them.
    assert offered[0] == time(11, 15)
    assert time(9) not in offered and time(11) not in offered


def test_nothing_before_the_earliest_instant():
    day = date(2026, 6, 15)
    offered = starts(day, [(time(9), time(17))], earliest=at(day, 13, 5))
    assert local(offered[0]).time() == time(13, 15)


intervals_of_day = st.tuples(
    st.integers(min_value=0, max_value=23 * 4), st.integers(min_value=1, max_value=16)
)


@settings(max_examples=300, deadline=None)
@given(
    day=st.sampled_from(INTERESTING_DAYS),
    hours=st.lists(intervals_of_day, min_size=1, max_size=3),
    bookings=st.lists(intervals_of_day, max_size=8),
    blocks=st.lists(intervals_of_day, max_size=3),
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    step=st.sampled_from([5, 10, 15, 30]),
    buffer_minutes=st.sampled_from([0, 5, 15]),
)
def test_no_offered_slot_overlaps_a_booking_or_a_block_or_lies_outside_hours(
    day, hours, bookings, blocks, duration, step, buffer_minutes
):
    def quarter(index: int) -> time:
        return time(index // 4, (index % 4) * 15)

    working = []
    for start, length in hours:
        end = min(start + length, 24 * 4 - 1)
        working.append((quarter(start), quarter(end)))
    day_start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    taken = [
        (day_start + timedelta(minutes=15 * s), day_start + timedelta(minutes=15 * (s + n)))
        for s, n in bookings
    ]
    blocked = [
        (day_start + timedelta(minutes=15 * s), day_start + timedelta(minutes=15 * (s + n)))
        for s, n in blocks
    ]
    buffer = timedelta(minutes=buffer_minutes)
    rules = Rules(zone=LONDON, slot_step_minutes=step, buffer_minutes=buffer_minutes)
    busy = [(s - buffer, e + buffer) for s, e in taken] + blocked
    offered = starts(day, working, busy, duration=duration, rules=rules)
    length = timedelta(minutes=duration)

    assert offered == sorted(set(offered))
    for start in offered:
        end = start + length
        for taken_start, taken_end in taken:
            assert end + buffer <= taken_start or start >= taken_end + buffer
        for block_start, block_end in blocked:
            assert end <= block_start or start >= block_end
        # Inside one working interval, by the wall clock and by elapsed time.
        wall = local(start)
        assert wall.date() == day
        assert any(
            opens <= wall.time()
            and end <= datetime.combine(day, closes, tzinfo=LONDON).astimezone(UTC)
            and wall.fold == 0
            for opens, closes in working
        )
    # No wall-clock time is offered twice (the repeated hour in October).
    walls = [local(s).replace(tzinfo=None) for s in offered]
    assert len(walls) == len(set(walls))


moments_of_day = st.integers(min_value=-3 * 3600, max_value=27 * 3600)


@settings(max_examples=400, deadline=None)
@given(
    day=st.one_of(
        st.sampled_from(INTERESTING_DAYS),
        st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    ),
    hours=st.lists(
        st.tuples(st.integers(0, 24 * 60 - 1), st.integers(1, 10 * 60)), min_size=1, max_size=3
    ),
    busy=st.lists(
        st.tuples(moments_of_day, st.integers(1, 4 * 3600), st.integers(0, 999_999)), max_size=8
    ),
    earliest=st.tuples(moments_of_day, st.integers(0, 999_999)),
    duration=st.sampled_from([5, 15, 30, 45, 60, 90, 480]),
    step=st.sampled_from([5, 10, 15, 20, 30, 60]),
)
def test_the_fast_arithmetic_offers_exactly_what_stepping_the_wall_clock_does(
    day, hours, busy, earliest, duration, step
):
    """free_starts counts whole seconds on days of one offset; the wall-clock walk is the truth."""
    midnight = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    working = [
        (
            time(opens // 60, opens % 60),
            time(min(opens + length, 24 * 60 - 1) // 60, min(opens + length, 24 * 60 - 1) % 60),
        )
        for opens, length in hours
    ]
    taken = merge_intervals(
        (
            midnight + timedelta(seconds=start, microseconds=micro),
            midnight + timedelta(seconds=start + length, microseconds=micro),
        )
        for start, length, micro in busy
    )
    first = midnight + timedelta(seconds=earliest[0], microseconds=earliest[1])
    rules = Rules(zone=LONDON, slot_step_minutes=step)
    arguments = dict(
        duration=timedelta(minutes=duration), hours=working, busy=taken, rules=rules, earliest=first
    )
    assert free_starts(day, **arguments) == availability.free_starts_by_wall_clock(day, **arguments)


# --- with the database ---------------------------------------------------------------


def make_practitioner(*, weekday_hours=((9, 17),), duration=60):
    session_type = SessionType(
        slug="acupuncture", name="Acupuncture", duration_minutes=duration, price_pence=6000
    )
    practitioner = Practitioner(slug="jo", name="Jo Example", session_types=[session_type])
    for weekday in range(7):
        for opens, closes in weekday_hours:
            practitioner.working_hours.append(
                WorkingHours(weekday=weekday, starts_at=time(opens), ends_at=time(closes))
            )
    db.session.add_all([session_type, practitioner])
    db.session.commit()
    return practitioner, session_type


NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_booked_and_blocked_times_are_not_offered_but_cancelled_ones_are(app, make_appointment):
    practitioner, session_type = make_practitioner()
    day = date(2026, 6, 15)
    make_appointment(at(day, 10), practitioner=practitioner, session=session_type)
    make_appointment(
        at(day, 14),
        practitioner=practitioner,
        session=session_type,
        status=AppointmentStatus.CANCELLED,
    )
    db.session.add(TimeOff(practitioner=practitioner, starts_at=at(day, 12), ends_at=at(day, 13)))
    db.session.commit()

    by_day = availability.practitioner_free_starts(practitioner, session_type, day, day, now=NOW)
    walls = [local(s).time() for s in by_day[day]]
    assert time(9) in walls and time(11) in walls
    assert not any(time(9, 15) <= w <= time(10, 45) for w in walls)
    assert not any(time(11, 15) <= w <= time(12, 45) for w in walls)
    assert time(14) in walls


def test_minimum_notice_and_horizon_apply_to_patients_not_staff(app):
    practitioner, session_type = make_practitioner()
    today = date(2026, 6, 1)  # NOW is 09:00 London
    by_day = availability.practitioner_free_starts(
        practitioner, session_type, today, today, now=NOW
    )
    assert local(by_day[today][0]).time() == time(11)  # two hours' notice
    staff = availability.practitioner_free_starts(
        practitioner, session_type, today, today, now=NOW, ignore_minimum_notice=True
    )
    assert local(staff[today][0]).time() == time(9, 15)

    beyond = today + timedelta(days=91)
    assert (
        availability.practitioner_free_starts(practitioner, session_type, beyond, beyond, now=NOW)[
            beyond
        ]
        == []
    )


def test_is_free_start_refuses_off_grid_out_of_hours_and_taken_times(app, make_appointment):
    practitioner, session_type = make_practitioner()
    day = date(2026, 6, 15)
    make_appointment(at(day, 10), practitioner=practitioner, session=session_type)
    assert availability.is_free_start(practitioner, session_type, at(day, 9), now=NOW)
    assert not availability.is_free_start(practitioner, session_type, at(day, 9, 7), now=NOW)
    assert not availability.is_free_start(practitioner, session_type, at(day, 8), now=NOW)
    assert not availability.is_free_start(practitioner, session_type, at(day, 16, 30), now=NOW)
    assert not availability.is_free_start(practitioner, session_type, at(day, 10, 30), now=NOW)


def test_moving_an_appointment_may_overlap_its_own_old_time(app, make_appointment):
    practitioner, session_type = make_practitioner()
    day = date(2026, 6, 15)
    appointment = make_appointment(at(day, 10), practitioner=practitioner, session=session_type)
    assert not availability.is_free_start(practitioner, session_type, at(day, 10, 30), now=NOW)
    assert availability.is_free_start(
        practitioner,
        session_type,
        at(day, 10, 30),
        now=NOW,
        ignore_appointment_id=appointment.id,
    )


def test_first_available_names_the_first_practitioner_free_at_each_time(app, make_appointment):
    first, session_type = make_practitioner()
    second = Practitioner(slug="sam", name="Sam Example", position=1, session_types=[session_type])
    second.working_hours.append(WorkingHours(weekday=0, starts_at=time(9), ends_at=time(11)))
    db.session.add(second)
    db.session.commit()
    day = date(2026, 6, 15)  # a Monday
    make_appointment(at(day, 9), practitioner=first, session=session_type)

    by_day = availability.first_available([first, second], session_type, day, day, now=NOW)
    chosen = dict(by_day[day])
    assert chosen[at(day, 9)] is second
    assert chosen[at(day, 10)] is first
    assert [start for start, _ in by_day[day]] == sorted(chosen)


def test_a_practitioner_who_does_not_offer_the_session_has_no_times(app):
    practitioner, session_type = make_practitioner()
    other = SessionType(slug="cupping", name="Cupping", duration_minutes=30, price_pence=4000)
    db.session.add(other)
    db.session.commit()
    day = date(2026, 6, 15)
    assert availability.practitioner_free_starts(practitioner, other, day, day, now=NOW) == {
        day: []
    }


runs_of_a_grid = st.lists(
    st.builds(
        lambda phase, first, count, step: range(
            phase + first * step, phase + (first + count) * step, step
        ),
        st.just(0) | st.integers(0, 3),
        st.integers(0, 40),
        st.integers(0, 12),
        st.just(900) | st.sampled_from([300, 900, 1800]),
    ),
    max_size=12,
)


@given(runs_of_a_grid, st.booleans())
@settings(max_examples=300, deadline=None)
def test_merging_runs_of_free_starts_gives_each_start_once_in_order(runs, with_a_list):
    # "Anyone" merges many practitioners' runs as intervals when they share a grid, and
    # through a set when they do not (different steps or phases, a clock-change day's list).
    if with_a_list:
        runs = [*runs, [7, 3, 7]]
    expected = sorted({start for run in runs for start in run})
    assert availability._sorted_starts(runs) == expected
