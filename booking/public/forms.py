"""Forms for the patient-facing pages."""

import re

from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from booking.clinic import submissions
from booking.clinic.records import outcomes
from booking.validators import DeliverableEmail, Form, VisibleName

YES_NO = [SelectChoice("no", "No"), SelectChoice("yes", "Yes")]
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]{7,25}$")


def phone_number(_form, field) -> None:
    value = (field.data or "").strip()
    digits = re.sub(r"\D", "", value)
    if not PHONE_PATTERN.match(value) or not 7 <= len(digits) <= 15:
        raise ValidationError("Enter a phone number, like 07700 900123 or +44 7700 900123.")


class OnceForm(Form):
    """A form that books something: its random key makes a second send find the first's result.

    The view gives it a fresh key when the page is shown (`with_key`); a key that is
    missing or not one of ours is replaced, and that send is acted on without one.
    """

    submission = HiddenField()

    def with_key(self) -> "OnceForm":
        if submissions.usable_key(self.submission.data) is None:
            self.submission.data = submissions.new_key()
        return self

    def submission_key(self) -> str | None:
        return submissions.usable_key(self.submission.data)


class ContactDetailsForm(Form):
    """Who the patient is and how to reach them: the least the clinic needs."""

    name = StringField(
        "Full name",
        validators=[
            DataRequired("Enter your name."),
            VisibleName(),
            Length(max=120, message="Your name must be 120 characters or fewer."),
        ],
    )
    email = StringField(
        "Email address",
        validators=[
            DataRequired("Enter your email address: we send your confirmation and links there."),
            Length(max=254, message="That email address is too long."),
            DeliverableEmail(),
        ],
    )
    phone = StringField(
        "Phone number",
        validators=[DataRequired("Enter a phone number so we can reach you."), phone_number],
    )


# Defined before the safety questions so that, in a form with both, it comes first
# (WTForms orders fields by when they were made), as it does on the page.
NOTE_FIELD = TextAreaField(
    "Anything we should know before your visit? (optional)",
    validators=[Length(max=500, message="Please keep this to 500 characters or fewer.")],
)


class RedFlagQuestions(Form):
    """The two safety questions: asked when booking, and again before every visit."""

    cauda_equina = RadioField(
        "Since your back pain started, have you had any of these: new difficulty passing urine, "
        "loss of bladder or bowel control, numbness around your genitals, buttocks or back "
        "passage, new problems with sexual function, or weakness or numbness in both legs?",
        choices=YES_NO,
        validators=[InputRequired("Please answer this safety question.")],
    )
    other_warning = RadioField(
        "Do you have any of these: a fever with your back pain, a history of cancer, weight loss "
        "you cannot explain, or back pain that began after a serious fall or accident?",
        choices=YES_NO,
        validators=[InputRequired("Please answer this safety question.")],
    )


class SafetyAnswersForm(RedFlagQuestions):
    """The two safety questions and the health-data consent.

    Asked before every online booking: a single appointment, a course request, and each
    course session (or plan) a patient books for themselves. A "yes" to the second may be
    one a doctor has already assessed (a history of cancer, say): then the booking goes
    ahead, flagged for the practitioner (`warning_sign_assessed`).
    """

    doctor_assessed = RadioField(
        "If you answered yes to the question above: has a doctor already assessed this and "
        "said you may have treatment for your back?",
        choices=YES_NO,
        validators=[Optional()],
    )

    consent = BooleanField(
        "I agree that the clinic may store the health information I give here, to arrange and "
        "provide my treatment.",
        validators=[DataRequired("We need your agreement to store your details before booking.")],
    )


class PatientDetailsForm(ContactDetailsForm, SafetyAnswersForm, OnceForm):
    note = NOTE_FIELD


class CourseRequestForm(ContactDetailsForm, SafetyAnswersForm, OnceForm):
    """Asking for a course: the contact details and the same safety questions and consent."""


class CourseSessionForm(SafetyAnswersForm, OnceForm):
    """Booking one course session, after reviewing it: the safety questions asked afresh."""


class ConfirmForm(Form):
    """A form with only the CSRF token: for buttons like "Cancel my appointment"."""


class AppointmentChangeForm(ConfirmForm):
    """Cancel or move from manage-my-booking, with the version of the appointment shown."""

    sequence = HiddenField()


SCORES = [SelectChoice("", "Choose a score")] + [
    SelectChoice(str(score), str(score)) for score in range(11)
]


def _score_field(label: str) -> SelectField:
    return SelectField(label, choices=SCORES, default="")


class OutcomeForm(Form):
    pain = _score_field("Your pain today, from 0 (no pain) to 10 (the worst you can imagine)")
    activity_1 = StringField("Activity 1", validators=[Length(max=outcomes.LONGEST_ACTIVITY)])
    score_1 = _score_field("How well you can do it, from 0 (not at all) to 10 (as before)")
    activity_2 = StringField("Activity 2", validators=[Length(max=outcomes.LONGEST_ACTIVITY)])
    score_2 = _score_field("How well you can do it, from 0 (not at all) to 10 (as before)")
    activity_3 = StringField("Activity 3", validators=[Length(max=outcomes.LONGEST_ACTIVITY)])
    score_3 = _score_field("How well you can do it, from 0 (not at all) to 10 (as before)")

    def pain_score(self) -> int | None:
        return _number(self.pain.data)

    def given(self, names: list[str]) -> list[tuple[str, int | None]]:
        """The activities and their scores as typed; only as many as were named at the
        course's first checkpoint, when some were."""
        given = [
            (
                getattr(self, f"activity_{number}").data or "",
                _number(getattr(self, f"score_{number}").data),
            )
            for number in range(1, 4)
        ]
        return given[: len(names)] if names else given


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
