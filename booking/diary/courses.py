"""Courses at the desk: the list, one course (mark paid, adjust credits), selling, products."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError, courses, credits, duplicates
from booking.clinic import course_products as catalogue
from booking.clinic.appointments import PatientDetails
from booking.clinic.documents.listing import panel as documents_panel
from booking.clinic.money import format_money_exact, parse_price_pence, price_as_typed
from booking.clinic.payments import ledger, online
from booking.clinic.payments.configured import online_payment_configured
from booking.clinic.tokens import course_token
from booking.diary import blueprint
from booking.diary.forms import DESK_METHODS
from booking.extensions import db
from booking.models import (
    Course,
    CourseProduct,
    CourseStatus,
    Patient,
    PaymentMethod,
    Role,
    SessionType,
)
from booking.public.forms import phone_number
from booking.validators import DeliverableEmail, Form, VisibleName

STATUS_LABELS = {
    CourseStatus.AWAITING_PAYMENT.value: "Waiting for payment",
    CourseStatus.ACTIVE.value: "Paid",
    CourseStatus.CANCELLED.value: "Cancelled",
}
PAYMENT_REFERENCE_HINT = "For example the card receipt number, or 'cash'."


def payment_reference_field() -> StringField:
    """The receipt number (or 'cash') that marks a course paid: asked when selling or marking."""
    return StringField(
        "Payment reference",
        validators=[
            DataRequired("Enter a payment reference: the receipt number, or 'cash'."),
            Length(max=120),
        ],
    )


def payment_method_field() -> SelectField:
    """How the course was paid; card when the form does not say (an older page)."""
    return SelectField("Paid by", choices=DESK_METHODS, default=PaymentMethod.CARD.value)


class MarkPaidForm(Form):
    payment_reference = payment_reference_field()
    method = payment_method_field()


class CreditAdjustmentForm(Form):
    change = IntegerField(
        "Credits to add (negative to remove)",
        validators=[
            InputRequired("Enter a number of credits, like 1 or -1."),
            NumberRange(-100, 100, "A course has at most 100 sessions: enter -100 to 100."),
        ],
    )
    reason = StringField(
        "Reason",
        validators=[
            DataRequired("Give a reason: it is kept in the course's history."),
            Length(max=200),
        ],
    )


class SellCourseForm(Form):
    """Sell a course at the desk; the patient is given (patient page) or typed in."""

    product_id = SelectField("Course", coerce=int)
    name = StringField(
        "Patient's full name", validators=[Optional(), Length(max=120), VisibleName()]
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
    payment_reference = payment_reference_field()
    method = payment_method_field()


class CourseProductForm(Form):
    name = StringField(
        "Name",
        validators=[DataRequired("Give the course a name."), Length(max=120), VisibleName()],
    )
    session_type_id = SelectField("Session type it covers", coerce=int)
    sessions_count = IntegerField(
        "Number of sessions",
        default=10,
        validators=[InputRequired("Enter the number of sessions."), NumberRange(1, 100)],
    )
    price = StringField(
        "Price in pounds", validators=[DataRequired("Enter the price, like 950 or 950.00.")]
    )
    validity_days = IntegerField(
        "Valid for (days from payment)",
        default=183,
        validators=[InputRequired("Enter how many days the course lasts."), NumberRange(1, 3660)],
    )
    active = BooleanField("On sale", default=True)

    def price_pence(self) -> int | None:
        """The price in pence, read as the session types' prices are; None with a message."""
        try:
            return parse_price_pence(self.price.data)
        except DomainError as error:
            self.price.errors.append(error.message)
            return None


def _course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return course


def _product_choices(form: SellCourseForm) -> None:
    form.product_id.choices = [
        SelectChoice(p.id, f"{p.name} ({format_money_exact(p.price_pence)})")
        for p in catalogue.products()
    ]


@blueprint.get("/courses", endpoint="courses")
@staff_required(*FRONT_DESK)
def courses_list():
    status = request.args.get("status") or None
    if status not in (None, *STATUS_LABELS):
        status = None
    form = SellCourseForm()
    _product_choices(form)
    return render_template(
        "diary/courses.html",
        courses=courses.courses_for_desk(status),
        status=status,
        status_labels=STATUS_LABELS,
        form=form,
    )


@blueprint.post("/courses/sell")
@staff_required(*FRONT_DESK)
def course_sell():
    """Sell a course to a new or returning patient typed in at the desk."""
    form = SellCourseForm()
    _product_choices(form)
    if form.validate_on_submit():
        if not (form.name.data or "").strip():
            form.name.errors.append("Enter the patient's name.")
        elif not (form.email.data or "").strip() and not (form.phone.data or "").strip():
            form.phone.errors.append("Enter an email address or a phone number.")
        else:
            on_file = (
                []
                if request.form.get("different_person")
                else duplicates.patients_on_file(form.email.data, form.phone.data)
            )
            if not on_file:
                details = PatientDetails(
                    name=form.name.data,
                    email=form.email.data or None,
                    phone=form.phone.data or None,
                )
                return _sell(form, details)
            return render_template(
                "diary/courses.html",
                courses=courses.courses_for_desk(None),
                status=None,
                status_labels=STATUS_LABELS,
                form=form,
                on_file=on_file,
                on_file_warning=duplicates.on_file_warning(on_file),
            ), 409
    return render_template(
        "diary/courses.html",
        courses=courses.courses_for_desk(None),
        status=None,
        status_labels=STATUS_LABELS,
        form=form,
    ), 422


