"""The team, for administrators: practitioners and staff accounts, without the command line.

A generated password is rendered straight into the response to the form that made it and
sent with `Cache-Control: no-store`: it is never put in the session cookie or a flash
message, and reloading cannot show it again.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from booking.auth.access import staff_required
from booking.clinic import DomainError, practitioner_photos, team
from booking.database import utcnow
from booking.diary import blueprint, local_day_iso
from booking.diary.forms import ConfirmForm
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.form_fields import CheckboxesField
from booking.models import Practitioner, Role, SessionType, StaffUser
from booking.validators import DeliverableEmail, Form, VisibleName

ROLE_LABELS = {
    Role.ADMIN.value: "Administrator",
    Role.RECEPTIONIST.value: "Receptionist",
    Role.PRACTITIONER.value: "Practitioner",
}
NO_PRACTITIONER = 0
CORRECT_BELOW = "Please correct the highlighted answers below."


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class PractitionerForm(Form):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the practitioner's name."),
            Length(max=120),
            VisibleName(),
        ],
    )
    title = StringField("Title", validators=[Length(max=120, message="Up to 120 characters.")])
    bio = TextAreaField(
        "About them", validators=[Length(max=5000, message="Up to 5000 characters.")]
    )
    email = StringField(
        "Email address (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=254),
            DeliverableEmail(),
        ],
    )
    professional_body = StringField(
        "Professional body (optional)",
        filters=[_strip],
        validators=[Length(max=120, message="Up to 120 characters.")],
    )
    registration_number = StringField(
        "Registration number (optional)",
        filters=[_strip],
        validators=[Length(max=60, message="Up to 60 characters.")],
    )
    position = IntegerField(
        "Position in lists",
        validators=[
            InputRequired("Enter a number: 0 comes first."),
            NumberRange(min=0, max=1000, message="A number from 0 to 1000."),
        ],
    )
    session_type_ids = CheckboxesField("Sessions they offer", coerce=int)
    active = BooleanField("Works at the clinic (can be booked)", default=True)


def _name_field() -> StringField:
    return StringField(
        "Name",
        validators=[DataRequired("Enter the person's name."), Length(max=120), VisibleName()],
    )


def _role_field() -> SelectField:
    return SelectField(
        "Role", choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()]
    )


def _practitioner_field() -> SelectField:
    return SelectField("Linked practitioner", coerce=int, default=NO_PRACTITIONER)


class NewStaffAccountForm(Form):
    name = _name_field()
    email = StringField(
        "Email address",
        filters=[_strip],
        validators=[
            DataRequired("Enter the email address they will sign in with."),
            Length(max=254),
            DeliverableEmail(),
        ],
    )
    role = _role_field()
    practitioner_id = _practitioner_field()


class StaffAccountForm(Form):
    name = _name_field()
    role = _role_field()
    practitioner_id = _practitioner_field()
    active = BooleanField("May sign in")


# Practitioners ------------------------------------------------------------------------------


def _practitioner_or_404(practitioner_id: int) -> Practitioner:
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None:
        abort(404)
    return practitioner


def _session_type_choices(form: PractitionerForm) -> dict[int, SessionType]:
    session_types = list(db.session.scalars(select(SessionType).order_by(SessionType.position)))
    form.session_type_ids.choices = [
        SelectChoice(t.id, t.name if t.active else f"{t.name} (not offered at the moment)")
        for t in session_types
    ]
    return {t.id: t for t in session_types}


@blueprint.get("/practitioners")
@staff_required(Role.ADMIN)
def practitioners():
    everyone = list(
        db.session.scalars(
            select(Practitioner)
            .order_by(Practitioner.position, Practitioner.name)
            .options(selectinload(Practitioner.session_types))
        )
    )
    accounts = {
        account.practitioner_id: account
        for account in db.session.scalars(
            select(StaffUser).where(StaffUser.practitioner_id.is_not(None))
        )
    }
    return render_template("diary/practitioners.html", practitioners=everyone, accounts=accounts)


@blueprint.route("/practitioners/new", methods=["GET", "POST"], defaults={"practitioner_id": None})
@blueprint.route("/practitioners/<int:practitioner_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def practitioner(practitioner_id: int | None):
    existing = _practitioner_or_404(practitioner_id) if practitioner_id is not None else None
    form = PractitionerForm(obj=existing)
    session_types = _session_type_choices(form)
    if not form.is_submitted():
        if existing is None:
            form.position.data = team.next_position()
        else:
            form.session_type_ids.data = [t.id for t in existing.session_types]
    problem, still_booked, status = None, None, 200
    if form.validate_on_submit():
        details = team.PractitionerDetails(
            name=form.name.data,
            title=form.title.data or "",
            bio=form.bio.data or "",
            email=form.email.data or None,
            professional_body=form.professional_body.data or "",
            registration_number=form.registration_number.data or "",
            active=form.active.data,
            position=form.position.data,
            session_types=tuple(session_types[i] for i in form.session_type_ids.data or []),
        )
        staff_user = signed_in_staff()
        try:
            if existing is None:
                saved = team.add_practitioner(details, staff_user=staff_user)
            else:
                saved = team.change_practitioner(existing, details, staff_user=staff_user)
        except team.PractitionerStillBooked as error:
            assert existing is not None  # only a change can find the practitioner booked
            problem, status = error.message, 409
            still_booked = {
                "count": error.count,
                "url": url_for(
                    ".week", slug=existing.slug, day=local_day_iso(error.first_starts_at)
                ),
            }
        except DomainError as error:
            problem, status = error.message, 422
        else:
            if existing is None:
                flash(
                    f"{saved.name} has been added. Set their working hours so that patients "
                    "can book them.",
                    "success",
                )
            else:
                flash(f"{saved.name} has been saved.", "success")
            return redirect(url_for(".practitioner", practitioner_id=saved.id))
    elif form.is_submitted():
        problem, status = CORRECT_BELOW, 422
    return render_template(
        "diary/practitioner.html",
        form=form,
        practitioner=existing,
        problem=problem,
        still_booked=still_booked,
        diary_url=(
            url_for(".week", slug=existing.slug, day=local_day_iso(utcnow()))
            if existing is not None
            else None
        ),
    ), status


class PhotoForm(Form):
    photo = FileField("Photo")


@blueprint.post("/practitioners/<int:practitioner_id>/photo")
@staff_required(Role.ADMIN)
def practitioner_photo_upload(practitioner_id: int):
    """Upload (or, with remove=1, take away) a practitioner's photo for the public pages."""
    existing = _practitioner_or_404(practitioner_id)
    # Photos from a phone are larger than any other form; the rest of the site keeps 1 MB.
    request.max_content_length = practitioner_photos.MAX_UPLOAD_BYTES + 64 * 1024
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            if request.form.get("remove"):
                practitioner_photos.remove_photo(existing, staff_user=signed_in_staff())
                flash("The photo has been removed.", "success")
            else:
                upload = form.photo.data
                data = upload.read() if upload is not None and hasattr(upload, "read") else b""
                practitioner_photos.set_photo(existing, data, staff_user=signed_in_staff())
                flash("The new photo has been saved, without its camera details.", "success")
        except DomainError as error:
            flash(error.message, "error")
    else:
        flash("The photo could not be sent. Please try again.", "error")
    return redirect(url_for(".practitioner", practitioner_id=existing.id))


