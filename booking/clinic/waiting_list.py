"""The waiting list: patients waiting for a time, offered times as they come free.

A patient joins from the public times page when nothing suits, or reception adds a
caller: a session, a practitioner or anyone, the weekdays and parts of the day that
suit, and until when. The outbox worker's scheduled job `offer_free_times` then offers
each waiting patient, in turn, the first free time that matches (patients with a course
in progress first, when the clinic's settings say so), by email with a signed claim
link. The first to claim books it through `book_appointment`, the normal booking path,
so the database still guarantees that nobody is double-booked; a later claimer is told
kindly that the time has gone, and stays on the list.

Why a scheduled job rather than a hook in the cancellation's own unit of work: time
comes free in many ways (a cancellation, a move, time off removed, working hours added,
a busy time in a practitioner's own calendar gone, a practitioner offering a session
again), and a hook would have to be remembered in every one of them, present and to
come; a forgotten one loses offers silently. The job asks the availability engine, the
same one that fills the booking page, so whatever freed the time, the job sees it. It
is safe to run twice (one open offer per entry, a unique key per entry and time, each
offer made in its own unit of work that re-checks), a worker that dies mid-run simply
offers at the next turn, and the cancelling patient's own change never waits on, or
fails because of, the waiting list. The cost is latency: at most `OFFERS_EVERY`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update

from booking.clinic import audit, availability, courses, notifications
from booking.clinic.appointments import book_appointment
from booking.clinic.errors import DomainError
from booking.clinic.local_wording import format_local_date, format_local_time
from booking.clinic.localtime import local_today, to_local
from booking.clinic.offerings import offers, practitioners_offering
from booking.clinic.patients import PatientDetails, find_or_create_patient, lock_bookable
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import offer_token, waiting_token
from booking.clinic.transaction import lock, lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    ClinicSettings,
    Course,
    CourseStatus,
    OfferStatus,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
    WaitingListEntry,
    WaitingListOffer,
    WaitingStatus,
)

OFFERS_EVERY = timedelta(minutes=2)

# The parts of the day a patient may choose, as local hours [from, to).
PARTS_OF_DAY: dict[str, tuple[str, int, int]] = {
    "m": ("Mornings (before 12:00)", 0, 12),
    "a": ("Afternoons (12:00 to 17:00)", 12, 17),
    "e": ("Evenings (from 17:00)", 17, 24),
}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

GONE_MESSAGE = (
    "Sorry: someone else booked that time a moment before you. You are still on our "
    "waiting list, and we will email you when another time comes free."
)
EXPIRED_MESSAGE = (
    "Sorry: this offer has expired, and the time may have gone to someone else. You are "
    "still on our waiting list, and we will email you when another time comes free."
)
NOT_WAITING_MESSAGE = "You are no longer on our waiting list, so this offer cannot be used."
ENTRY_GONE_MESSAGE = "This waiting-list entry no longer exists."


class OfferGone(DomainError):
    """The offered time went to someone else, or the offer expired: the patient still waits."""


@dataclass(frozen=True)
class Wish:
    """What a waiting patient would take: a session, who, which days and parts of the day."""

    session_type: SessionType
    practitioner: Practitioner | None
    weekdays: str  # digits, Monday is 0
    parts_of_day: str  # letters of PARTS_OF_DAY
    until: date


# Joining and leaving -----------------------------------------------------------------------


def _check_wish(wish: Wish, settings: ClinicSettings, now: datetime) -> Wish:
    weekdays = "".join(sorted({d for d in wish.weekdays if d in "0123456"}))
    parts = "".join(p for p in PARTS_OF_DAY if p in wish.parts_of_day)
    if not weekdays:
        raise DomainError("Choose at least one day of the week that suits.")
    if not parts:
        raise DomainError("Choose at least one part of the day that suits.")
    today = local_today(now, settings.zone)
    if wish.until < today:
        raise DomainError("Choose a last day that is today or later.")
    horizon = today + timedelta(days=settings.booking_horizon_days)
    if wish.until > horizon:
        raise DomainError(
            f"We take bookings up to {settings.booking_horizon_days} days ahead: choose a last "
            f"day on or before {horizon.strftime('%A')} {horizon.day} {horizon.strftime('%B')}."
        )
    if wish.practitioner is not None and not offers(wish.practitioner, wish.session_type):
        raise DomainError(f"{wish.practitioner.name} does not offer {wish.session_type.name}.")
    return Wish(wish.session_type, wish.practitioner, weekdays, parts, wish.until)


def _add_entry(patient: Patient, wish: Wish, source: str, now: datetime) -> WaitingListEntry:
    """One entry per patient and session: joining again updates what suits them."""
    entry = db.session.scalar(
        select(WaitingListEntry).where(
            WaitingListEntry.patient_id == patient.id,
            WaitingListEntry.session_type_id == wish.session_type.id,
            WaitingListEntry.status == WaitingStatus.WAITING.value,
        )
    )
    if entry is None:
        entry = WaitingListEntry(
            patient=patient, session_type=wish.session_type, source=source, created_at=now
        )
        db.session.add(entry)
    entry.practitioner = wish.practitioner
    entry.weekdays = wish.weekdays
    entry.parts_of_day = wish.parts_of_day
    entry.until = wish.until
    db.session.flush()
    if patient.email:
        notifications.queue_message(
            kind=notifications.Kind.WAITING_LIST_JOINED,
            recipient=patient.email,
            subject=f"You are on our waiting list for {wish.session_type.name}",
            template="waiting_list_joined",
            context={"entry": entry, "wish": describe(entry), "leave_url": leave_url(entry)},
            dedupe_key=f"waiting:{entry.uid}:joined:{now.isoformat()}",
        )
    return entry


def join_waiting_list(
    wish: Wish, details: PatientDetails, *, now: datetime | None = None
) -> WaitingListEntry:
    """A patient joins from the public site, giving their details and consent."""
    now = now or utcnow()
    with unit_of_work():
        wish = _check_wish(wish, clinic_settings(), now)
        patient = find_or_create_patient(details, consent_at=now)
        db.session.flush()
        patient = lock_bookable(patient)
        return _add_entry(patient, wish, AppointmentSource.ONLINE.value, now)


def add_caller(
    patient: Patient, wish: Wish, *, staff_user: StaffUser, now: datetime | None = None
) -> WaitingListEntry:
    """Reception puts a caller (a patient on file) on the waiting list."""
    now = now or utcnow()
    with unit_of_work():
        wish = _check_wish(wish, clinic_settings(), now)
        patient = lock_bookable(patient)
        entry = _add_entry(patient, wish, AppointmentSource.STAFF.value, now)
        audit.record(
            staff_user,
            "waiting_list.added",
            entry,
            session_type=wish.session_type.name,
            practitioner=wish.practitioner.name if wish.practitioner else "anyone",
        )
    return entry


def _withdraw_open_offers(entry: WaitingListEntry) -> None:
    db.session.execute(
        update(WaitingListOffer)
        .where(
            WaitingListOffer.entry_id == entry.id,
            WaitingListOffer.status == OfferStatus.OPEN.value,
        )
        .values(status=OfferStatus.WITHDRAWN.value)
    )


def remove_entry(
    entry: WaitingListEntry, *, staff_user: StaffUser | None = None, now: datetime | None = None
) -> WaitingListEntry:
    """Take an entry off the list: staff remove it, or the patient leaves by their link."""
    now = now or utcnow()
    with unit_of_work():
        entry = lock_or_refuse(WaitingListEntry, entry.id, ENTRY_GONE_MESSAGE)
        if entry.status != WaitingStatus.WAITING:
            return entry
        entry.status = WaitingStatus.REMOVED.value
        entry.ended_at = now
        _withdraw_open_offers(entry)
        if staff_user is not None:
            audit.record(staff_user, "waiting_list.removed", entry)
    return entry


# Matching ----------------------------------------------------------------------------------


def matches(entry: WaitingListEntry, starts_at: datetime, settings: ClinicSettings) -> bool:
    """Whether a start suits the entry: its weekday, part of the day and last day."""
    local = to_local(starts_at, settings.zone)
    if local.date() > entry.until or str(local.weekday()) not in entry.weekdays:
        return False
    return any(
        first <= local.hour < last
        for part, (_, first, last) in PARTS_OF_DAY.items()
        if part in entry.parts_of_day
    )


def describe(entry: WaitingListEntry) -> str:
    """In words: "Sciatica treatment with anyone, Mondays or Fridays, mornings, until ..."."""
    days = [WEEKDAY_NAMES[int(d)] + "s" for d in entry.weekdays]
    parts = [PARTS_OF_DAY[p][0].split(" (")[0].lower() for p in entry.parts_of_day]
    who = entry.practitioner.name if entry.practitioner else "any practitioner"
    day_words = (
        "any day"
        if len(days) == 7
        else " or ".join([", ".join(days[:-1]), days[-1]] if len(days) > 1 else days)
    )
    part_words = "any time of day" if len(parts) == 3 else " or ".join(parts)
    return (
        f"{entry.session_type.name} with {who}, {day_words}, {part_words}, "
        f"until {format_local_date_of(entry.until)}"
    )


def format_local_date_of(day: date) -> str:
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B %Y')}"


def free_matching_starts(
    entry: WaitingListEntry, *, now: datetime, settings: ClinicSettings, limit: int = 50
) -> list[tuple[datetime, Practitioner]]:
    """The free times (with who is free) that suit the entry, earliest first.

    The patient rules apply (minimum notice, horizon): the patient books it online.
    """
    today = local_today(now, settings.zone)
    last = min(entry.until, today + timedelta(days=settings.booking_horizon_days))
    if last < today:
        return []
    candidates = (
        [entry.practitioner]
        if entry.practitioner is not None
        else practitioners_offering(entry.session_type)
    )
    candidates = [p for p in candidates if p.active and offers(p, entry.session_type)]
    if not candidates:
        return []
    free = availability.free_starts_by_practitioner(
        candidates, entry.session_type, today, last, now=now, settings=settings
    )
    found: dict[datetime, Practitioner] = {}
    for practitioner in candidates:
        for starts in free.get(practitioner.id, {}).values():
            for start in starts:
                if start not in found and matches(entry, start, settings):
                    found[start] = practitioner
    return sorted(found.items(), key=lambda item: item[0])[:limit]


# Offering ----------------------------------------------------------------------------------


def _dedupe_key(entry: WaitingListEntry, practitioner: Practitioner, starts_at: datetime) -> str:
    return f"{entry.id}:{practitioner.id}:{starts_at.strftime('%Y%m%dT%H%M')}"


def claim_url(offer: WaitingListOffer) -> str:
    return _url("public.waiting_offer", token=offer_token(offer.uid))


def leave_url(entry: WaitingListEntry) -> str:
    return _url("public.waiting_leave", token=waiting_token(entry.uid))


def _url(endpoint: str, **values: Any) -> str:
    from flask import current_app

    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return f"{current_app.config['PUBLIC_BASE_URL']}{path}"


def _make_offer(
    entry: WaitingListEntry,
    practitioner: Practitioner,
    starts_at: datetime,
    *,
    now: datetime,
    settings: ClinicSettings,
    staff_user: StaffUser | None,
) -> WaitingListOffer:
    if not entry.patient.email:
        raise DomainError(
            f"{entry.patient.name} has no email address on file: phone them and book the "
            "time from the diary instead."
        )
    key = _dedupe_key(entry, practitioner, starts_at)
    earlier = db.session.scalar(select(WaitingListOffer).where(WaitingListOffer.dedupe_key == key))
    if earlier is not None:
        if earlier.status == OfferStatus.OPEN:
            raise DomainError("This time has already been offered to this patient.")
        # Offered before and not taken up: offer it again (by hand), as a fresh offer.
        earlier.dedupe_key = f"{key}:{earlier.id}"
        db.session.flush()
    offer = WaitingListOffer(
        entry=entry,
        practitioner=practitioner,
        starts_at=starts_at,
        dedupe_key=key,
        offered_at=now,
        expires_at=now + timedelta(minutes=settings.waiting_list_offer_minutes),
        staff_user_id=staff_user.id if staff_user is not None else None,
    )
    db.session.add(offer)
    db.session.flush()
    when = f"{format_local_date(starts_at)} at {format_local_time(starts_at)}"
    notifications.queue_message(
        kind=notifications.Kind.WAITING_LIST_OFFER,
        recipient=entry.patient.email,
        subject=f"A time has come free: {entry.session_type.name} on {when}",
        template="waiting_list_offer",
        context={
            "entry": entry,
            "offer": offer,
            "when": when,
            "claim_url": claim_url(offer),
            "leave_url": leave_url(entry),
            "expires": f"{format_local_date(offer.expires_at)} at "
            f"{format_local_time(offer.expires_at)}",
        },
        dedupe_key=f"waiting-offer:{offer.uid}",
    )
    return offer


def offer_time_by_hand(
    entry: WaitingListEntry,
    practitioner: Practitioner,
    starts_at: datetime,
    *,
    staff_user: StaffUser,
    now: datetime | None = None,
) -> WaitingListOffer:
    """Reception offers one free time to one waiting patient, by email."""
    now = now or utcnow()
    settings = clinic_settings()
    with unit_of_work():
        entry = lock_or_refuse(WaitingListEntry, entry.id, ENTRY_GONE_MESSAGE)
        if entry.status != WaitingStatus.WAITING:
            raise DomainError("This patient is no longer waiting.")
        if not offers(practitioner, entry.session_type):
            raise DomainError(f"{practitioner.name} does not offer {entry.session_type.name}.")
        if not availability.is_free_start(
            practitioner, entry.session_type, starts_at, now=now, settings=settings
        ):
            raise DomainError("That time is no longer free to book online: choose another.")
        offer = _make_offer(
            entry, practitioner, starts_at, now=now, settings=settings, staff_user=staff_user
        )
        audit.record(
            staff_user,
            "waiting_list.offered",
            entry,
            starts_at=starts_at,
            practitioner=practitioner.name,
        )
    return offer


def _course_in_progress(patient_id: Any, session_type_id: Any) -> Any:
    return exists().where(
        Course.patient_id == patient_id,
        Course.session_type_id == session_type_id,
        Course.status == CourseStatus.ACTIVE.value,
        Course.credits_remaining > 0,
    )


def waiting_entries(settings: ClinicSettings | None = None) -> list[WaitingListEntry]:
    """Everyone waiting, in the order they are offered times."""
    settings = settings or clinic_settings()
    order: list[Any] = []
    if settings.waiting_list_courses_first:
        order.append(
            _course_in_progress(WaitingListEntry.patient_id, WaitingListEntry.session_type_id)
            .correlate(WaitingListEntry)
            .desc()
        )
    order += [WaitingListEntry.created_at, WaitingListEntry.id]
    return list(
        db.session.scalars(
            select(WaitingListEntry)
            .where(WaitingListEntry.status == WaitingStatus.WAITING.value)
            .order_by(*order)
        )
    )


def expire_offers(now: datetime) -> int:
    with unit_of_work():
        result = db.session.execute(
            update(WaitingListOffer)
            .where(
                WaitingListOffer.status == OfferStatus.OPEN.value,
                WaitingListOffer.expires_at <= now,
            )
            .values(status=OfferStatus.EXPIRED.value)
        )
        ended = db.session.execute(
            update(WaitingListEntry)
            .where(
                WaitingListEntry.status == WaitingStatus.WAITING.value,
                WaitingListEntry.until < local_today(now, clinic_settings().zone),
            )
            .values(status=WaitingStatus.ENDED.value, ended_at=now)
        )
    return int(getattr(result, "rowcount", 0) or 0) + int(getattr(ended, "rowcount", 0) or 0)


def _open_times() -> set[tuple[int, datetime]]:
    """(practitioner, start) of every open offer: a time is offered to one patient at a time."""
    rows = db.session.execute(
        select(WaitingListOffer.practitioner_id, WaitingListOffer.starts_at).where(
            WaitingListOffer.status == OfferStatus.OPEN.value
        )
    )
    return {(row[0], row[1]) for row in rows}


def offer_free_times(now: datetime | None = None) -> list[WaitingListOffer]:
    """The scheduled job: offer each waiting patient, in turn, the first free time that suits.

    A patient holds one open offer at a time, a time is open to one patient at a time,
    and nobody is offered the same time twice; so when an offer expires unclaimed the
    time goes to the next patient in turn. Safe to run again at any moment.
    """
    now = now or utcnow()
    expire_offers(now)
    settings = clinic_settings()
    made: list[WaitingListOffer] = []
    for entry in waiting_entries(settings):
        if not entry.patient.email:
            continue  # reception phones them; the list shows who has no email
        if any(offer.status == OfferStatus.OPEN for offer in entry.offers):
            continue
        offered_before = {offer.dedupe_key for offer in entry.offers}
        taken = _open_times()
        for starts_at, practitioner in free_matching_starts(entry, now=now, settings=settings):
            if (practitioner.id, starts_at) in taken:
                continue
            if _dedupe_key(entry, practitioner, starts_at) in offered_before:
                continue
            offer = _offer_in_turn(entry, practitioner, starts_at, now=now, settings=settings)
            if offer is not None:
                made.append(offer)
            break
    return made


def _offer_in_turn(
    entry: WaitingListEntry,
    practitioner: Practitioner,
    starts_at: datetime,
    *,
    now: datetime,
    settings: ClinicSettings,
) -> WaitingListOffer | None:
    """Make one offer in its own unit of work, re-checking what the scan saw."""
    with unit_of_work():
        locked = lock(WaitingListEntry, entry.id)
        if locked is None or locked.status != WaitingStatus.WAITING:
            return None
        still_open = db.session.scalar(
            select(WaitingListOffer.id).where(
                WaitingListOffer.status == OfferStatus.OPEN.value,
                (WaitingListOffer.entry_id == locked.id)
                | (
                    (WaitingListOffer.practitioner_id == practitioner.id)
                    & (WaitingListOffer.starts_at == starts_at)
                ),
            )
        )
        if still_open is not None:
            return None
        return _make_offer(
            locked, practitioner, starts_at, now=now, settings=settings, staff_user=None
        )


# Claiming ----------------------------------------------------------------------------------


def offer_by_uid(uid: str) -> WaitingListOffer | None:
    return db.session.scalar(select(WaitingListOffer).where(WaitingListOffer.uid == uid))


def entry_by_uid(uid: str) -> WaitingListEntry | None:
    return db.session.scalar(select(WaitingListEntry).where(WaitingListEntry.uid == uid))


def _usable_course(entry: WaitingListEntry, starts_at: datetime, now: datetime) -> Course | None:
    """The patient's course in progress for this session, if it can pay for it."""
    for course in db.session.scalars(
        select(Course)
        .where(
            Course.patient_id == entry.patient_id,
            Course.session_type_id == entry.session_type_id,
            Course.status == CourseStatus.ACTIVE.value,
            Course.credits_remaining > 0,
        )
        .order_by(Course.expires_at)
    ):
        try:
            courses.check_course_session(course, entry.session_type, starts_at, now=now)
        except DomainError:
            continue
        return course
    return None


