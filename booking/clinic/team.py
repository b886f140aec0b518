"""The clinic's team: practitioners and staff accounts, added and changed by administrators.

Every change is one transaction with its audit event. The rules that keep the clinic
working live here: nobody stays booked with a practitioner who has left, every
practitioner account is tied to exactly one practitioner, and the clinic never loses its
last administrator.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from booking.clinic import DomainError, audit, flush_or_refuse, staff_sessions
from booking.clinic.password_policy import check_new_password, password_problem
from booking.clinic.slugs import free_slug, slug_from_name
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    Practitioner,
    Role,
    SessionEndReason,
    SessionType,
    StaffUser,
)

# 15 random bytes: 20 URL-safe characters, well over the minimum and easy to read out.
GENERATED_PASSWORD_BYTES = 15


class PractitionerStillBooked(DomainError):
    """Deactivation refused: live appointments lie ahead. Carries what the desk must move."""

    def __init__(self, practitioner: Practitioner, count: int, first_starts_at: datetime):
        noun = "appointment" if count == 1 else "appointments"
        super().__init__(
            f"{practitioner.name} still has {count} {noun} booked from now on. "
            "Move or cancel them in the diary first, so that no patient arrives to find "
            "nobody there; then mark them as no longer working here."
        )
        self.count = count
        self.first_starts_at = first_starts_at


@dataclass(frozen=True)
class PractitionerDetails:
    """What an administrator fills in about a practitioner."""

    name: str
    title: str = ""
    bio: str = ""
    email: str | None = None
    active: bool = True
    position: int = 0
    session_types: tuple[SessionType, ...] = ()
    # For receipts insurers and cash plans accept: e.g. "HCPC" and "PH123456".
    professional_body: str = ""
    registration_number: str = ""


# Practitioners ------------------------------------------------------------------------------


def unique_slug(name: str) -> str:
    """A slug from the name that no practitioner has yet: the second Sam Okafor gets -2."""
    base = slug_from_name(name) or "practitioner"
    taken = set(
        db.session.scalars(
            select(Practitioner.slug).where(
                (Practitioner.slug == base) | Practitioner.slug.like(f"{base}-%")
            )
        )
    )
    return free_slug(base, taken.__contains__)


def future_live_appointments(practitioner: Practitioner, *, now: datetime) -> list[Appointment]:
    """The practitioner's live appointments that have not started yet, earliest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.practitioner_id == practitioner.id,
                Appointment.is_live,
                Appointment.starts_at > now,
            )
            .order_by(Appointment.starts_at)
        )
    )


def next_position() -> int:
    """Where a new practitioner goes in lists: after everyone else."""
    highest = db.session.scalar(select(func.max(Practitioner.position)))
    return 0 if highest is None else highest + 1


_REGISTRATION_NUMBER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ./-]{0,58}[A-Za-z0-9])?")


def check_registration(body: str, number: str) -> tuple[str, str]:
    """(professional body, registration number), tidied; a DomainError saying what to fix.

    Both or neither: a number means nothing to an insurer without the body that issued it.
    """
    body = " ".join((body or "").split())
    number = " ".join((number or "").split()).upper()
    if len(body) > 120:
        raise DomainError("Keep the professional body to 120 characters or fewer.")
    if number and not _REGISTRATION_NUMBER.fullmatch(number):
        raise DomainError(
            "A registration number has letters and digits (with spaces, dots, slashes or "
            "hyphens between them), at most 60 characters, for example PH123456."
        )
    if number and not body:
        raise DomainError("Say which professional body the registration number is with.")
    if body and not number:
        raise DomainError(f"Enter the registration number with {body}, or leave both empty.")
    return body, number


def _clean_practitioner(details: PractitionerDetails) -> PractitionerDetails:
    name = " ".join(details.name.split())
    if not name:
        raise DomainError("Enter the practitioner's name.")
    email = (details.email or "").strip().lower() or None
    if details.position < 0:
        raise DomainError("The position in lists must be 0 or more.")
    body, number = check_registration(details.professional_body, details.registration_number)
    return PractitionerDetails(
        professional_body=body,
        registration_number=number,
        name=name,
        title=" ".join(details.title.split()),
        bio=details.bio.strip(),
        email=email,
        active=details.active,
        position=details.position,
        # The same session type sent twice (a doubled form field) counts once.
        session_types=tuple(dict.fromkeys(details.session_types)),
    )


def _describe_practitioner(practitioner: Practitioner) -> dict[str, Any]:
    return {
        "name": practitioner.name,
        "title": practitioner.title,
        "email": practitioner.email,
        "professional_body": practitioner.professional_body,
        "registration_number": practitioner.registration_number,
        "active": practitioner.active,
        "position": practitioner.position,
        "session_types": sorted(t.slug for t in practitioner.session_types),
        "bio_length": len(practitioner.bio or ""),
    }


