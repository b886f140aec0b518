"""The administrator's set-up pages: the clinic's settings, session types and prices."""

import math

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import select
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from booking.auth.access import staff_required
from booking.clinic import DomainError, clinic_admin
from booking.clinic.clinic_admin import (
    SLOT_STEPS,
    SessionTypeValues,
    SettingsValues,
    save_session_type,
    save_settings,
    settings_values,
)
from booking.clinic.money import parse_amount_pence, parse_price_pence, price_as_typed
from booking.clinic.settings import clinic_settings
from booking.diary import blueprint
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.form_fields import CheckboxesField
from booking.models import Practitioner, Role, SessionType, Treatment
from booking.public.page_cache import forget_cached_pages
from booking.validators import Form, VisibleName

CORRECT_BELOW = "Please correct the highlighted answers below."


def _whole_number(label: str, message: str) -> IntegerField:
    # Only "is it a number" here: the clinic's limits live in the domain module.
    return IntegerField(label, validators=[InputRequired(message)])


class PenceField(StringField):
    """Money typed in pounds ("30", "30.00", "£30"), held as pence; a message when unreadable."""

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        try:
            self.data = parse_amount_pence(valuelist[0])
        except DomainError as error:
            raise ValueError(error.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return price_as_typed(self.data) if isinstance(self.data, int) else ""


class StepField(SelectField):
    """A select whose rule (which steps are allowed) lives in the domain, not here."""

    def pre_validate(self, form) -> None:
        # A forged step such as 7 reaches save_settings and gets the domain's message.
        pass


class SettingsForm(Form):
    name = StringField("Clinic name", validators=[VisibleName()])
    address = StringField("Address")
    phone = StringField("Phone number")
    # Checked by the domain (save_settings), which words the message for each setting.
    email = StringField("Email address for patients")
    reception_email = StringField("Reception email (notices of online bookings go here)")
    timezone = StringField("Time zone")
    cancellation_notice_hours = _whole_number(
        "Cancellation notice (hours)", "Enter the cancellation notice in whole hours."
    )
    minimum_booking_notice_minutes = _whole_number(
        "Minimum notice for an online booking (minutes)",
        "Enter the minimum booking notice in whole minutes.",
    )
    booking_horizon_days = _whole_number(
        "How far ahead patients may book (days)", "Enter a number of days."
    )
    slot_step_minutes = StepField(
        "Appointments may start every",
        coerce=int,
        choices=[SelectChoice(step, f"{step} minutes") for step in SLOT_STEPS],
    )
    buffer_minutes = _whole_number(
        "Gap kept free after each appointment (minutes)", "Enter the gap in whole minutes."
    )
    reminder_hours_before = _whole_number(
        "Send the reminder this many hours before", "Enter the reminder time in whole hours."
    )
    cancellation_undo_minutes = _whole_number(
        "A patient may undo an online cancellation for (minutes)",
        "Enter the time to undo a cancellation in whole minutes.",
    )
    late_cancellation_uses_credit = BooleanField(
        "A late cancellation uses one of the patient's course credits"
    )
    no_show_uses_credit = BooleanField("A missed appointment uses one of the course credits")
    practitioners_read_all_records = BooleanField(
        "Every practitioner may read every patient's clinical record"
    )
    clinical_retention_years = _whole_number(
        "Keep an erased patient's clinical record for (years after the last treatment)",
        "Enter the number of years.",
    )
    waiting_list_offer_minutes = _whole_number(
        "A time offered from the waiting list is held for (minutes)",
        "Enter how long an offer is held, in whole minutes.",
    )
    waiting_list_courses_first = BooleanField(
        "Offer freed times to patients with a course in progress first"
    )
    first_course_session_before_payment = BooleanField(
        "A new patient may book the first session of a course before paying for it"
    )
    email_confirmation_for_new_patients = BooleanField(
        "New patients confirm their email address before an online booking is kept"
    )
    no_show_fee_pence = PenceField("No-show fee (£)")
    late_cancellation_fee_pence = PenceField("Late cancellation fee (£)")
    late_cancellation_keeps_deposit = BooleanField(
        "A late cancellation keeps the patient's deposit towards the late cancellation fee"
    )
    what_to_bring = TextAreaField("What to bring")
    directions = TextAreaField("Directions")

    def values(self) -> SettingsValues:
        return SettingsValues(
            **{name: self[name].data for name in SettingsValues.__dataclass_fields__}
        )


@blueprint.route("/settings", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def settings():
    current = clinic_settings()
    form = SettingsForm(obj=settings_values(current))
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            changed = save_settings(form.values(), staff_user=signed_in_staff())
        except DomainError as error:
            problem, status = error.message, 422
        else:
            if changed:
                # This process serves the change at once; the other workers' copies of
                # the settings and the information pages expire within
                # CLINIC_SETTINGS_CACHE_SECONDS + PAGE_CACHE_SECONDS.
                forget_cached_pages()
                flash("The clinic's settings have been saved.", "success")
            else:
                flash("Nothing had changed, so nothing was saved.", "success")
            return redirect(url_for(".settings"))
    elif form.is_submitted():
        problem, status = CORRECT_BELOW, 422
    return render_template(
        "diary/settings.html",
        form=form,
        problem=problem,
        cache_seconds=math.ceil(
            current_app.config.get("PAGE_CACHE_SECONDS", 0)
            + current_app.config.get("CLINIC_SETTINGS_CACHE_SECONDS", 0)
        ),
        hold_minutes=current_app.config["EMAIL_CONFIRMATION_HOLD_MINUTES"],
    ), status


class SessionTypeForm(Form):
    name = StringField("Name", validators=[VisibleName()])
    slug = StringField("Web address")
    description = TextAreaField("Description")
    duration_minutes = _whole_number("Length (minutes)", "Enter the length in whole minutes.")
    price = StringField("Price")
    deposit = StringField("Deposit paid online when booked online (optional)")
    treatments = CheckboxesField("Treatments it includes", coerce=int)
    practitioners = CheckboxesField("Practitioners who offer it", coerce=int)
    active = BooleanField("Active (shown on the public pages)", default=True)
    bookable_online = BooleanField("Patients may book it online", default=True)
    recommended = BooleanField(
        "Recommended: shown first in the booking choice, marked as the one we suggest"
    )
    position = IntegerField(
        "Position in lists (lower comes first)",
        default=0,
        validators=[InputRequired("Enter a whole number for the position, like 0.")],
    )

    def values(self) -> SessionTypeValues:
        """The answers for the domain; DomainError when the price cannot be read."""
        return SessionTypeValues(
            name=self.name.data or "",
            slug=self.slug.data or "",
            description=self.description.data or "",
            duration_minutes=self.duration_minutes.data,
            price_pence=self._pence(self.price),
            deposit_pence=self._pence(self.deposit) if (self.deposit.data or "").strip() else 0,
            treatment_ids=list(self.treatments.data or []),
            practitioner_ids=list(self.practitioners.data or []),
            active=self.active.data,
            bookable_online=self.bookable_online.data,
            recommended=bool(self.recommended.data),
            position=self.position.data,
        )

    @staticmethod
    def _pence(field: StringField) -> int:
        """The amount typed in `field`; a DomainError (shown beside the field) if unreadable."""
        try:
            return parse_price_pence(field.data)
        except DomainError as error:
            message = error.message
            if field.name != "price":
                message = message.replace("A price", f"The {field.name}")
            field.errors = [*field.errors, message]
            raise


def _offer_choices(form: SessionTypeForm) -> None:
    treatments = db.session.scalars(select(Treatment).order_by(Treatment.position, Treatment.name))
    form.treatments.choices = [SelectChoice(t.id, t.name) for t in treatments]
    practitioners = db.session.scalars(
        select(Practitioner).order_by(Practitioner.position, Practitioner.name)
    )
    form.practitioners.choices = [
        SelectChoice(p.id, p.name if p.active else f"{p.name} (not active)") for p in practitioners
    ]


@blueprint.get("/session-types")
@staff_required(Role.ADMIN)
def session_types():
    return render_template("diary/session_types.html", session_types=clinic_admin.session_types())


@blueprint.route("/session-types/new", methods=["GET", "POST"], defaults={"session_type_id": None})
@blueprint.route("/session-types/<int:session_type_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def session_type(session_type_id: int | None):
    existing = None
    if session_type_id is not None:
        existing = db.session.get(SessionType, session_type_id)
        if existing is None:
            abort(404)
    form = SessionTypeForm(obj=existing)
    _offer_choices(form)
    if existing is not None and not form.is_submitted():
        form.price.data = price_as_typed(existing.price_pence)
        form.deposit.data = price_as_typed(existing.deposit_pence) if existing.deposit_pence else ""
        form.treatments.data = [t.id for t in existing.treatments]
        form.practitioners.data = [p.id for p in existing.practitioners]
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            values = form.values()
        except DomainError:
            problem, status = CORRECT_BELOW, 422
        else:
            try:
                saved = save_session_type(existing, values, staff_user=signed_in_staff())
            except DomainError as error:
                problem, status = error.message, 422
            else:
                # The prices page and booking pages show session types: drop stale copies.
                forget_cached_pages()
                flash(f"Saved: {saved.name}.", "success")
                return redirect(url_for(".session_types"))
    elif form.is_submitted():
        problem, status = CORRECT_BELOW, 422
    return render_template(
        "diary/session_type.html", form=form, session_type=existing, problem=problem
    ), status