def claim_offer(offer: WaitingListOffer, *, now: datetime | None = None) -> Appointment:
    """The patient claims an offered time: booked through the normal booking path.

    Of two patients claiming one time, the database lets one booking in (the exclusion
    constraint on PostgreSQL, the write lock on SQLite); the other is told kindly that
    the time has gone (OfferGone), and stays on the list.
    """
    now = now or utcnow()
    try:
        with unit_of_work():
            offer = _lock_offers_of_the_time(offer)
            entry = lock_or_refuse(WaitingListEntry, offer.entry_id, ENTRY_GONE_MESSAGE)
            if offer.status == OfferStatus.CLAIMED:
                raise DomainError("You have already booked this time: check your email.")
            if entry.status != WaitingStatus.WAITING:
                raise DomainError(NOT_WAITING_MESSAGE)
            if offer.status == OfferStatus.GONE:
                raise OfferGone(GONE_MESSAGE)
            if offer.status != OfferStatus.OPEN or offer.expires_at <= now:
                raise OfferGone(EXPIRED_MESSAGE)
            appointment = book_appointment(
                session_type=entry.session_type,
                starts_at=offer.starts_at,
                # The practitioner offered, even for "anyone": the claim page named them,
                # and whoever else is free then may hold that time as another's offer.
                practitioner=offer.practitioner,
                patient=entry.patient,
                source=AppointmentSource.ONLINE,
                now=now,
                course=_usable_course(entry, offer.starts_at, now),
            )
            offer.status = OfferStatus.CLAIMED.value
            offer.claimed_at = now
            entry.status = WaitingStatus.BOOKED.value
            entry.appointment_id = appointment.id
            entry.ended_at = now
            _withdraw_open_offers(entry)
            _others_gone(offer)
        return appointment
    except OfferGone:
        raise
    except DomainError as refusal:
        if refusal.message in (NOT_WAITING_MESSAGE,) or refusal.message.startswith("You have"):
            raise
        _mark_gone(offer.id)
        raise OfferGone(GONE_MESSAGE) from refusal