@blueprint.route("/patients/<int:patient_id>/courses/new", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def course_new(patient_id: int):
    """Sell a course to a patient already on file."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    form = SellCourseForm()
    _product_choices(form)
    if form.validate_on_submit():
        return _sell(form, patient)
    status = 422 if form.is_submitted() else 200
    return render_template("diary/course_sell.html", form=form, patient=patient), status


def _sell(form: SellCourseForm, patient):
    product = db.session.get(CourseProduct, form.product_id.data)
    if product is None:  # the form offered only products on sale
        abort(404)
    try:
        course = ledger.sell_course_paid(
            product,
            patient,
            method=form.method.data,
            staff_user=current_user,
            reference=form.payment_reference.data,
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".courses"))
    flash(f"Course sold and paid: {course.credits_remaining} credits ready to book.", "success")
    return redirect(url_for(".course", course_id=course.id))


@blueprint.get("/courses/<int:course_id>")
@staff_required(*FRONT_DESK)
def course(course_id: int):
    course = _course_or_404(course_id)
    return _course_page(course, MarkPaidForm(), CreditAdjustmentForm())


def _course_page(course: Course, paid_form, credit_form, status: int = 200):
    return render_template(
        "diary/course.html",
        course=course,
        progress=courses.progress(course),
        status_labels=STATUS_LABELS,
        paid_form=paid_form,
        credit_form=credit_form,
        patient_link=courses_public_link(course),
        payment_hint=PAYMENT_REFERENCE_HINT,
        documents=documents_panel(course),
        online_payments=online.paid_checkouts(course),
        online_payment_offered=online_payment_configured(),
    ), status


def courses_public_link(course: Course) -> str:
    """The patient's own course page, so the desk can plan sessions with them on the phone."""
    return url_for("public.course", token=course_token(course))


@blueprint.post("/courses/<int:course_id>/paid")
@staff_required(*FRONT_DESK)
def course_paid(course_id: int):
    course = _course_or_404(course_id)
    form = MarkPaidForm()
    if not form.validate_on_submit():
        return _course_page(course, form, CreditAdjustmentForm(), 422)
    try:
        result = ledger.record_payment(
            course,
            ledger.amount_owed(course),
            form.method.data,
            current_user,
            reference=form.payment_reference.data,
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            f"{ledger.describe_payment(result)} The patient can now book their sessions.",
            "success",
        )
    return redirect(url_for(".course", course_id=course.id))


@blueprint.post("/courses/<int:course_id>/credits")
@staff_required(*FRONT_DESK)
def course_credits(course_id: int):
    course = _course_or_404(course_id)
    form = CreditAdjustmentForm()
    if not form.validate_on_submit():
        return _course_page(course, MarkPaidForm(), form, 422)
    try:
        credits.adjust_credits(course, form.change.data, form.reason.data, staff_user=current_user)
    except DomainError as error:
        flash(error.message, "error")
        return _course_page(course, MarkPaidForm(), form, 409)
    flash("Credits changed.", "success")
    return redirect(url_for(".course", course_id=course.id))


# Products (administrators) ------------------------------------------------------------------


def _session_type_choices(form: CourseProductForm) -> None:
    session_types = db.session.scalars(
        select(SessionType).where(SessionType.active.is_(True)).order_by(SessionType.position)
    )
    form.session_type_id.choices = [SelectChoice(t.id, t.name) for t in session_types]


@blueprint.get("/course-products")
@staff_required(Role.ADMIN)
def course_products():
    return render_template(
        "diary/course_products.html", products=catalogue.products(include_inactive=True)
    )


@blueprint.route("/course-products/new", methods=["GET", "POST"], defaults={"product_id": None})
@blueprint.route("/course-products/<int:product_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def course_product(product_id: int | None):
    product = None
    if product_id is not None:
        product = db.session.get(CourseProduct, product_id)
        if product is None:
            abort(404)
    form = CourseProductForm(obj=product)
    _session_type_choices(form)
    if product is not None and not form.is_submitted():
        form.price.data = price_as_typed(product.price_pence)
    elif product is None and not form.is_submitted():
        # Courses are usually of the combination session: the one with the most treatments.
        session_types = db.session.scalars(select(SessionType).order_by(SessionType.position))
        combination = max(session_types, key=lambda t: len(t.treatments), default=None)
        if combination is not None:
            form.session_type_id.data = combination.id
    status = 200
    if form.validate_on_submit():
        price_pence = form.price_pence()
        # The form offered only session types that exist, so one is found.
        session_type = db.session.get(SessionType, form.session_type_id.data)
        if price_pence is None or session_type is None:
            status = 422
        else:
            try:
                saved = catalogue.save_product(
                    product,
                    name=form.name.data,
                    session_type=session_type,
                    sessions_count=form.sessions_count.data,
                    price_pence=price_pence,
                    validity_days=form.validity_days.data,
                    active=form.active.data,
                    staff_user=current_user,
                )
            except DomainError as error:
                flash(error.message, "error")
                status = 409
            else:
                flash(f"Saved: {saved.name}.", "success")
                return redirect(url_for(".course_products"))
    elif form.is_submitted():
        status = 422
    return render_template("diary/course_product.html", form=form, product=product), status
