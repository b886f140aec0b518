"""Courses for patients: ask for a course, see it, book its sessions one by one or all at once.

The course page lives behind a signed link (/course/<token>): the token signs the
course's random uid, so no patient detail or database id appears in a URL.
Payment is taken at the clinic for now; the course books nothing until staff
mark it paid (`booking.clinic.courses.activate_course`).
"""

from datetime import date, datetime, time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from booking.clinic import DomainError, course_plans, course_products, courses
from booking.clinic.appointments import PatientDetails, book_appointment
from booking.clinic.localtime import local_today
from booking.clinic.payments.configured import online_provider
from booking.clinic.settings import clinic_settings
from booking.clinic.tokens import course_token, manage_token
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.models import AppointmentSource, Course, CourseProduct, Practitioner
from booking.presentation import format_local_datetime, format_start, parse_start
from booking.public import blueprint
from booking.public.checkout import pay_for_course
from booking.public.forms import ConfirmForm, CourseRequestForm, CourseSessionForm
from booking.public.links import course_from_token_or_404
from booking.public.picker import day_window, free_starts_by_day, parse_day, picker_context
from booking.public.safety import safety_stop, warning_sign_assessed
from booking.validators import DayInReach, Form

SKIP = "skip"


class PlanRuleForm(Form):
    """ "Every <day> (and <day>) at <time> from <date>": a question, so sent by GET."""

    class Meta:
        csrf = False

    weekday = SelectField(
        "Day of the week",
        choices=[SelectChoice(str(n), name) for n, name in enumerate(course_plans.WEEKDAY_NAMES)],
        validators=[InputRequired("Choose a day.")],
    )
    second_weekday = SelectField(
        "Second day (for two sessions a week)",
        choices=[SelectChoice("", "Once a week only")]
        + [SelectChoice(str(n), name) for n, name in enumerate(course_plans.WEEKDAY_NAMES)],
    )
    at = SelectField("Time", validators=[InputRequired("Choose a time.")])
    first_day = DateField(
        "Starting from", validators=[InputRequired("Choose a start date."), DayInReach()]
    )
    practitioner = SelectField("Practitioner")


def _practitioner_choice(course: Course, value: str | None) -> Practitioner | None:
    """The chosen practitioner; the only one if just one offers the course; 404 for others."""
    available = course_plans.plannable_practitioners(course)
    if not value and len(available) == 1:
        return available[0]
    for practitioner in available:
        if practitioner.slug == value:
            return practitioner
    if value and value != "any":
        abort(404)
    return None


@blueprint.get("/courses")
def courses_on_sale():
    return render_template(
        "public/course_products.html",
        products=course_products.products(),
        pay_online=online_provider() is not None,
    )


@blueprint.route("/courses/<int:product_id>/request", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def course_request(product_id: int):
    product = db.session.get(CourseProduct, product_id)
    if product is None or not product.active:
        abort(404)
    form = CourseRequestForm()
    submission_key = form.submission_key()
    form.with_key()
    problem, status = None, 200
    if form.validate_on_submit():
        if (stop := safety_stop(form)) is not None:
            return stop
        try:
            course = courses.request_course(
                product,
                PatientDetails(name=form.name.data, email=form.email.data, phone=form.phone.data),
                health_consent=True,
                submission_key=submission_key,
            )
        except DomainError as error:
            problem, status = error.message, 409
        else:
            if request.form.get("pay") == "online" and online_provider() is not None:
                return pay_for_course(course)
            flash(
                "Thank you: your course is reserved. We have emailed you this page's link.",
                "success",
            )
            return redirect(url_for(".course", token=course_token(course)))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "public/course_request.html",
        form=form,
        product=product,
        problem=problem,
        pay_online=online_provider() is not None,
    ), status


@blueprint.get("/course/<token>")
def course(token: str):
    course = course_from_token_or_404(token)
    now = utcnow()
    return render_template(
        "public/course_page.html",
        course=course,
        token=token,
        progress=courses.progress(course, now=now),
        manage_token=manage_token,
        pay_online=online_provider() is not None,
        pay_form=ConfirmForm(),
    )


def _within_course(free: dict[date, list[datetime]], course: Course) -> dict:
    if course.expires_at is None:
        return free
    return {day: [s for s in starts if s < course.expires_at] for day, starts in free.items()}


@blueprint.get("/course/<token>/book")
def course_book(token: str):
    """Choose the next session's time with the same day-and-time picker; a review follows."""
    course = course_from_token_or_404(token)
    now = utcnow()
    problem = courses.booking_problem(course, now=now)
    if problem:
        flash(problem, "error")
        return redirect(url_for(".course", token=token))
    practitioner = _practitioner_choice(course, request.args.get("practitioner"))
    first, last, today, limit = day_window(parse_day(request.args.get("first")), now=now)
    free = _within_course(
        free_starts_by_day(course.session_type, practitioner, first, last, now=now), course
    )
    return render_template(
        "public/course_book.html",
        course=course,
        token=token,
        practitioner=practitioner,
        practitioners=course_plans.plannable_practitioners(course),
        practitioner_value=practitioner.slug if practitioner else "any",
        **picker_context(
            free,
            first,
            last,
            today,
            limit,
            session_type=course.session_type,
            practitioner=practitioner,
        ),
    )