def add_practitioner(details: PractitionerDetails, *, staff_user: StaffUser) -> Practitioner:
    """A new practitioner with a slug from their name and a fresh calendar feed token."""
    details = _clean_practitioner(details)
    with unit_of_work():
        practitioner = Practitioner(
            slug=unique_slug(details.name),
            name=details.name,
            title=details.title,
            bio=details.bio,
            email=details.email,
            professional_body=details.professional_body,
            registration_number=details.registration_number,
            active=details.active,
            position=details.position,
            session_types=list(details.session_types),
        )
        db.session.add(practitioner)
        flush_or_refuse(
            # Two administrators adding the same name at the same moment (PostgreSQL).
            "Someone else added a practitioner with this name just now. Please try again."
        )
        audit.record(
            staff_user,
            "practitioner.added",
            practitioner,
            slug=practitioner.slug,
            **_describe_practitioner(practitioner),
        )
    return practitioner


def change_practitioner(
    practitioner: Practitioner, details: PractitionerDetails, *, staff_user: StaffUser
) -> Practitioner:
    """Save an administrator's changes. The slug stays, so links and feeds keep working.

    Marking someone as no longer working here is refused while live appointments lie
    ahead: PractitionerStillBooked says how many, and the first one's time.
    """
    details = _clean_practitioner(details)
    with unit_of_work():
        return _change_practitioner(practitioner, details, staff_user)


def _change_practitioner(
    practitioner: Practitioner, details: PractitionerDetails, staff_user: StaffUser
) -> Practitioner:
    # Held, so two administrators' saves (or a save and a booking, which holds it shared)
    # do not interleave.
    practitioner = lock_or_refuse(
        Practitioner, practitioner.id, "This practitioner no longer exists."
    )
    before = _describe_practitioner(practitioner)
    if practitioner.active and not details.active:
        ahead = future_live_appointments(practitioner, now=utcnow())
        if ahead:
            raise PractitionerStillBooked(practitioner, len(ahead), ahead[0].starts_at)
    practitioner.name = details.name
    practitioner.title = details.title
    practitioner.bio = details.bio
    practitioner.email = details.email
    practitioner.professional_body = details.professional_body
    practitioner.registration_number = details.registration_number
    practitioner.active = details.active
    practitioner.position = details.position
    practitioner.session_types = list(details.session_types)
    db.session.flush()
    after = _describe_practitioner(practitioner)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit.record(staff_user, "practitioner.changed", practitioner, changes=changes)
    return practitioner


# Staff accounts -----------------------------------------------------------------------------


def generate_password() -> str:
    """A random first or replacement password, shown to the administrator once."""
    while True:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        # The same rule as a password a person chooses (a random one passes all but never).
        if password_problem(password) is None:
            return password


def practitioners_free_for_an_account(keep: StaffUser | None = None) -> list[Practitioner]:
    """Practitioners no account is linked to yet (plus the one `keep` is linked to)."""
    linked = select(StaffUser.practitioner_id).where(StaffUser.practitioner_id.is_not(None))
    if keep is not None:
        linked = linked.where(StaffUser.id != keep.id)
    return list(
        db.session.scalars(
            select(Practitioner)
            .where(Practitioner.id.not_in(linked))
            .order_by(Practitioner.position, Practitioner.name)
        )
    )


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise DomainError("Enter the person's name.")
    return name


def _check_role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        raise DomainError("Choose one of the roles offered.") from None


def _check_practitioner_link(
    role: str, practitioner: Practitioner | None, account: StaffUser | None
) -> None:
    if role == Role.PRACTITIONER and practitioner is None:
        raise DomainError(
            "A practitioner account must be linked to a practitioner: choose whose diary it shows."
        )
    if practitioner is None:
        return
    holder = db.session.scalar(
        select(StaffUser).where(StaffUser.practitioner_id == practitioner.id)
    )
    if holder is not None and (account is None or holder.id != account.id):
        raise DomainError(
            f"{practitioner.name} already has a staff account ({holder.email}). "
            "Change that account instead."
        )


def _lock_active_admins() -> list[StaffUser]:
    """The active administrators, locked on PostgreSQL (SQLite holds its write lock)."""
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.role == Role.ADMIN.value, StaffUser.active.is_(True))
            .with_for_update()
        )
    )