# Staff accounts -----------------------------------------------------------------------------


def _account_or_404(account_id: int) -> StaffUser:
    account = db.session.get(StaffUser, account_id)
    if account is None:
        abort(404)
    return account


def _practitioner_choices(form, account: StaffUser | None) -> dict[int, Practitioner]:
    free = team.practitioners_free_for_an_account(keep=account)
    form.practitioner_id.choices = [SelectChoice(NO_PRACTITIONER, "None")] + [
        SelectChoice(p.id, p.name if p.active else f"{p.name} (no longer working here)")
        for p in free
    ]
    return {p.id: p for p in free}


def _password_page(account: StaffUser, password: str, *, new_account: bool):
    response = render_template(
        "diary/staff_account_password.html",
        account=account,
        password=password,
        new_account=new_account,
    )
    return response, 200, {"Cache-Control": "no-store"}


@blueprint.get("/staff")
@staff_required(Role.ADMIN)
def staff_accounts():
    accounts = list(
        db.session.scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name))
    )
    return render_template("diary/staff_accounts.html", accounts=accounts, role_labels=ROLE_LABELS)


@blueprint.route("/staff/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def staff_account_new():
    form = NewStaffAccountForm()
    practitioners = _practitioner_choices(form, None)
    if not form.is_submitted():
        form.role.data = Role.RECEPTIONIST.value
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            account, password = team.add_staff_account(
                name=form.name.data,
                email=form.email.data,
                role=form.role.data,
                practitioner=practitioners.get(form.practitioner_id.data),
                staff_user=signed_in_staff(),
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            return _password_page(account, password, new_account=True)
    elif form.is_submitted():
        problem, status = CORRECT_BELOW, 422
    return render_template("diary/staff_account_new.html", form=form, problem=problem), status


@blueprint.route("/staff/<int:account_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def staff_account(account_id: int):
    account = _account_or_404(account_id)
    form = StaffAccountForm(obj=account)
    practitioners = _practitioner_choices(form, account)
    if not form.is_submitted():
        form.practitioner_id.data = account.practitioner_id or NO_PRACTITIONER
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            team.change_staff_account(
                account,
                name=form.name.data,
                role=form.role.data,
                practitioner=practitioners.get(form.practitioner_id.data),
                active=form.active.data,
                staff_user=signed_in_staff(),
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            flash(f"The account for {account.email} has been saved.", "success")
            return redirect(url_for(".staff_accounts"))
    elif form.is_submitted():
        problem, status = CORRECT_BELOW, 422
    return render_template(
        "diary/staff_account.html",
        account=account,
        form=form,
        reset_form=ConfirmForm(),
        role_labels=ROLE_LABELS,
        problem=problem,
        is_self=account.id == signed_in_staff().id,
    ), status


@blueprint.post("/staff/<int:account_id>/reset-password")
@staff_required(Role.ADMIN)
def staff_account_reset_password(account_id: int):
    account = _account_or_404(account_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        password = team.reset_password(account, staff_user=signed_in_staff())
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".staff_account", account_id=account.id))
    return _password_page(account, password, new_account=False)