def _lock_offers_of_the_time(offer: WaitingListOffer) -> WaitingListOffer:
    """Take every open offer of this time, lowest id first, and return this one afresh.

    Two claimers of one time then queue on the same first row, so the second waits for
    the first to commit and reads its offer gone. Taking only their own offers, each
    would wait on the other's booking and the other's offer: a deadlock on PostgreSQL.
    """
    rows = db.session.scalars(
        select(WaitingListOffer)
        .where(
            (WaitingListOffer.id == offer.id)
            | (
                (WaitingListOffer.status == OfferStatus.OPEN.value)
                & (WaitingListOffer.practitioner_id == offer.practitioner_id)
                & (WaitingListOffer.starts_at == offer.starts_at)
            )
        )
        .order_by(WaitingListOffer.id)
        .with_for_update(of=WaitingListOffer)
        .execution_options(populate_existing=True)
    ).all()
    mine = next((row for row in rows if row.id == offer.id), None)
    if mine is None:
        raise DomainError("This offer no longer exists.")
    return mine


def _others_gone(claimed: WaitingListOffer) -> None:
    """Other open offers of the same time to other patients: gone now."""
    db.session.execute(
        update(WaitingListOffer)
        .where(
            WaitingListOffer.status == OfferStatus.OPEN.value,
            WaitingListOffer.practitioner_id == claimed.practitioner_id,
            WaitingListOffer.starts_at == claimed.starts_at,
            WaitingListOffer.id != claimed.id,
        )
        .values(status=OfferStatus.GONE.value)
    )


