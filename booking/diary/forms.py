"""Forms for the staff screens."""

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from booking.models import CancelledBy, PaymentMethod
from booking.public.forms import phone_number
from booking.validators import DayInReach, DeliverableEmail, Form, VisibleName

# How money is taken at the desk (online payments come from the payment provider).
DESK_METHODS = [
    SelectChoice(PaymentMethod.CARD.value, "Card"),
    SelectChoice(PaymentMethod.CASH.value, "Cash"),
    SelectChoice(PaymentMethod.BANK_TRANSFER.value, "Bank transfer"),
]


class ConfirmForm(Form):
    """Only the CSRF token: for single-button actions."""


class PatientSearchForm(Form):
    query = StringField(
        "Name, email or phone",
        validators=[
            DataRequired("Type part of a name, email address or phone number."),
            Length(min=2, max=120, message="Type at least two characters."),
        ],
    )


class PhoneBookingForm(Form):
    """Book for an existing patient (patient_id) or a new one (name and email or phone)."""

    query = StringField("Find a patient: name, email or phone", validators=[Length(max=120)])
    patient_id = StringField("Patient", validators=[Optional()])
    session_type_id = SelectField("Session", coerce=int)
    name = StringField(
        "Full name",
        validators=[Length(max=120, message="Up to 120 characters."), VisibleName()],
    )
    email = StringField(
        "Email address",
        validators=[
            Optional(),
            Length(max=254),
            DeliverableEmail(),
        ],
    )
    phone = StringField("Phone number", validators=[Optional(), phone_number])
    note = TextAreaField(
        "What the patient told us (optional)",
        validators=[Length(max=500, message="Please keep this to 500 characters or fewer.")],
    )

    def wants_new_patient(self) -> bool:
        return (self.patient_id.data or "new") == "new"

    def validate_name(self, field) -> None:
        if self.wants_new_patient() and not (field.data or "").strip():
            raise ValidationError("Enter the new patient's name, or choose a patient found.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here, not on the field: an empty optional field skips its own validators.
        if (
            self.wants_new_patient()
            and not (self.email.data or "").strip()
            and not (self.phone.data or "").strip()
        ):
            self.phone.errors = [
                *self.phone.errors,
                "Enter an email address or a phone number for the new patient.",
            ]
            return False
        return valid


class MoveForm(Form):
    day = DateField("Date", validators=[DataRequired("Choose a date."), DayInReach()])
    at = TimeField("Time", validators=[DataRequired("Choose a time.")])
    practitioner_id = SelectField("Practitioner", coerce=int)
    # The version of the appointment the page showed: a change made since is refused.
    sequence = HiddenField()


class CancelForm(Form):
    # Who asked, not who clicks: only the patient's own late cancellations are counted as
    # late ones on the dashboard, and only they may be charged the fee.
    requested_by = RadioField(
        "Who asked to cancel?",
        choices=[
            SelectChoice(CancelledBy.PATIENT.value, "The patient (by phone, in person, by email)"),
            SelectChoice(CancelledBy.CLINIC.value, "The clinic (a practitioner off sick, say)"),
        ],
        validators=[InputRequired("Choose who asked to cancel: the patient or the clinic.")],
    )
    reason = StringField(
        "Reason", validators=[DataRequired("Give a reason."), Length(max=300, message="Up to 300.")]
    )
    sequence = HiddenField()
    # Ticked by staff to confirm the clinic's late cancellation fee (shown only when late).
    charge_fee = BooleanField("Charge the late cancellation fee")


class AttendanceForm(Form):
    status = SelectField(
        "Attendance",
        choices=[
            SelectChoice("arrived", "Arrived"),
            SelectChoice("attended", "Attended"),
            SelectChoice("no_show", "No-show"),
            SelectChoice("booked", "Not yet recorded"),
        ],
    )


class StaffNoteForm(Form):
    note = TextAreaField(
        "Staff note", validators=[Length(max=2000, message="Up to 2000 characters.")]
    )


class TimeOffForm(Form):
    practitioner_id = SelectField("Practitioner", coerce=int)
    first_day = DateField(
        "From date", validators=[DataRequired("Choose the first date."), DayInReach()]
    )
    last_day = DateField("To date (optional)", validators=[Optional(), DayInReach()])
    starts_at = TimeField("From time (leave empty for whole days)", validators=[Optional()])
    ends_at = TimeField("To time", validators=[Optional()])
    reason = StringField("Reason", validators=[Length(max=120, message="Up to 120 characters.")])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here, not on the field: an empty optional field skips its own validators.
        if (self.starts_at.data is None) != (self.ends_at.data is None):
            self.ends_at.errors = [
                *self.ends_at.errors,
                "Give both a from time and a to time, or neither.",
            ]
            return False
        return valid

    def validate_last_day(self, field) -> None:
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError("The last date must not be before the first.")


def no_patient_matches(query: str) -> str:
    """What an empty search says, so the receptionist knows it ran and what to do next."""
    query = query.strip()
    # A search longer than any name is not echoed back in full.
    searched = f"“{query}”" if len(query) <= 60 else "that search"
    return f"No patient matches {searched}: check the spelling, or add them as a new patient."
