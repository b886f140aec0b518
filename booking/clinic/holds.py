"""Limits on what one person, or one address, can hold online without a word with the clinic.

Online booking asks for no account, so made-up contacts could otherwise fill a diary.
A patient booking online may hold at most ONLINE_HOLDS_PER_CONTACT live future
appointments under one email or phone number, and one client address at most
ONLINE_HOLDS_PER_ADDRESS; beyond that they are asked to phone. The address is kept on
the appointment only as a keyed hash (`client_key`). Course sessions, paid for in
advance, and bookings staff make are not counted against these limits.

The count and the insert after it are one step for each contact and address: bookings
sharing either wait for each other (`transaction.serialise_on`), so simultaneous
bookings cannot pass a cap together.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, func, or_, select

from booking.clinic.errors import DomainError
from booking.clinic.patients import PatientDetails
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import serialise_on
from booking.extensions import db
from booking.models import Appointment, AppointmentSource, AppointmentStatus, Patient


@dataclass(frozen=True)
class HoldLimits:
    """What an online booking is counted by: its contact details and its client address."""

    client_key: str | None


def client_key(address: str | None) -> str | None:
    """A keyed hash of a client address: the same address gives the same key, and no more."""
    if not address:
        return None
    return _keyed("client", address)


def _keyed(kind: str, text: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()


def _live_future() -> Select[int]:
    return (
        select(func.count())
        .select_from(Appointment)
        .where(
            # A held booking (awaiting a deposit or an email confirmation) counts too.
            Appointment.status.in_([AppointmentStatus.BOOKED.value, AppointmentStatus.HELD.value]),
            Appointment.course_id.is_(None),
            Appointment.source == AppointmentSource.ONLINE.value,
        )
    )


def _lock_names(details: PatientDetails, limits: HoldLimits) -> list[str]:
    # Keyed hashes of what is counted, never the contact itself. The phone by its digits
    # only: two spellings of one number wait for each other, which costs nothing.
    names = []
    if details.email:
        names.append("email:" + _keyed("email", details.email.strip().lower()))
    digits = "".join(ch for ch in (details.phone or "") if ch.isdigit())
    if digits:
        names.append("phone:" + _keyed("phone", digits))
    if limits.client_key:
        names.append("address:" + limits.client_key)
    return [f"online-holds:{name}" for name in names]


def check(details: PatientDetails, limits: HoldLimits, *, now: datetime) -> None:
    """Refuse, with the clinic's number, a booking over either limit; inside the unit of work."""
    phone = clinic_settings().phone
    per_contact = int(current_app.config["ONLINE_HOLDS_PER_CONTACT"])
    per_address = int(current_app.config["ONLINE_HOLDS_PER_ADDRESS"])
    contact = []
    if details.email:
        contact.append(Patient.email == details.email.strip().lower())
    if details.phone:
        contact.append(Patient.phone == details.phone.strip())
    # Two bookings by one contact, or from one address, at the same moment would each
    # count the other's booking as not there yet; the second waits here for the first.
    serialise_on(*_lock_names(details, limits))
    if contact:
        held = db.session.scalar(
            _live_future()
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Appointment.ends_at > now, or_(*contact))
        )
        if (held or 0) >= per_contact:
            raise DomainError(
                f"You already have {held} appointments booked online with these contact "
                f"details, the most we hold online for one person. To book another, please "
                f"call us on {phone} and we will gladly help."
            )
    if limits.client_key:
        held = db.session.scalar(
            _live_future().where(
                Appointment.ends_at > now, Appointment.client_key == limits.client_key
            )
        )
        if (held or 0) >= per_address:
            raise DomainError(
                "A lot of appointments have been booked online from this connection, so we "
                f"cannot hold another here. Please call us on {phone} to book."
            )
