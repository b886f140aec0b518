"""The clinic's own set-up, changed by an administrator: its settings, session types and prices.

Each change is one transaction with its audit event. Prices live on the session type;
an appointment copies the price when it is booked, so a new price never reaches
appointments already made. A session type is never deleted: deactivating it takes it off
the public pages and online booking while its appointments keep pointing at it.
"""

import re
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.clinic import DomainError, audit, flush_or_refuse
from booking.clinic.email_addresses import deliverable_email
from booking.clinic.money import HIGHEST_PRICE_PENCE
from booking.clinic.payments import deposits
from booking.clinic.settings import clinic_settings
from booking.clinic.slugs import SLUG_LENGTH, SLUG_PATTERN, free_slug, slug_from_name
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.extensions import db
from booking.models import ClinicSettings, Practitioner, SessionType, StaffUser, Treatment

# Settings -----------------------------------------------------------------------------------

SLOT_STEPS = (5, 10, 15, 20, 30, 60)

# Text fields: (label for messages, longest allowed, required). Lengths match the columns.
SETTINGS_TEXT = {
    "name": ("The clinic's name", 120, True),
    "address": ("The address", 300, True),
    "phone": ("The phone number", 40, True),
    "email": ("The clinic's email address", 254, True),
    "reception_email": ("The reception email address", 254, True),
    "what_to_bring": ("What to bring", 2000, False),
    "directions": ("Directions", 2000, False),
}

# Whole-number fields: (label for messages, lowest, highest, unit).
SETTINGS_NUMBERS = {
    "cancellation_notice_hours": ("The cancellation notice", 0, 168, "hours"),
    "minimum_booking_notice_minutes": ("The minimum booking notice", 0, 10080, "minutes"),
    "booking_horizon_days": ("How far ahead patients may book", 1, 365, "days"),
    "buffer_minutes": ("The gap between appointments", 0, 60, "minutes"),
    "reminder_hours_before": ("The reminder time", 1, 168, "hours"),
    "waiting_list_offer_minutes": ("How long a waiting-list offer is open", 10, 2880, "minutes"),
    "cancellation_undo_minutes": ("The time to undo a cancellation", 0, 60, "minutes"),
    # UK practice keeps an adult's record at least eight years after the last treatment.
    "clinical_retention_years": ("How long clinical records are kept", 8, 100, "years"),
}


@dataclass(frozen=True)
class SettingsValues:
    """Everything the settings page can change, as typed by the administrator."""

    name: str
    address: str
    phone: str
    email: str
    reception_email: str
    timezone: str
    cancellation_notice_hours: int
    minimum_booking_notice_minutes: int
    booking_horizon_days: int
    slot_step_minutes: int
    buffer_minutes: int
    reminder_hours_before: int
    late_cancellation_uses_credit: bool
    no_show_uses_credit: bool
    what_to_bring: str = ""
    directions: str = ""
    # Clinical records: every practitioner reads every patient's (else only their own).
    practitioners_read_all_records: bool = False
    waiting_list_offer_minutes: int = 120
    waiting_list_courses_first: bool = True
    first_course_session_before_payment: bool = False
    email_confirmation_for_new_patients: bool = False
    cancellation_undo_minutes: int = 10
    clinical_retention_years: int = 8
    # Fees for missed appointments in pence (booking.clinic.payments.fees); 0 is none.
    no_show_fee_pence: int = 0
    late_cancellation_fee_pence: int = 0
    late_cancellation_keeps_deposit: bool = True


def settings_values(settings: ClinicSettings) -> SettingsValues:
    """The current settings in the shape the settings page edits."""
    return SettingsValues(
        **{name: getattr(settings, name) for name in SettingsValues.__dataclass_fields__}
    )


# The areas of the time zone database that name places; with UTC, the zones a clinic
# can be in. The rest are links kept for old systems ("GB", "US/Eastern"), rules
# ("EST5EDT", "Etc/GMT+5") or not zones at all: "localtime" is whatever the server
# is set to, "Factory" means "not set", "posixrules" is a file of rules.
PLACE_AREAS = (
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
    "Indian", "Pacific",
)  # fmt: skip


def is_place_zone(name: str) -> bool:
    """True for UTC and for an Area/Place name that zoneinfo can load."""
    if name != "UTC" and name.partition("/")[0] not in PLACE_AREAS:
        return False
    if name.startswith(("posix/", "right/")) or "." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name zoneinfo reads as a path, such as "Europe" (a folder) or one
        # too long for the file system.
        return False
    return True


