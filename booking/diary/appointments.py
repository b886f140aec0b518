"""Phone bookings and the appointment page: move, cancel, attendance and the staff note."""

from datetime import date, time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from booking.auth.access import ALL_STAFF, FRONT_DESK, require_practitioner_access, staff_required
from booking.clinic import (
    DomainError,
    access_log,
    availability,
    change_policy,
    communications,
    duplicates,
    rebooking,
    refusals,
    waiting_list,
)
from booking.clinic.appointments import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    move_appointment,
    record_attendance,
    set_staff_note,
)
from booking.clinic.documents.listing import panel as documents_panel
from booking.clinic.errors import NOT_A_MOVE
from booking.clinic.local_wording import format_local_time
from booking.clinic.localtime import local_to_utc, to_local, wall_time_exists, within_reach
from booking.clinic.money import format_money_exact
from booking.clinic.offerings import practitioners_offering
from booking.clinic.patients import search_patients
from booking.clinic.payments import deposit_policy, fee_links, fees, online
from booking.clinic.payments.fee_labels import FEE_LABELS
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.diary import blueprint, grid
from booking.diary.forms import (
    AttendanceForm,
    CancelForm,
    ConfirmForm,
    MoveForm,
    PhoneBookingForm,
    StaffNoteForm,
    no_patient_matches,
)
from booking.diary.record_status import appointment_record
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    Patient,
    Practitioner,
)
from booking.presentation import format_start, parse_start
from booking.validators import site_path, typed_cleanly, whole_number


def appointment_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    require_practitioner_access(appointment.practitioner)
    return appointment


def local_instant(day: date, at: time):
    """The UTC instant of a local date and time, or None for a time the clocks skip."""
    zone = clinic_settings().zone
    if not wall_time_exists(day, at, zone):
        return None
    return local_to_utc(day, at, zone)


