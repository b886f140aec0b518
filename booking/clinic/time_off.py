"""Blocked time: a practitioner's holiday, training or a single hour out of the diary.

A block is saved even when live appointments fall inside it: the block stops new
bookings at once, and the appointments it overlaps are returned so that staff can
move them (each move tells the patient).
"""

from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.clinic import DomainError, audit
from booking.clinic.localtime import OUT_OF_REACH, local_day_bounds, local_to_utc, within_reach
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.extensions import db
from booking.models import Appointment, Practitioner, StaffUser, TimeOff


def local_span(
    first_day: date,
    last_day: date | None,
    starts_at: time | None,
    ends_at: time | None,
    zone: ZoneInfo,
) -> tuple[datetime, datetime]:
    """The UTC span of a block given in local terms.

    Without times: whole days, midnight to midnight. With times: from the start time on
    the first day to the end time on the last day (the same day unless given).
    """
    last_day = last_day or first_day
    if not (within_reach(first_day) and within_reach(last_day)):
        raise DomainError(OUT_OF_REACH)
    if last_day < first_day:
        raise DomainError("The last date must not be before the first.")
    if starts_at is None or ends_at is None:
        return local_day_bounds(first_day, zone)[0], local_day_bounds(last_day, zone)[1]
    start = local_to_utc(first_day, starts_at, zone)
    end = local_to_utc(last_day, ends_at, zone)
    if end <= start:
        raise DomainError("The block must end after it starts.")
    return start, end


def overlapping_appointments(
    practitioner_id: int, starts_at: datetime, ends_at: datetime
) -> list[Appointment]:
    """Live appointments of the practitioner inside the span, earliest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.practitioner_id == practitioner_id,
                Appointment.is_live,
                Appointment.starts_at < ends_at,
                Appointment.ends_at > starts_at,
            )
            .order_by(Appointment.starts_at)
        )
    )


def add_time_off(
    practitioner: Practitioner,
    starts_at: datetime,
    ends_at: datetime,
    *,
    reason: str = "",
    staff_user: StaffUser,
) -> tuple[TimeOff, list[Appointment]]:
    """Block the span; returns the block and the live appointments it overlaps."""
    _check_span(starts_at, ends_at)
    with unit_of_work():
        [(block, clashes)] = _block([practitioner], starts_at, ends_at, reason, staff_user)
    return block, clashes


def close_clinic(
    starts_at: datetime, ends_at: datetime, *, reason: str = "", staff_user: StaffUser
) -> list[tuple[TimeOff, list[Appointment]]]:
    """Block the span for every active practitioner at once (a bank holiday, say).

    One transaction: either everyone is blocked or, if anything fails, nobody is.
    Returns each block with the live appointments it overlaps.
    """
    _check_span(starts_at, ends_at)
    with unit_of_work():
        practitioners = db.session.scalars(
            select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.id)
        ).all()
        if not practitioners:
            raise DomainError("There are no practitioners to block.")
        return _block(practitioners, starts_at, ends_at, reason, staff_user)


def _check_span(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise DomainError("The block must end after it starts.")


def _block(
    practitioners: Sequence[Practitioner],
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    staff_user: StaffUser,
) -> list[tuple[TimeOff, list[Appointment]]]:
    """Add a block for each practitioner, in the caller's unit of work."""
    blocks = []
    for practitioner in practitioners:
        block = TimeOff(
            practitioner=practitioner,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=" ".join(reason.split())[:120],
            created_by_id=staff_user.id,
        )
        db.session.add(block)
        db.session.flush()
        clashes = overlapping_appointments(practitioner.id, starts_at, ends_at)
        audit.record(
            staff_user,
            "time_off.added",
            block,
            practitioner=practitioner.name,
            starts_at=starts_at,
            ends_at=ends_at,
            overlapping_appointments=len(clashes),
        )
        blocks.append((block, clashes))
    return blocks


def remove_time_off(block: TimeOff, *, staff_user: StaffUser) -> None:
    """Remove a block; its time becomes bookable again (within working hours)."""
    with unit_of_work():
        block = lock_or_refuse(TimeOff, block.id, "This time off has already been removed.")
        audit.record(
            staff_user,
            "time_off.removed",
            block,
            practitioner=block.practitioner.name,
            starts_at=block.starts_at,
            ends_at=block.ends_at,
        )
        db.session.delete(block)
