"""Invoices, receipts and credit notes: issue one, read it, download its PDF, email it.

The addresses carry the document's (or appointment's, course's) id and nothing about
the patient. Only the front desk (reception and administrators) issues, opens and sends
documents; opening one or its PDF is recorded as a read of the patient's record.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from booking.auth.access import FRONT_DESK, staff_required
from booking.clinic import DomainError, access_log
from booking.clinic.documents import vat
from booking.clinic.documents.from_ledger import (
    document_for_entry,
    issue_credit_note,
    issue_invoice,
    issue_receipt,
    lines_due,
)
from booking.clinic.documents.issuing import ClaimDetails, Line
from booking.clinic.documents.listing import documents_for
from booking.clinic.documents.sending import email_document, filename
from booking.clinic.documents.titles import TITLES
from booking.clinic.money import format_money_exact
from booking.clinic.payments import ledger
from booking.clinic.settings import clinic_settings
from booking.diary import blueprint
from booking.diary.forms import ConfirmForm
from booking.diary.signed_in import signed_in_staff
from booking.extensions import db
from booking.models import (
    Appointment,
    Course,
    Document,
    DocumentKind,
    LedgerEntry,
    LedgerEntryKind,
    Patient,
    Role,
)
from booking.validators import Form

CORRECT_BELOW = "Please correct the highlighted answers below."


class ClaimForm(Form):
    """The optional details a patient claiming from an insurer or cash plan asks for."""

    insurer = StringField(
        "Insurer or cash plan", validators=[Length(max=120, message="Up to 120 characters.")]
    )
    membership_number = StringField(
        "Membership or policy number",
        validators=[Length(max=60, message="Up to 60 characters.")],
    )
    authorisation_code = StringField(
        "Authorisation code", validators=[Length(max=60, message="Up to 60 characters.")]
    )

    def claim(self) -> ClaimDetails:
        return ClaimDetails(
            insurer=self.insurer.data or "",
            membership_number=self.membership_number.data or "",
            authorisation_code=self.authorisation_code.data or "",
        )


class VatForm(Form):
    registered = BooleanField("The clinic is registered for VAT and charges it on treatments")
    number = StringField("VAT registration number", validators=[Length(max=40)])
    rate = StringField("VAT rate (%)", validators=[Length(max=10)])


@blueprint.app_context_processor
def _document_helpers() -> dict[str, Any]:
    return {"patient_documents": lambda patient_id: documents_for(patient_id=patient_id)}


def _document_or_404(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    return document


@dataclass(frozen=True)
class _Issuing:
    """What the issue page shows: whose document, its line, where "Back" goes."""

    what: str
    lines: list[Line]
    back: str
    button: str = "Issue invoice"
    paid: str = ""


def _issue_page(form: ClaimForm, page: _Issuing, problem: str | None = None, status: int = 200):
    return render_template(
        "diary/document_issue.html",
        form=form,
        what=page.what,
        lines=page.lines,
        back=page.back,
        button=page.button,
        paid=page.paid,
        problem=problem,
        vat_registered=bool(clinic_settings().vat_number),
    ), status


def _issue_view(page: _Issuing, issue: Callable[[ClaimDetails], Document]):
    """The form (GET), or issue the document with the claim details typed (POST)."""
    form = ClaimForm()
    if not form.is_submitted():
        return _issue_page(form, page)
    if not form.validate():
        return _issue_page(form, page, CORRECT_BELOW, 422)
    try:
        document = issue(form.claim())
    except DomainError as error:
        return _issue_page(form, page, error.message, 422)
    flash(f"{TITLES[DocumentKind(document.kind)]} {document.reference} issued.", "success")
    return redirect(url_for(".document", document_id=document.id))


@blueprint.route("/appointments/<int:appointment_id>/invoice", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def appointment_invoice(appointment_id: int):
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return _invoice_view(appointment, url_for(".appointment", appointment_id=appointment.id))


@blueprint.route("/courses/<int:course_id>/invoice", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def course_invoice(course_id: int):
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return _invoice_view(course, url_for(".course", course_id=course.id))


def _invoice_view(target: Appointment | Course, back: str):
    """An invoice for what `target` (an appointment or a course) still has due."""
    page = _Issuing(
        what=f"an invoice for {target.patient.name}", lines=lines_due(target), back=back
    )
    return _issue_view(
        page,
        lambda claim: issue_invoice(target, claim=claim, staff_user=signed_in_staff()),
    )


def _entry_or_404(entry_id: int) -> LedgerEntry:
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def _back_to(entry: LedgerEntry) -> str:
    if entry.appointment_id is not None:
        return url_for(".appointment", appointment_id=entry.appointment_id)
    return url_for(".course", course_id=entry.course_id)


@blueprint.route("/payments/<int:entry_id>/receipt", methods=["GET", "POST"])
@staff_required(*FRONT_DESK)
def payment_receipt(entry_id: int):
    entry = _entry_or_404(entry_id)
    if entry.kind != LedgerEntryKind.PAYMENT:
        abort(404)
    existing = document_for_entry(entry.id)
    if existing is not None:
        flash(f"This payment already has its receipt, {existing.reference}.", "success")
        return redirect(url_for(".document", document_id=existing.id))
    target = entry.appointment if entry.appointment is not None else entry.course
    if target is None:
        abort(404)
    page = _Issuing(
        what=f"a receipt for {entry.patient.name}",
        lines=lines_due(target),
        back=_back_to(entry),
        button="Issue receipt",
        paid=f"{format_money_exact(entry.amount_pence)} by {ledger.method_label(entry.method)}",
    )
    return _issue_view(
        page,
        lambda claim: issue_receipt(entry.id, claim=claim, staff_user=signed_in_staff()),
    )


@blueprint.post("/payments/<int:entry_id>/credit-note")
@staff_required(*FRONT_DESK)
def refund_credit_note(entry_id: int):
    entry = _entry_or_404(entry_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        document = issue_credit_note(entry.id, staff_user=signed_in_staff())
    except DomainError as error:
        flash(error.message, "error")
        return redirect(_back_to(entry))
    flash(f"Credit note {document.reference} issued.", "success")
    return redirect(url_for(".document", document_id=document.id))


@blueprint.get("/documents/<int:document_id>")
@staff_required(*FRONT_DESK)
def document(document_id: int):
    document = _document_read(document_id, "document")
    return render_template(
        "diary/document.html",
        document=document,
        title=TITLES[DocumentKind(document.kind)],
        email_form=ConfirmForm(),
        patient_email=_patient_email(document),
    )


def _document_read(document_id: int, what: str) -> Document:
    """The document, its reading by the signed-in staff member logged as `what`."""
    document = _document_or_404(document_id)
    if document.patient_id is not None:
        access_log.record_read(signed_in_staff(), document.patient_id, what)
    return document


def _patient_email(document: Document) -> str | None:
    patient = db.session.get(Patient, document.patient_id) if document.patient_id else None
    return patient.email if patient is not None else None


@blueprint.get("/documents/<int:document_id>/pdf")
@staff_required(*FRONT_DESK)
def document_pdf(document_id: int):
    # Imported here: fpdf2 is a fifth of the application's start and only drawing needs it.
    from booking.clinic.documents.pdf import render

    document = _document_read(document_id, "document_pdf")
    response = Response(render(document), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(document)}"'
    return response


@blueprint.post("/documents/<int:document_id>/email")
@staff_required(*FRONT_DESK)
def document_email(document_id: int):
    document = _document_or_404(document_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        emailed = email_document(document.id, staff_user=signed_in_staff())
    except DomainError as error:
        flash(error.message, "error")
    else:
        if emailed.queued:
            flash(f"{document.reference} is queued for sending to {emailed.recipient}.", "success")
        else:
            flash(
                f"{document.reference} was already queued for {emailed.recipient} a moment "
                "ago, so it was not queued twice.",
                "success",
            )
    return redirect(url_for(".document", document_id=document.id))


@blueprint.route("/settings/vat", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def vat_settings():
    current = clinic_settings()
    form = VatForm()
    if not form.is_submitted():
        form.registered.data = bool(current.vat_number)
        form.number.data = current.vat_number or ""
        form.rate.data = (
            vat.format_rate(current.vat_rate_basis_points).removesuffix("%")
            if current.vat_rate_basis_points
            else ""
        )
    problem, status = None, 200
    if form.is_submitted():
        if not form.validate():
            problem, status = CORRECT_BELOW, 422
        else:
            try:
                changed = vat.save_vat_setting(
                    registered=form.registered.data,
                    number=form.number.data,
                    rate=form.rate.data,
                    staff_user=signed_in_staff(),
                )
            except DomainError as error:
                problem, status = error.message, 422
            else:
                flash(
                    "The VAT setting has been saved." if changed else "Nothing had changed.",
                    "success",
                )
                return redirect(url_for(".vat_settings"))
    return render_template("diary/vat_settings.html", form=form, problem=problem), status
