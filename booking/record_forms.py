"""Forms of the clinical record, used online (the patient's link) and at the desk (a tablet).

Shared by the public and diary blueprints, so neither imports the other. The intake form
is built from a version of the questionnaire: its questions are that version's. `fill`
and its two users below are the one way each of those views takes a record form: the
patient's link, the desk and the handed-over tablet differ only in who is recorded as
taking it and where the page goes next.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import render_template
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from booking.clinic import DomainError
from booking.clinic.localtime import local_today
from booking.clinic.records import consent, intake
from booking.clinic.records.consent import ConsentWording
from booking.clinic.records.intake import HistoryAnswer, IntakeAnswers, Questionnaire
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.models import Appointment, RecordMethod, StaffUser
from booking.validators import Form

PROBLEM = "Please correct the highlighted answers below."

YES_NO = [SelectChoice("no", "No"), SelectChoice("yes", "Yes")]
EARLIEST_BIRTH = date(1900, 1, 1)


def a_past_date_of_birth(_form, field) -> None:
    if field.data is None:
        return
    if field.data > local_today(utcnow(), clinic_settings().zone):
        raise ValidationError("Your date of birth cannot be in the future.")
    if field.data < EARLIEST_BIRTH:
        raise ValidationError("Please check the year of your date of birth.")


class IntakeFormBase(Form):
    date_of_birth = DateField(
        "Date of birth",
        validators=[
            InputRequired("Enter your date of birth."),
            a_past_date_of_birth,
        ],
    )
    gp_name = StringField(
        "Your GP's name",
        validators=[
            DataRequired("Enter your GP's name, or write “none” if you have no GP."),
            Length(max=120, message="Please keep this to 120 characters or fewer."),
        ],
    )
    gp_practice = StringField(
        "Your GP practice (name and town)",
        validators=[
            DataRequired("Enter your GP practice, or write “none” if you have no GP."),
            Length(max=200, message="Please keep this to 200 characters or fewer."),
        ],
    )
    problem = TextAreaField(
        "In your own words, what is the problem you would like help with?",
        validators=[
            DataRequired("Tell us briefly what the problem is."),
            Length(max=2000, message="Please keep this to 2,000 characters or fewer."),
        ],
    )

    questionnaire: Questionnaire

    def history_fields(self):
        """(question, yes/no field, details field) for each question, in order."""
        return [
            (question, self[question.key], self[f"{question.key}_details"])
            for question in self.questionnaire.history
        ]

    def answers(self) -> IntakeAnswers:
        return IntakeAnswers(
            date_of_birth=self.date_of_birth.data,
            gp_name=self.gp_name.data,
            gp_practice=self.gp_practice.data,
            problem=self.problem.data,
            history={
                question.key: HistoryAnswer(
                    answer.data, details.data.strip() if answer.data == "yes" else ""
                )
                for question, answer, details in self.history_fields()
            },
        )


def intake_form_class(questionnaire: Questionnaire) -> type[IntakeFormBase]:
    """A form class with the questions of `questionnaire`, each yes/no with details."""
    fields: dict[str, object] = {"questionnaire": questionnaire}
    for question in questionnaire.history:
        fields[question.key] = RadioField(
            question.text,
            choices=YES_NO,
            validators=[
                InputRequired(f"Please answer yes or no about {question.key.replace('_', ' ')}.")
            ],
        )
        fields[f"{question.key}_details"] = TextAreaField(
            f"{question.details_label} (if yes)",
            validators=[Length(max=1000, message="Please keep this to 1,000 characters or fewer.")],
        )
    return type(f"IntakeForm_{questionnaire.version}", (IntakeFormBase,), fields)


class ConsentFormBase(Form):
    wordings: list[ConsentWording]

    def consent_fields(self):
        return [(wording, self[f"consent_{wording.treatment.value}"]) for wording in self.wordings]

    def agreed(self):
        return [wording.treatment for wording, field in self.consent_fields() if field.data]


def consent_form_class(wordings: list[ConsentWording]) -> type[ConsentFormBase]:
    """One box to tick per treatment, each agreeing to that treatment's wording.

    Every box must be ticked: a visit needs consent to each of its treatments (a patient
    who would rather not have one of them calls us, and we change the session).
    """
    fields: dict[str, object] = {"wordings": wordings}
    for wording in wordings:
        fields[f"consent_{wording.treatment.value}"] = BooleanField(
            wording.agreement,
            validators=[
                DataRequired(
                    f"Please tick to agree to {wording.title.lower()}, or call us if you "
                    "would rather not have it."
                )
            ],
        )
    return type("ConsentForm", (ConsentFormBase,), fields)


@dataclass(frozen=True)
class Filled:
    """A record form after this request: saved, or to show again (with its problem)."""

    form: Form
    saved: bool = False
    problem: str | None = None
    status: int = 200


def fill(form: Form, save: Callable[[], object]) -> Filled:
    """Check the posted `form` and, if its answers are sound, `save()` them (one domain
    call). Answers the form or the domain refuses come back with the problem and a 422."""
    if form.validate_on_submit():
        try:
            save()
        except DomainError as error:
            return Filled(form, problem=error.message, status=422)
        return Filled(form, saved=True)
    if form.is_submitted():
        return Filled(form, problem=PROBLEM, status=422)
    return Filled(form)


def fill_intake(
    appointment: Appointment, *, method: RecordMethod, staff_user: StaffUser | None = None
) -> Filled:
    """The health questionnaire for `appointment`'s patient, saved when sent and sound."""
    form = intake_form_class(intake.current_questionnaire())()
    return fill(
        form,
        lambda: intake.submit_intake(
            appointment.patient,
            form.answers(),
            method=method,
            staff_user=staff_user,
            appointment=appointment,
        ),
    )


def fill_consent(
    appointment: Appointment,
    wordings: list[ConsentWording],
    *,
    method: RecordMethod,
    staff_user: StaffUser | None = None,
) -> Filled:
    """Consent to `wordings` for `appointment`, recorded when sent and sound."""
    form = consent_form_class(wordings)()
    return fill(
        form,
        lambda: consent.give_consent(
            appointment.patient,
            form.agreed(),
            method=method,
            staff_user=staff_user,
            appointment=appointment,
        ),
    )


def render_filled(template: str, filled: Filled, appointment: Appointment, **context):
    """The form's page again (first shown, or with its problem), with the form's status."""
    return render_template(
        template, form=filled.form, problem=filled.problem, appointment=appointment, **context
    ), filled.status