@blueprint.route("/course/<token>/book/review", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def course_book_review(token: str):
    """The chosen session, the safety questions and consent, then one button that books it."""
    course = course_from_token_or_404(token)
    now = utcnow()
    problem = courses.booking_problem(course, now=now)
    if problem:
        flash(problem, "error")
        return redirect(url_for(".course", token=token))
    practitioner = _practitioner_choice(course, request.args.get("practitioner"))
    practitioner_value = practitioner.slug if practitioner else "any"
    start = parse_start(request.args.get("start"))
    times_url = url_for(".course_book", token=token, practitioner=practitioner_value)
    if start is None:
        flash("That time is not available. Please choose another.", "error")
        return redirect(times_url)
    form = CourseSessionForm()
    submission_key = form.submission_key()
    form.with_key()
    message, status = None, 200
    if form.validate_on_submit():
        if (stop := safety_stop(form)) is not None:
            return stop
        try:
            appointment = book_appointment(
                session_type=course.session_type,
                starts_at=start,
                practitioner=practitioner,
                course=course,
                source=AppointmentSource.ONLINE,
                health_consent=True,
                now=now,
                submission_key=submission_key,
                warning_sign_assessed=warning_sign_assessed(form),
            )
        except DomainError as error:
            message, status = error.message, 409
        else:
            flash(
                f"Booked: {format_local_datetime(appointment.starts_at)}. "
                "We have emailed you a confirmation.",
                "success",
            )
            return redirect(url_for(".course", token=token))
    elif form.is_submitted():
        message, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "public/course_book_review.html",
        course=course,
        token=token,
        form=form,
        practitioner=practitioner,
        start=start,
        ends_at=start + timedelta(minutes=course.session_type.duration_minutes),
        times_url=times_url,
        problem=message,
    ), status


def _time_choices(course: Course) -> list[SelectChoice]:
    """Times on the clinic's slot grid within the practitioners' working hours."""
    hours = [
        (row.starts_at, row.ends_at)
        for practitioner in course_plans.plannable_practitioners(course)
        for row in practitioner.working_hours
    ]
    opens = min((start for start, _ in hours), default=time(9))
    closes = max((end for _, end in hours), default=time(18))
    step = clinic_settings().slot_step_minutes
    # In minutes of the day: hours that close before a whole session fits give no times,
    # rather than a time before midnight.
    last = closes.hour * 60 + closes.minute - course.session_type.duration_minutes
    first = opens.hour * 60 + opens.minute
    return [
        SelectChoice(f"{minute // 60:02d}:{minute % 60:02d}")
        for minute in range(first, last + 1, step)
    ]


def _plan_form(course: Course, now: datetime) -> PlanRuleForm:
    form = PlanRuleForm(formdata=request.args if request.args else None)
    form.at.choices = _time_choices(course)
    practitioners = course_plans.plannable_practitioners(course)
    form.practitioner.choices = [SelectChoice(p.slug, p.name) for p in practitioners]
    if not request.args:
        today = local_today(now, clinic_settings().zone)
        form.first_day.data = today + timedelta(days=1)
        form.weekday.data = str(form.first_day.data.weekday())
        offered = {choice.value for choice in form.at.choices}
        form.at.data = "10:00" if "10:00" in offered else None
    return form


@blueprint.route("/course/<token>/plan", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def course_plan(token: str):
    """Plan the remaining sessions at once: propose from a weekly rule, then book them all."""
    course = course_from_token_or_404(token)
    now = utcnow()
    problem = courses.booking_problem(course, now=now)
    if problem:
        flash(problem, "error")
        return redirect(url_for(".course", token=token))
    rule = _plan_form(course, now)
    confirm = CourseSessionForm()
    submission_key = confirm.submission_key()
    confirm.with_key()
    plan, status = None, 200
    if request.args and rule.validate():
        practitioner = db.session.scalar(
            select(Practitioner).where(Practitioner.slug == rule.practitioner.data)
        )
        if practitioner is None:  # the form offered only these practitioners
            abort(404)
        weekdays = [int(rule.weekday.data)]
        if rule.second_weekday.data:
            weekdays.append(int(rule.second_weekday.data))
        try:
            if request.method == "POST" and confirm.validate_on_submit():
                if (stop := safety_stop(confirm)) is not None:
                    return stop
                chosen = [
                    request.form.get(f"session-{n}", SKIP) for n in range(course.sessions_total)
                ]
                parsed = [parse_start(value) for value in chosen if value != SKIP]
                starts = [start for start in parsed if start is not None]
                if len(starts) != len(parsed):
                    raise DomainError("One of the times could not be read. Please choose again.")
                booked = course_plans.book_plan(
                    course,
                    practitioner=practitioner,
                    starts=starts,
                    now=now,
                    health_consent=True,
                    submission_key=submission_key,
                    warning_sign_assessed=warning_sign_assessed(confirm),
                )
                flash(
                    f"{len(booked)} sessions are booked. We have emailed you the dates "
                    "with a calendar file that adds them all.",
                    "success",
                )
                return redirect(url_for(".course", token=token))
            if request.method == "POST":
                status = 422  # the safety answers or consent are missing: shown by the form
        except DomainError as error:
            flash(error.message, "error")
            status = 409
        try:
            plan = course_plans.propose_plan(
                course,
                practitioner=practitioner,
                weekdays=weekdays,
                at=time.fromisoformat(rule.at.data),
                first_day=rule.first_day.data,
                now=now,
            )
        except DomainError as error:
            flash(error.message, "error")
            status = 409 if status == 409 else 422
    elif request.args:
        status = 422
    return render_template(
        "public/course_plan.html",
        course=course,
        token=token,
        rule=rule,
        confirm=confirm,
        plan=plan,
        format_start=format_start,
        skip=SKIP,
    ), status
