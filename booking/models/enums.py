"""Every status, source and choice the tables store, in one place.

Each is a StrEnum, stored as its text value; `one_of` builds the CHECK constraint that
lets the database refuse any other value, from the enum itself, so that the list is
never written out a second time (a migration copies it once, as migrations must).
"""

import enum

from sqlalchemy import CheckConstraint


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    # The time is kept for the patient while something is still owed (a deposit, an
    # email confirmation; see HoldReason) until `held_until`: it occupies the slot as a
    # booking does, but is not yet confirmed. Booked when settled, cancelled if not.
    HELD = "held"
    # In the waiting room: reception marked them in; attended or no-show follows.
    ARRIVED = "arrived"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class HoldReason(enum.StrEnum):
    """What a held appointment is waiting for before it becomes a booking."""

    DEPOSIT = "deposit"
    EMAIL_CONFIRMATION = "email_confirmation"


class AppointmentSource(enum.StrEnum):
    """Who made the booking: the patient online, staff at the desk, or a course plan."""

    ONLINE = "online"
    STAFF = "staff"
    COURSE_PLAN = "course_plan"


class CancelledBy(enum.StrEnum):
    """Who cancelled (`cancelled_by`: the patient online, or staff), or who asked for it
    (`cancel_requested_by`: a patient who phoned asked, though staff did it)."""

    PATIENT = "patient"
    CLINIC = "clinic"


class CourseStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    ACTIVE = "active"
    CANCELLED = "cancelled"


class CourseSource(enum.StrEnum):
    """Asked for online (paid at the clinic later) or sold at the desk."""

    ONLINE = "online"
    STAFF = "staff"


class CheckoutStatus(enum.StrEnum):
    """A hosted payment page: being created, open for payment, paid, or expired unpaid."""

    CREATING = "creating"
    OPEN = "open"
    PAID = "paid"
    EXPIRED = "expired"


class ProviderEventOutcome(enum.StrEnum):
    """What became of a payment provider's webhook event."""

    PROCESSED = "processed"
    IGNORED = "ignored"
    # A refund reported before its payment: applied when the payment is recorded.
    DEFERRED = "deferred"


class RefundFailureStatus(enum.StrEnum):
    """How the payment provider said a refund ended without reaching the patient."""

    FAILED = "failed"
    CANCELED = "canceled"  # the provider's spelling


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class TestimonialStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class FeedPrivacy(enum.StrEnum):
    FULL_NAME = "full_name"
    INITIALS = "initials"
    HIDDEN = "hidden"


class DocumentKind(enum.StrEnum):
    """A numbered money document: each kind has its own gapless series."""

    INVOICE = "invoice"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"


class LedgerEntryKind(enum.StrEnum):
    """A payment in, a refund out (stored negative), or a fee the patient owes."""

    PAYMENT = "payment"
    REFUND = "refund"
    FEE = "fee"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    ONLINE = "online"


class FeeKind(enum.StrEnum):
    NO_SHOW = "no_show"
    LATE_CANCELLATION = "late_cancellation"


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECEPTIONIST = "receptionist"
    PRACTITIONER = "practitioner"


def one_of(
    column: str, values: type[enum.StrEnum], name: str, *, nullable: bool = False
) -> CheckConstraint:
    """CHECK (column in (...every value of the enum...)), NULL allowed if `nullable`."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    condition = f"{column} in ({allowed})"
    if nullable:
        condition = f"{column} is null or {condition}"
    return CheckConstraint(condition, name=name)


class RecordMethod(enum.StrEnum):
    """How part of the clinical record was given: by the patient online, or at the desk."""

    ONLINE = "online"
    DESK = "desk"


class ConsentTreatment(enum.StrEnum):
    """The treatments a patient consents to one by one (the slugs of the treatments)."""

    ACUPUNCTURE = "acupuncture"
    CUPPING = "cupping"
    MASSAGE = "massage"
    STRETCHING = "stretching"


class WaitingStatus(enum.StrEnum):
    """A waiting-list entry: still waiting, booked through an offer, removed, or past its date."""

    WAITING = "waiting"
    BOOKED = "booked"
    REMOVED = "removed"
    ENDED = "ended"


class OfferStatus(enum.StrEnum):
    """A time offered to a waiting patient: open, claimed, gone to another, or expired."""

    OPEN = "open"
    CLAIMED = "claimed"
    GONE = "gone"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class MessageChannel(enum.StrEnum):
    """Which sender delivers an outbox message (booking.clinic.channels).

    Email is built in; SMS and letters are the channels a sender may be registered for.
    A new channel is a member here and a migration (the CHECK lists these values).
    """

    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"


class SessionEndReason(enum.StrEnum):
    """Why a staff sign-in session ended (booking.clinic.staff_sessions)."""

    SIGNED_OUT = "signed_out"
    SECOND_FACTOR_FAILED = "second_factor_failed"
    TABLET_HANDED_OVER = "tablet_handed_over"
    ENDED_BY_STAFF = "ended_by_staff"
    ENDED_BY_ADMIN = "ended_by_admin"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a word, not a password
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a word, not a password
    SECOND_FACTOR_RESET = "second_factor_reset"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ROLE_CHANGED = "role_changed"
    IDLE = "idle"
    LIFETIME = "lifetime"


class SignInMethod(enum.StrEnum):
    """How a staff session proved itself."""

    PASSWORD = "password"  # noqa: S105 - a word, not a password
    PASSWORD_TOTP = "password+totp"  # noqa: S105 - a word, not a password
    PASSWORD_RECOVERY_CODE = "password+recovery_code"  # noqa: S105 - a word, not a password
    PASSWORD_PASSKEY = "password+passkey"  # noqa: S105 - a word, not a password
    PASSKEY = "passkey"


class ImportSource(enum.StrEnum):
    """The system a data import came from (the layouts of booking.clinic.data_exchange)."""

    CLINIKO = "cliniko"
    JANE = "jane"
    GENERIC = "generic"


class ImportedKind(enum.StrEnum):
    """What an imported record became here."""

    PATIENT = "patient"
    APPOINTMENT = "appointment"
