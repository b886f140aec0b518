"""Outbox: messages queued in the same transaction as the change they report.

The appointment functions call these hooks before they commit. They add
OutboxMessage rows to the session and never send anything themselves.
"""

from booking.models import Appointment


def appointment_booked(appointment: Appointment) -> None:
    """Queue the confirmation (with an iCalendar REQUEST) and the reception notice."""


def appointment_moved(appointment: Appointment) -> None:
    """Queue the updated invitation (REQUEST with a higher SEQUENCE)."""


def appointment_cancelled(appointment: Appointment) -> None:
    """Queue the cancellation (iCalendar CANCEL, same UID) and the reception notice."""