def add_staff_account(
    *,
    name: str,
    email: str,
    role: str,
    practitioner: Practitioner | None,
    staff_user: StaffUser | None,
    password: str | None = None,
) -> tuple[StaffUser, str]:
    """A new account; returns it and its password (shown only this once).

    The admin pages leave `password` out and get a generated one; the CLI's
    `create-staff` passes the one typed (checked by the password policy) and no
    `staff_user`. Either way the account is audited.
    """
    name = _clean_name(name)
    email = email.strip().lower()
    if not email:
        raise DomainError("Enter the person's email address.")
    role = _check_role(role)
    if password is None:
        password = generate_password()
    else:
        check_new_password(password, personal=(email.split("@")[0], *name.split()))
    with unit_of_work():
        if db.session.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email)):
            raise DomainError(f"There is already a staff account for {email}.")
        _check_practitioner_link(role, practitioner, None)
        account = StaffUser(email=email, name=name, role=role, practitioner=practitioner)
        account.set_password(password)
        db.session.add(account)
        flush_or_refuse(
            "Someone else saved an account with this email address or practitioner just now. "
            "Please look at the list and try again."
        )
        audit.record(
            staff_user,
            "staff.added",
            account,
            email=email,
            role=role,
            practitioner=practitioner.name if practitioner else None,
        )
    return account, password


def change_staff_account(
    account: StaffUser,
    *,
    name: str,
    role: str,
    practitioner: Practitioner | None,
    active: bool,
    staff_user: StaffUser | None,
) -> StaffUser:
    """Change name, role, linked practitioner or whether the account may sign in.

    Administrators cannot demote or deactivate themselves, and the last active
    administrator cannot be demoted or deactivated by anyone: the clinic would be
    left with nobody able to manage accounts.
    """
    name = _clean_name(name)
    role = _check_role(role)
    stops_being_admin = not (role == Role.ADMIN and active)
    if (
        staff_user is not None
        and staff_user.id == account.id
        and account.role == Role.ADMIN
        and stops_being_admin
    ):
        raise DomainError(
            "You cannot remove your own administrator role or deactivate your own account. "
            "Ask another administrator to do it."
        )
    with unit_of_work():
        return _change_staff_account(
            account, name, role, practitioner, active, stops_being_admin, staff_user
        )


def _change_staff_account(
    account: StaffUser,
    name: str,
    role: str,
    practitioner: Practitioner | None,
    active: bool,
    stops_being_admin: bool,
    staff_user: StaffUser | None,
) -> StaffUser:
    admins = _lock_active_admins()
    account = lock_or_refuse(StaffUser, account.id, "This account no longer exists.")
    was_active_admin = account.role == Role.ADMIN and account.active
    if was_active_admin and stops_being_admin and all(a.id == account.id for a in admins):
        raise DomainError(
            f"{account.name} is the only active administrator. Make someone else an "
            "administrator first, so that the clinic can still manage its accounts."
        )
    _check_practitioner_link(role, practitioner, account)
    before = _describe_account(account)
    account.name = name
    account.role = role
    account.practitioner = practitioner
    account.active = active
    flush_or_refuse(
        "Someone else linked that practitioner to an account just now. Please try again."
    )
    after = _describe_account(account)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit.record(staff_user, "staff.changed", account, email=account.email, changes=changes)
    if "role" in changes or "active" in changes:
        # The sessions already stopped opening pages (they carry the role they began
        # with); this marks them ended, so that the lists and the audit log say so.
        reason = (
            SessionEndReason.ACCOUNT_DEACTIVATED
            if not account.active
            else SessionEndReason.ROLE_CHANGED
        )
        staff_sessions.end_all(account, reason=reason, by=staff_user, now=utcnow())
    return account


def reset_password(
    account: StaffUser, *, staff_user: StaffUser | None, password: str | None = None
) -> str:
    """Give the account a new password and end its sessions; returns the password once.

    A random one unless `password` is given (the CLI's `set-password`, checked by the
    password policy).
    """
    if staff_user is not None and staff_user.id == account.id:
        # Resetting would sign the administrator out mid-page; changing it keeps them in.
        raise DomainError("To change your own password, use Change password.")
    if password is None:
        password = generate_password()
    else:
        check_new_password(password, personal=(account.email.split("@")[0], *account.name.split()))
    with unit_of_work():
        account = lock_or_refuse(StaffUser, account.id, "This account no longer exists.")
        account.set_password(password)
        # Signed-in sessions carry the version; raising it signs the account out everywhere.
        account.session_version += 1
        audit.record(staff_user, "staff.password_reset", account, email=account.email)
        staff_sessions.end_all(
            account, reason=SessionEndReason.PASSWORD_RESET, by=staff_user, now=utcnow()
        )
    return password


def _describe_account(account: StaffUser) -> dict[str, Any]:
    return {
        "name": account.name,
        "role": account.role,
        "practitioner": account.practitioner.name if account.practitioner else None,
        "active": account.active,
    }