@blueprint.route("/book", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def book():
    practitioner = db.session.get(
        Practitioner, request.args.get("practitioner", type=whole_number) or 0
    )
    starts_at = parse_start(request.args.get("start"))
    if practitioner is None or starts_at is None:
        abort(404)
    session_types = sorted(
        (s for s in practitioner.session_types if s.active), key=lambda s: s.position
    )
    form = PhoneBookingForm()
    form.session_type_id.choices = [
        SelectChoice(s.id, f"{s.name} ({s.duration_minutes} min)") for s in session_types
    ]
    found: list[Patient] = []
    problem, status = None, 200
    searching = request.form.get("action") == "search"
    if form.is_submitted() and form.query.data and form.query.data.strip():
        if typed_cleanly(form.query):
            found = search_patients(form.query.data)
    if searching:
        if form.query.errors:
            problem, status = "Please correct the highlighted answers below.", 422
        elif not found:
            problem = no_patient_matches(form.query.data)
        elif len(found) == 1:
            # One match is almost always the caller: choose them, one click fewer.
            form.patient_id.data = str(found[0].id)
    elif form.validate_on_submit():
        patient: Patient | PatientDetails
        on_file = (
            duplicates.patients_on_file(form.email.data, form.phone.data)
            if form.wants_new_patient() and not request.form.get("different_person")
            else []
        )
        if on_file:
            # Offer the record already held rather than make a second one.
            return render_template(
                "diary/book.html",
                form=form,
                practitioner=practitioner,
                starts_at=starts_at,
                found=on_file,
                on_file=True,
                problem=duplicates.on_file_warning(on_file),
                day=to_local(starts_at, clinic_settings().zone).date(),
            ), 409
        if form.wants_new_patient():
            patient = PatientDetails(
                name=form.name.data, email=form.email.data or None, phone=form.phone.data or None
            )
        else:
            patient_id = whole_number(form.patient_id.data)
            chosen = db.session.get(Patient, patient_id) if patient_id is not None else None
            if chosen is None:
                abort(400)
            patient = chosen
        session_type = next(s for s in session_types if s.id == form.session_type_id.data)
        try:
            appointment = book_appointment(
                session_type=session_type,
                starts_at=starts_at,
                practitioner=practitioner,
                patient=patient,
                source=AppointmentSource.STAFF,
                patient_note=form.note.data or "",
                staff_user=signed_in_staff(),
            )
        except DomainError as error:
            problem, status = error.message, 409
        else:
            flash(
                f"Booked {appointment.patient.name} with {practitioner.name}. "
                + _what_the_patient_is_sent(appointment),
                "success",
            )
            return redirect(url_for(".appointment", appointment_id=appointment.id))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template(
        "diary/book.html",
        form=form,
        practitioner=practitioner,
        starts_at=starts_at,
        found=found,
        problem=problem,
        day=to_local(starts_at, clinic_settings().zone).date(),
    ), status


def _move_form(appointment: Appointment) -> MoveForm:
    form = MoveForm(prefix="move")
    offering = practitioners_offering(appointment.session_type)
    form.practitioner_id.choices = [SelectChoice(p.id, p.name) for p in offering]
    if not form.is_submitted():
        local = to_local(appointment.starts_at, clinic_settings().zone)
        form.day.data, form.at.data = local.date(), local.time()
        form.practitioner_id.data = appointment.practitioner_id
    return form


def _render_appointment(appointment: Appointment, status: int = 200, **forms):
    attendance = AttendanceForm(prefix="attendance")
    note = StaffNoteForm(prefix="note")
    if not note.is_submitted():
        note.note.data = appointment.staff_note
    context = {
        "move_form": _move_form(appointment),
        "cancel_form": CancelForm(prefix="cancel"),
        "attendance_form": attendance,
        "note_form": note,
        **forms,
    }
    return render_template(
        "diary/appointment.html",
        appointment=appointment,
        course_places=grid.course_positions([appointment]),
        status_labels=grid.STATUS_LABELS,
        documents=documents_panel(appointment),
        **_fee_choices(appointment),
        record=appointment_record(appointment),
        messages=communications.appointment_log(appointment),
        from_waiting_list=waiting_list.claimed_offer_of(appointment),
        # Deposits paid online for it: each links to its refund page.
        online_payments=online.paid_checkouts(appointment),
        deposit=deposit_policy.standing(appointment),
        **context,
    ), status


def _fee_charged(appointment: Appointment) -> str:
    """ " A no-show fee of £30.00 was added to the patient's balance." when one stands."""
    standing = [fee for fee in fees.fees_on(appointment) if not fee.is_waived]
    return "".join(
        f" A {FEE_LABELS[fee.fee_kind or ''].lower()} of "
        f"{format_money_exact(fee.amount_pence)} was added to the patient's balance."
        + (" They were emailed a link to pay it online." if fee_links.link_sent(fee) else "")
        for fee in standing
    )


def _fee_choices(appointment: Appointment) -> dict:
    """What the attendance and cancel forms offer: the fees set, and whether it is late."""
    settings = clinic_settings()
    return {
        "no_show_fee": settings.no_show_fee_pence,
        "late_cancellation_fee": settings.late_cancellation_fee_pence,
        "cancelling_late": appointment.status == AppointmentStatus.BOOKED
        and change_policy.within_notice(appointment, now=utcnow(), settings=settings),
    }


def _what_the_patient_is_sent(appointment) -> str:
    """Say what really happens next: mail is queued for the worker, or nothing is sent."""
    patient = appointment.patient
    if patient.email:
        return f"An email to {patient.email} is queued for sending."
    if patient.phone:
        return f"No email is sent: we hold no address. Please phone them on {patient.phone}."
    return "No email is sent: we hold no address or phone number for this patient."


@blueprint.get("/appointments/<int:appointment_id>")
@staff_required(*ALL_STAFF)
def appointment(appointment_id: int):
    appointment = appointment_or_404(appointment_id)
    # The page shows the patient's details and notes: a read of their record.
    access_log.record_read(signed_in_staff(), appointment.patient_id, "appointment")
    return _render_appointment(appointment)


@blueprint.post("/appointments/<int:appointment_id>/move")
@staff_required(*FRONT_DESK)
def appointment_move(appointment_id: int):
    appointment = appointment_or_404(appointment_id)
    form = _move_form(appointment)
    if not form.validate_on_submit():
        return _render_appointment(appointment, 422, move_form=form)
    starts_at = local_instant(form.day.data, form.at.data)
    if starts_at is None:
        flash("That time does not exist on that day: the clocks go forward.", "error")
        return _render_appointment(appointment, 422, move_form=form)
    target = db.session.get(Practitioner, form.practitioner_id.data)
    try:
        move_appointment(
            appointment,
            starts_at=starts_at,
            practitioner=target,
            staff_user=signed_in_staff(),
            seen_sequence=whole_number(form.sequence.data),
        )
    except DomainError as error:
        flash(error.message, "error")
        return _render_appointment(appointment, 409, move_form=form)
    flash(f"The appointment has been moved. {_what_the_patient_is_sent(appointment)}", "success")
    return redirect(url_for(".appointment", appointment_id=appointment.id))


@blueprint.post("/appointments/<int:appointment_id>/cancel")
@staff_required(*FRONT_DESK)
def appointment_cancel(appointment_id: int):
    appointment = appointment_or_404(appointment_id)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        return _render_appointment(appointment, 422, cancel_form=form)
    try:
        cancel_appointment(
            appointment,
            reason=form.reason.data,
            staff_user=signed_in_staff(),
            seen_sequence=whole_number(form.sequence.data),
            charge_fee=bool(form.charge_fee.data),
            requested_by=CancelledBy(form.requested_by.data),
        )
    except DomainError as error:
        # The page again with the form as filled (a fee refused for the clinic's own
        # cancellation, say), so nothing typed is lost.
        flash(error.message, "error")
        return _render_appointment(appointment, 409, cancel_form=form)
    else:
        flash(
            f"The appointment has been cancelled.{_fee_charged(appointment)}"
            f"{_deposit_refunded(appointment)} {_what_the_patient_is_sent(appointment)}",
            "success",
        )
        to_make = deposit_policy.standing(appointment).to_make
        if to_make:
            flash(
                f"The deposit's refund of {format_money_exact(to_make)} did not go through: "
                "Stripe refused it or could not be reached. Make it from the deposit's "
                "payment page below.",
                "error",
            )
    return redirect(url_for(".appointment", appointment_id=appointment.id))


def _deposit_refunded(appointment: Appointment) -> str:
    """ " The £20.00 deposit was refunded to the patient's card." when one was."""
    deposit = deposit_policy.standing(appointment)
    if not deposit.paid:
        return ""
    words = ""
    if deposit.refunded:
        words += f" {format_money_exact(deposit.refunded)} of the deposit was refunded to the card."
    if deposit.kept > 0:
        words += f" {format_money_exact(deposit.kept)} of the deposit is kept towards the fee."
    return words


@blueprint.post("/appointments/<int:appointment_id>/attendance")
@staff_required(*ALL_STAFF)
def appointment_attendance(appointment_id: int):
    appointment = appointment_or_404(appointment_id)
    form = AttendanceForm(prefix="attendance")
    if not form.validate_on_submit():
        abort(400)
    try:
        record_attendance(
            appointment,
            AppointmentStatus(form.status.data),
            staff_user=signed_in_staff(),
            # "yes" only from the "Mark no-show and charge the fee" button: staff confirmed it.
            charge_fee=request.form.get("charge_fee") == "yes",
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        # Named, so a click on a busy grid is seen to have reached the right patient.
        who = f"{appointment.patient.name} at {format_local_time(appointment.starts_at)}"
        done = (
            "attendance undone, booked again"
            if appointment.status == AppointmentStatus.BOOKED
            else f"marked {grid.STATUS_LABELS[appointment.status].lower()}"
        )
        flash(f"{who}: {done}.{_fee_charged(appointment)}", "success")
    return redirect(
        site_path(request.form.get("back"), under="/diary/")
        or url_for(".appointment", appointment_id=appointment.id)
    )


@blueprint.post("/appointments/<int:appointment_id>/note")
@staff_required(*ALL_STAFF)
def appointment_note(appointment_id: int):
    appointment = appointment_or_404(appointment_id)
    form = StaffNoteForm(prefix="note")
    if not form.validate_on_submit():
        return _render_appointment(appointment, 422, note_form=form)
    try:
        set_staff_note(appointment, form.note.data or "", staff_user=signed_in_staff())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The staff note has been saved.", "success")
    return redirect(url_for(".appointment", appointment_id=appointment.id))


@blueprint.route("/appointments/<int:appointment_id>/again", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def appointment_again(appointment_id: int):
    """Book again: a review of the proposed time (click one), then Confirm (click two)."""
    appointment = appointment_or_404(appointment_id)
    form = ConfirmForm()
    chosen = parse_start(request.values.get("start"))
    problem, status = None, 200
    if form.validate_on_submit():
        if chosen is None:
            abort(400)
        try:
            booked = rebooking.book_again(appointment, chosen, staff_user=signed_in_staff())
        except DomainError as error:
            problem, status = error.message, 409
        else:
            flash(
                f"Booked {booked.patient.name} again with {booked.practitioner.name}. "
                + _what_the_patient_is_sent(booked),
                "success",
            )
            return redirect(url_for(".appointment", appointment_id=booked.id))
    elif form.is_submitted():
        problem, status = "The form had expired, so nothing was done. Please try again.", 400
    weeks = request.args.get("weeks", type=whole_number)
    if weeks is None and request.args.get("weeks") is not None:
        # "-1", "two" or a number too long to read: not "the next free time" instead.
        weeks = 0  # refused below with the range that is allowed
    try:
        if chosen is not None:
            proposal = rebooking.chosen_time(appointment, chosen)
        elif weeks is not None:
            proposal = rebooking.same_time_in(appointment, weeks)
        else:
            proposal = rebooking.next_free_time(appointment)
    except DomainError as error:
        proposal = rebooking.Proposal(None, error.message)
        status = 422
    return render_template(
        "diary/appointment_again.html",
        appointment=appointment,
        proposal=proposal,
        form=form,
        problem=problem,
        format_start=format_start,
    ), status


@blueprint.get("/appointments/<int:appointment_id>/move")
@staff_required(*FRONT_DESK)
def appointment_move_pick(appointment_id: int):
    """Moving by picking: the free times of a day and practitioner as buttons, then a review.

    With ?start= (a button, or an appointment dropped on a free slot of the grid) it shows
    the change from and to, with one button that saves it through the move form's POST.
    """
    appointment = appointment_or_404(appointment_id)
    settings = clinic_settings()
    offering = practitioners_offering(appointment.session_type)
    chosen_id = request.args.get("practitioner", type=whole_number) or appointment.practitioner_id
    practitioner = next((p for p in offering if p.id == chosen_id), None)
    if practitioner is None:
        abort(404)
    now = utcnow()
    start = parse_start(request.args.get("start"))
    today = to_local(now, settings.zone).date()
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        day = None
    if start is not None:
        day = to_local(start, settings.zone).date()
    if day is None or not within_reach(day):
        day = max(to_local(appointment.starts_at, settings.zone).date(), today)
    free = availability.practitioner_free_starts(
        practitioner,
        appointment.session_type,
        day,
        day,
        now=now,
        settings=settings,
        ignore_appointment_id=appointment.id,
        ignore_minimum_notice=True,
    ).get(day, [])
    if practitioner.id == appointment.practitioner_id:
        # Its own time is free of everyone else, but is no move: not offered as one.
        free = [at for at in free if at != appointment.starts_at]
    problem = None
    if (
        start is not None
        and practitioner.id == appointment.practitioner_id
        and (start == appointment.starts_at)
    ):
        problem = NOT_A_MOVE
    elif start is not None and start not in free:
        problem, _ = refusals.why_not_free(
            practitioner,
            appointment.session_type,
            start,
            now=now,
            settings=settings,
            by_staff=True,
            ignore_appointment_id=appointment.id,
        )
    move_form = _move_form(appointment)
    return render_template(
        "diary/appointment_move.html",
        appointment=appointment,
        practitioner=practitioner,
        offering=offering,
        day=day,
        free=free,
        start=start,
        problem=problem,
        move_form=move_form,
        format_start=format_start,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
    ), (409 if problem else 200)