def check_timezone(name: str) -> str:
    """The zone name, trimmed, if it is a real place (or UTC); otherwise a DomainError."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Enter the clinic's time zone, for example Europe/London.")
    if not is_place_zone(name):
        shown = f"“{name}”" if name.isprintable() and len(name) <= 60 else "That"
        raise DomainError(
            f"{shown} is not a time zone we know. Use a place name from the time zone "
            "database, for example Europe/London, or UTC."
        )
    return name


def _tidy_settings(values: SettingsValues) -> dict[str, Any]:
    """The values ready to store, or a DomainError naming the first one that cannot be."""
    tidy = asdict(values)
    for name, (label, longest, required) in SETTINGS_TEXT.items():
        text = (tidy[name] or "").strip()
        if name in {"name", "phone", "email", "reception_email"}:
            text = " ".join(text.split())
        if required and not text:
            raise DomainError(f"{label} cannot be empty.")
        if len(text) > longest:
            raise DomainError(f"{label} is too long: at most {longest} characters.")
        tidy[name] = text
    for name in ("email", "reception_email"):
        label = SETTINGS_TEXT[name][0]
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", tidy[name]):
            raise DomainError(f"{label} should look like name@example.com.")
        try:
            tidy[name] = deliverable_email(tidy[name])
        except DomainError as error:
            raise DomainError(f"{label}: {error.message}") from None
    tidy["timezone"] = check_timezone(tidy["timezone"])
    for name, (label, lowest, highest, unit) in SETTINGS_NUMBERS.items():
        if tidy[name] is None or not lowest <= tidy[name] <= highest:
            raise DomainError(f"{label} must be between {lowest} and {highest} {unit}.")
    if tidy["slot_step_minutes"] not in SLOT_STEPS:
        steps = ", ".join(str(step) for step in SLOT_STEPS[:-1]) + f" or {SLOT_STEPS[-1]}"
        raise DomainError(f"Appointments can start every {steps} minutes; choose one of those.")
    tidy["late_cancellation_uses_credit"] = bool(tidy["late_cancellation_uses_credit"])
    tidy["no_show_uses_credit"] = bool(tidy["no_show_uses_credit"])
    tidy["practitioners_read_all_records"] = bool(tidy["practitioners_read_all_records"])
    tidy["waiting_list_courses_first"] = bool(tidy["waiting_list_courses_first"])
    tidy["first_course_session_before_payment"] = bool(tidy["first_course_session_before_payment"])
    tidy["email_confirmation_for_new_patients"] = bool(tidy["email_confirmation_for_new_patients"])
    tidy["late_cancellation_keeps_deposit"] = bool(tidy["late_cancellation_keeps_deposit"])
    for name, label in (
        ("no_show_fee_pence", "The no-show fee"),
        ("late_cancellation_fee_pence", "The late cancellation fee"),
    ):
        if tidy[name] is None or not 0 <= tidy[name] <= HIGHEST_PRICE_PENCE:
            raise DomainError(f"{label} must be between £0 (no fee) and £10,000.")
    return tidy


def save_settings(values: SettingsValues, *, staff_user: StaffUser) -> list[str]:
    """Store the clinic's settings; the names of the settings that changed (audited).

    Nothing is written, not even an audit event, when nothing changed.
    """
    tidy = _tidy_settings(values)
    with unit_of_work():
        clinic_settings()  # the row exists from here on
        settings = lock_or_refuse(ClinicSettings, 1, "The clinic's settings are missing.")
        changes = {
            name: [getattr(settings, name), value]
            for name, value in tidy.items()
            if getattr(settings, name) != value
        }
        if not changes:
            return []
        for name, (_, after) in changes.items():
            setattr(settings, name, after)
        db.session.flush()
        audit.record(staff_user, "clinic_settings.changed", settings, changes=changes)
    return sorted(changes)


# Prices -------------------------------------------------------------------------------------

# Parsing and showing prices lives in booking.clinic.money (one home for money).


# Session types ------------------------------------------------------------------------------

SHORTEST_SESSION, LONGEST_SESSION = 15, 240


@dataclass(frozen=True)
class SessionTypeValues:
    """What the session type page can change.

    An empty slug means: derive one from the name (a new session type) or keep the one it has.
    """

    name: str
    duration_minutes: int
    price_pence: int
    treatment_ids: list[int]
    deposit_pence: int = 0
    practitioner_ids: list[int] = field(default_factory=list)
    description: str = ""
    slug: str = ""
    active: bool = True
    bookable_online: bool = True
    position: int = 0
    recommended: bool = False


def session_types() -> list[SessionType]:
    """Every session type, active or not, in the order the public pages show them."""
    return list(
        db.session.scalars(
            select(SessionType)
            .order_by(SessionType.position, SessionType.name)
            .options(selectinload(SessionType.treatments), selectinload(SessionType.practitioners))
        )
    )


def _slug_taken(slug: str, session_type: SessionType | None) -> bool:
    query = select(SessionType.id).where(SessionType.slug == slug)
    if session_type is not None and session_type.id is not None:
        query = query.where(SessionType.id != session_type.id)
    return db.session.scalar(query.limit(1)) is not None


def _check_session_type(values: SessionTypeValues) -> None:
    name = " ".join((values.name or "").split())
    if not name:
        raise DomainError("Give the session type a name.")
    if len(name) > 120:
        raise DomainError("The name is too long: at most 120 characters.")
    if len(values.description or "") > 2000:
        raise DomainError("The description is too long: at most 2000 characters.")
    minutes = values.duration_minutes
    if minutes is None or not SHORTEST_SESSION <= minutes <= LONGEST_SESSION or minutes % 5:
        raise DomainError(
            f"A session lasts between {SHORTEST_SESSION} and {LONGEST_SESSION} minutes, "
            "in steps of 5 minutes."
        )
    if values.price_pence is None or values.price_pence < 0:
        raise DomainError("A price cannot be negative.")
    if values.price_pence > HIGHEST_PRICE_PENCE:
        raise DomainError("That price is more than £10,000; please check it.")
    deposits.check_deposit(values.deposit_pence, values.price_pence)
    if not values.treatment_ids:
        raise DomainError("Tick at least one treatment that the session includes.")
    if values.position is None or not 0 <= values.position <= 1000:
        raise DomainError("The position must be between 0 and 1000.")
    slug = (values.slug or "").strip().lower()
    if slug and (len(slug) > SLUG_LENGTH or not SLUG_PATTERN.fullmatch(slug)):
        raise DomainError(
            "The web address may use only lower-case letters, digits and single hyphens, "
            "like full-combination (at most 80 characters)."
        )


# The rows a session type is linked to by id.
RowWithId = TypeVar("RowWithId", Treatment, Practitioner)


def _rows(model: type[RowWithId], ids: list[int], what: str) -> list[RowWithId]:
    wanted = set(ids)
    rows = list(db.session.scalars(select(model).where(model.id.in_(wanted)))) if wanted else []
    if len(rows) != len(wanted):
        raise DomainError(f"One of the {what} ticked no longer exists. Please try again.")
    return rows


def _describe(session_type: SessionType) -> dict[str, Any]:
    """The session type as the audit log keeps it: plain values and names."""
    return {
        "name": session_type.name,
        "slug": session_type.slug,
        "description": session_type.description,
        "duration_minutes": session_type.duration_minutes,
        "price_pence": session_type.price_pence,
        "deposit_pence": session_type.deposit_pence,
        "treatments": sorted(t.name for t in session_type.treatments),
        "practitioners": sorted(p.name for p in session_type.practitioners),
        "active": session_type.active,
        "bookable_online": session_type.bookable_online,
        "recommended": session_type.recommended,
        "position": session_type.position,
    }


def save_session_type(
    session_type: SessionType | None, values: SessionTypeValues, *, staff_user: StaffUser
) -> SessionType:
    """Add a session type (session_type None) or change one; audited.

    Appointments already booked keep the price they were booked at.
    """
    _check_session_type(values)
    with unit_of_work():
        return _save_session_type(session_type, values, staff_user)


def _save_session_type(
    session_type: SessionType | None, values: SessionTypeValues, staff_user: StaffUser
) -> SessionType:
    created = session_type is None
    if session_type is None:
        session_type = SessionType()
        before = {}
    else:
        session_type = lock_or_refuse(
            SessionType, session_type.id, "This session type no longer exists."
        )
        before = _describe(session_type)

    name = " ".join(values.name.split())
    typed_slug = (values.slug or "").strip().lower()
    if typed_slug:
        if typed_slug != session_type.slug and _slug_taken(typed_slug, session_type):
            raise DomainError(f"Another session type already uses the web address “{typed_slug}”.")
        slug = typed_slug
    elif created:
        base = slug_from_name(name)
        if not base:
            raise DomainError("Give the session type a name with some letters or digits in it.")
        slug = free_slug(base, lambda candidate: _slug_taken(candidate, None))
    else:
        slug = session_type.slug

    treatments = _rows(Treatment, values.treatment_ids, "treatments")
    practitioners = _rows(Practitioner, values.practitioner_ids, "practitioners")

    session_type.name = name
    session_type.slug = slug
    session_type.description = (values.description or "").strip()
    session_type.duration_minutes = values.duration_minutes
    session_type.price_pence = values.price_pence
    session_type.deposit_pence = values.deposit_pence
    session_type.treatments = sorted(treatments, key=lambda t: (t.position, t.id))
    session_type.practitioners = sorted(practitioners, key=lambda p: (p.position, p.id))
    session_type.active = bool(values.active)
    session_type.bookable_online = bool(values.bookable_online)
    session_type.recommended = bool(values.recommended)
    session_type.position = values.position
    if created:
        db.session.add(session_type)
    # Another administrator may take the web address between our check and this write.
    flush_or_refuse(
        f"Another session type already uses the web address “{slug}”. Please try again."
    )

    after = _describe(session_type)
    if created:
        audit.record(staff_user, "session_type.created", session_type, **after)
    else:
        changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        if changes:
            audit.record(staff_user, "session_type.changed", session_type, changes=changes)
    return session_type
