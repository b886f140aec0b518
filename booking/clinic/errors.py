"""Domain errors: a rule of the clinic was broken, with a message fit for a person."""

from collections.abc import Callable

SLOT_TAKEN_MESSAGE = "That time has just been taken, please choose another."
NOT_A_MOVE = "That is the appointment's time already: choose another time to move it to."


class DomainError(Exception):
    """A rule of the clinic was broken; the message is fit to show to a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SlotTaken(DomainError):
    """The time is no longer free: another booking or move took it first."""

    def __init__(self, message: str = SLOT_TAKEN_MESSAGE):
        super().__init__(message)


class ChangedMeanwhile(DomainError):
    """Someone else changed the row since the person loaded the page they acted on."""


class AlreadySubmitted(DomainError):
    """This form was sent before: its first send is being, or has been, acted on.

    The caller gives the first send's result instead; the message is only seen if
    that result cannot be found (the first send's booking was since erased).
    """

    def __init__(
        self, message: str = "This form was already sent. Please start again from the beginning."
    ):
        super().__init__(message)


class PaymentAlreadyRecorded(DomainError):
    """A payment provider's payment or refund is already in the ledger."""

    def __init__(self, message: str = "That payment has already been recorded."):
        super().__init__(message)


# The database's guarantees, by constraint name, and what the person who lost the race
# is told. The application's own checks give the same message when they see it first.
CONSTRAINT_REFUSALS: dict[str, Callable[[], DomainError]] = {
    "appointments_no_overlap": SlotTaken,
    # A second send of one form (booking.clinic.submissions): PostgreSQL names the
    # constraint, SQLite the column.
    "uq_form_submissions_key": AlreadySubmitted,
    "form_submissions.key": AlreadySubmitted,
    # Two deliveries of one provider's payment racing: the first recorded it.
    "uq_ledger_entries_provider_reference": PaymentAlreadyRecorded,
    "ledger_entries.provider_reference": PaymentAlreadyRecorded,
}


def refusal_for(error: Exception) -> DomainError | None:
    """The DomainError a database constraint's refusal stands for, if it is one we know."""
    text = str(getattr(error, "orig", error))
    for constraint, refusal in CONSTRAINT_REFUSALS.items():
        if constraint in text:
            return refusal()
    return None