def _mark_gone(offer_id: int) -> None:
    with unit_of_work():
        offer = lock(WaitingListOffer, offer_id)
        if offer is not None and offer.status == OfferStatus.OPEN:
            offer.status = OfferStatus.GONE.value


RECENTLY_BOOKED = timedelta(days=14)


def recently_booked(now: datetime | None = None) -> list[tuple[WaitingListEntry, WaitingListOffer]]:
    """Entries that ended in a booking lately, each with the offer that was claimed, newest
    first: the desk sees that a freed time went to a waiting patient, and to whom."""
    now = now or utcnow()
    rows = db.session.execute(
        select(WaitingListEntry, WaitingListOffer)
        .join(WaitingListOffer, WaitingListOffer.entry_id == WaitingListEntry.id)
        .where(
            WaitingListEntry.status == WaitingStatus.BOOKED.value,
            WaitingListEntry.ended_at >= now - RECENTLY_BOOKED,
            WaitingListOffer.status == OfferStatus.CLAIMED.value,
        )
        .order_by(WaitingListEntry.ended_at.desc(), WaitingListEntry.id.desc())
    )
    return [(row[0], row[1]) for row in rows]


def waiting_for(patient: Patient) -> list[WaitingListEntry]:
    """The patient's entries still waiting, for their page."""
    return list(
        db.session.scalars(
            select(WaitingListEntry)
            .where(
                WaitingListEntry.patient_id == patient.id,
                WaitingListEntry.status == WaitingStatus.WAITING.value,
            )
            .order_by(WaitingListEntry.created_at)
        )
    )


def claimed_offer_of(appointment: Appointment) -> WaitingListOffer | None:
    """The waiting-list offer this appointment was booked from, if it was."""
    return db.session.scalar(
        select(WaitingListOffer)
        .join(WaitingListEntry, WaitingListOffer.entry_id == WaitingListEntry.id)
        .where(
            WaitingListEntry.appointment_id == appointment.id,
            WaitingListOffer.status == OfferStatus.CLAIMED.value,
        )
        .limit(1)
    )


def offers_for(entries: Sequence[WaitingListEntry]) -> dict[int, list[WaitingListOffer]]:
    """Each entry's offers, newest first, for the staff list."""
    if not entries:
        return {}
    rows = db.session.scalars(
        select(WaitingListOffer)
        .where(WaitingListOffer.entry_id.in_([entry.id for entry in entries]))
        .order_by(WaitingListOffer.id.desc())
    )
    result: dict[int, list[WaitingListOffer]] = {entry.id: [] for entry in entries}
    for offer in rows:
        result[offer.entry_id].append(offer)
    return result
