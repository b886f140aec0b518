"""Numbered invoices, receipts and credit notes (issue 20): numbers, copies, PDF, email.

Every PDF is read back with poppler's pdftotext and checked field by field; the email
goes through the outbox worker to the real SMTP server of tests/fixtures_mail.py.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic.documents import vat
from booking.clinic.documents.from_ledger import (
    issue_credit_note,
    issue_invoice,
    issue_receipt,
    refund_with_credit_note,
)
from booking.clinic.documents.issuing import ClaimDetails, Line, issue
from booking.clinic.documents.numbering import reference
from booking.clinic.documents.pdf import VAT_EXEMPT_WORDING, latin1, render
from booking.clinic.documents.sending import email_document
from booking.clinic.errors import DomainError
from booking.clinic.localtime import local_to_utc
from booking.clinic.outbox import send_due
from booking.clinic.payments.ledger import record_payment, record_refund
from booking.clinic.settings import clinic_settings, forget_clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    AccessEvent,
    AuditEvent,
    ClinicSettings,
    Document,
    DocumentKind,
    LedgerEntry,
    OutboxMessage,
    Patient,
    StaffUser,
)
from tests.at_once import race
from tests.fixtures_mail import attachments, plain_text
from tests.forms import csrf_token
from tests.pdf_text import pdf_text

LONDON = ZoneInfo("Europe/London")
# A fixed Tuesday: documents print the treatment's date, so no test depends on today.
TREATMENT_DAY = date(2026, 3, 10)
ISSUED_AT = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)


def at(day: date, hour: int) -> datetime:
    return local_to_utc(day, time(hour), LONDON)


@pytest.fixture
def reception(app, demo, make_staff) -> StaffUser:
    return make_staff("receptionist")


@pytest.fixture
def visit(demo, make_appointment, make_patient):
    """Zoë's £65 massage with Colette on 10 March 2026 (a name outside Latin-1)."""
    patient = make_patient("Zoë Łukasiewicz", email="zoe@example.org")
    return make_appointment(at(TREATMENT_DAY, 10), patient=patient, price_pence=6500)


def set_vat(number: str | None, rate: int | None) -> None:
    with unit_of_work():
        settings = db.session.get(ClinicSettings, clinic_settings().id)
        settings.vat_number, settings.vat_rate_basis_points = number, rate
    forget_clinic_settings()


# Numbers ----------------------------------------------------------------------------------


def test_each_kind_of_document_has_its_own_series_and_prefix(visit, reception):
    first = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)
    second = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)
    receipt = issue(
        DocumentKind.RECEIPT,
        patient=visit.patient,
        lines=[Line("Massage", 6500)],
        staff_user=reception,
        paid_pence=6500,
        method="Card",
    )
    credit = issue(
        DocumentKind.CREDIT_NOTE,
        patient=visit.patient,
        lines=[Line("Massage", 6500)],
        staff_user=reception,
        paid_pence=6500,
        original=receipt,
    )

    assert [first.reference, second.reference] == ["INV-000001", "INV-000002"]
    assert receipt.reference == "REC-000001"
    assert credit.reference == "CN-000001"
    assert reference(DocumentKind.INVOICE, 1_234_567) == "INV-1234567"


def test_a_rolled_back_issue_gives_its_number_back(visit, reception):
    with pytest.raises(DomainError), unit_of_work():
        issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)
        raise DomainError("The payment it went with was refused.")
    db.session.expire_all()

    kept = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)

    assert kept.number == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_a_refused_claim_detail_takes_no_number(visit, reception):
    with pytest.raises(DomainError, match="The insurer's name is too long"):
        issue_invoice(visit, claim=ClaimDetails(insurer="x" * 121), staff_user=reception)
    assert issue_invoice(visit, claim=ClaimDetails(), staff_user=reception).number == 1


def test_documents_issued_at_once_are_numbered_1_to_n_with_no_gap(app, visit, reception):
    """Twelve desks issue at the same moment; every third changes its mind and rolls back."""
    appointment_id, staff_id = visit.id, reception.id
    db.session.remove()

    def attempt(number: int) -> str:
        from booking.models import Appointment

        with unit_of_work():
            document = issue_invoice(
                db.session.get(Appointment, appointment_id),
                claim=ClaimDetails(),
                staff_user=db.session.get(StaffUser, staff_id),
            )
            if number % 3 == 0:
                raise DomainError("rolled back")
            return document.reference

    outcomes = race(app, 12, attempt)

    issued = sorted(outcome for outcome in outcomes if outcome.startswith("INV-"))
    assert len(issued) == 8 and outcomes.count("rolled back") == 4, outcomes
    numbers = list(db.session.scalars(sa.select(Document.number).order_by(Document.number)))
    assert numbers == list(range(1, 9))
    assert issued == [f"INV-{number:06d}" for number in range(1, 9)]


# What a document keeps ----------------------------------------------------------------------


def test_an_issued_document_keeps_the_details_it_was_issued_with(visit, reception):
    document = issue_invoice(
        visit,
        claim=ClaimDetails(insurer="Bupa", membership_number="BU 1234", authorisation_code="A9"),
        staff_user=reception,
        now=ISSUED_AT,
    )
    before = pdf_text(render(document))
    with unit_of_work():
        patient = db.session.get(Patient, visit.patient_id)
        patient.name = "Zoë Kowalska"
        settings = db.session.get(ClinicSettings, 1)
        settings.address = "99 Elsewhere Lane, London N1 1AA"
        visit.session_type.price_pence = 9900
    forget_clinic_settings()
    set_vat("GB123456789", 2000)
    db.session.expire_all()

    again = db.session.get(Document, document.id)
    after = pdf_text(render(again))
    assert after == before
    assert "Zoë Łukasiewicz" in after and "Kowalska" not in after
    assert "12 Example Road" in after and "Elsewhere" not in after
    assert "£65.00" in after and VAT_EXEMPT_WORDING in " ".join(after.split())


def test_the_invoice_pdf_names_everything_an_insurer_asks_for(visit, reception):
    document = issue_invoice(
        visit,
        claim=ClaimDetails(
            insurer="AXA Health", membership_number="AX-998877", authorisation_code="PRE-42"
        ),
        staff_user=reception,
        now=ISSUED_AT,
    )

    text = pdf_text(render(document))
    lines = text.splitlines()
    assert "North West London Physiotherapy Centre" in lines
    assert "12 Example Road" in lines and "London NW0 0AA" in lines
    assert "Invoice INV-000001" in lines
    assert "Number INV-000001" in lines
    assert "Date of issue 10 March 2026" in lines
    assert "Patient Zoë Łukasiewicz" in lines
    assert "Practitioner Colette Assor" in lines
    assert "Insurer AXA Health" in lines
    assert "Membership number AX-998877" in lines
    assert "Authorisation code PRE-42" in lines
    assert "10 March 2026 Massage Colette Assor £65.00" in lines
    assert "Total £65.00" in lines
    assert "Amount paid £0.00" in lines
    assert "Still to pay £65.00" in lines
    assert VAT_EXEMPT_WORDING in " ".join(lines)
    assert "VAT registration" not in text


def test_with_vat_set_the_document_shows_net_rate_vat_gross_and_the_number(visit, reception):
    set_vat("GB123456789", 2000)

    document = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception, now=ISSUED_AT)

    # £65.00 including VAT at 20%: £54.17 net and £10.83 VAT.
    assert (document.net_pence, document.vat_pence, document.gross_pence) == (5417, 1083, 6500)
    lines = pdf_text(render(document)).splitlines()
    assert "VAT registration number: GB123456789" in lines
    assert "Net amount £54.17" in lines
    assert "VAT at 20% £10.83" in lines
    assert "Total including VAT £65.00" in lines
    assert VAT_EXEMPT_WORDING not in " ".join(lines)


def test_vat_splits_a_vat_inclusive_price_to_the_nearest_penny():
    assert vat.split_gross(6500, None) == vat.VatSplit(6500, 0, 6500)
    assert vat.split_gross(6000, 2000) == vat.VatSplit(5000, 1000, 6000)
    assert vat.split_gross(1, 2000) == vat.VatSplit(1, 0, 1)
    assert vat.split_gross(6500, 500) == vat.VatSplit(6190, 310, 6500)
    assert vat.format_rate(1750) == "17.5%"


@pytest.mark.parametrize(
    ("number", "rate", "message"),
    [
        ("GB12345678", "20", "does not look like a UK VAT number"),
        ("DE123456789", "20", "does not look like a UK VAT number"),
        ("GB123456789", "twenty", "as a percentage"),
        ("GB123456789", "0", "more than 0%"),
        ("GB123456789", "150", "at most 100%"),
        ("GB123456789", "20.555", "as a percentage"),
    ],
)
def test_a_vat_number_or_rate_we_cannot_use_is_refused(app, make_staff, number, rate, message):
    admin = make_staff("admin")
    with pytest.raises(DomainError, match=message):
        vat.save_vat_setting(registered=True, number=number, rate=rate, staff_user=admin)
    assert clinic_settings().vat_number is None


def test_a_course_invoice_lists_the_course_and_its_sessions(demo, make_course, reception):
    course = make_course()
    document = issue_invoice(course, claim=ClaimDetails(), staff_user=reception)

    text = pdf_text(render(document))
    # The description wraps in its column: read the words in order.
    words = " ".join(word for line in text.splitlines() for word in line.split())
    assert "Course of 10 full combination sessions" in words
    assert "Total £950.00" in text.splitlines()
    assert document.course_id == course.id and document.lines[0].treatment_on is None


def test_nothing_is_invoiced_for_a_cancelled_or_unpriced_appointment(
    demo, make_appointment, reception
):
    cancelled = make_appointment(at(TREATMENT_DAY, 11), status="cancelled", price_pence=6500)
    free = make_appointment(at(TREATMENT_DAY, 12), price_pence=0)
    with pytest.raises(DomainError, match="Nothing is charged"):
        issue_invoice(cancelled, claim=ClaimDetails(), staff_user=reception)
    with pytest.raises(DomainError, match="Nothing is charged"):
        issue_invoice(free, claim=ClaimDetails(), staff_user=reception)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_without_a_unicode_font_names_print_in_their_nearest_latin_letters(
    visit, reception, monkeypatch
):
    from pathlib import Path

    from booking.clinic.documents import pdf

    monkeypatch.setattr(pdf, "FONT_FAMILIES", (("None", Path("/nowhere.ttf"), Path("/no.ttf")),))
    document = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)

    text = pdf_text(render(document))
    assert "Patient Zoë Lukasiewicz" in text
    assert "£65.00" in text
    assert latin1("Ørsted 東京") == "Orsted ??"


# Receipts and credit notes from the ledger ---------------------------------------------------


@pytest.fixture
def registered(visit):
    """Colette's registration and Zoë's date of birth and address, as insurers ask."""
    with unit_of_work():
        visit.practitioner.professional_body = "HCPC"
        visit.practitioner.registration_number = "PH123456"
        visit.patient.date_of_birth = date(1985, 4, 2)
        visit.patient.address = "1 Rose Street, London"
        visit.patient.postcode = "NW1 1AA"
    return visit


def test_a_receipt_names_the_registration_the_patient_and_the_payment(registered, reception):
    paid = record_payment(registered, 6500, "card", reception, now=ISSUED_AT)

    receipt = issue_receipt(paid.entry.id, claim=ClaimDetails(), staff_user=reception)

    assert receipt.reference == "REC-000001" and receipt.ledger_entry_id == paid.entry.id
    lines = pdf_text(render(receipt)).splitlines()
    assert "Receipt REC-000001" in lines
    assert "Patient Zoë Łukasiewicz" in lines
    assert "Date of birth 2 April 1985" in lines
    assert "Address 1 Rose Street, London" in lines and "NW1 1AA" in lines
    assert "Practitioner Colette Assor" in lines
    assert "Professional body HCPC" in lines
    assert "Registration number PH123456" in lines
    assert "10 March 2026 Massage Colette Assor £65.00" in lines
    assert "Amount paid £65.00" in lines
    assert "Paid by card on 10 March 2026" in lines
    assert not any(line.startswith("Still to pay") for line in lines)


def test_asking_twice_for_a_payments_receipt_gives_the_same_receipt(visit, reception):
    paid = record_payment(visit, 6500, "cash", reception)

    first = issue_receipt(paid.entry.id, claim=ClaimDetails(), staff_user=reception)
    second = issue_receipt(paid.entry.id, claim=ClaimDetails(), staff_user=reception)

    assert first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_two_desks_asking_for_one_payments_receipt_at_once_get_one_receipt(app, visit, reception):
    paid = record_payment(visit, 6500, "card", reception)
    entry_id, staff_id = paid.entry.id, reception.id
    db.session.remove()

    def attempt(number: int) -> str:
        receipt = issue_receipt(
            entry_id, claim=ClaimDetails(), staff_user=db.session.get(StaffUser, staff_id)
        )
        return receipt.reference

    outcomes = race(app, 4, attempt)

    assert outcomes == ["REC-000001"] * 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_an_invoice_shows_what_has_been_paid_and_what_is_left(visit, reception):
    record_payment(visit, 2000, "cash", reception)

    invoice = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)

    lines = pdf_text(render(invoice)).splitlines()
    assert "Total £65.00" in lines
    assert "Amount paid £20.00" in lines
    assert "Still to pay £45.00" in lines


def test_a_refund_issues_a_credit_note_that_names_the_receipt(registered, reception):
    paid = record_payment(registered, 6500, "card", reception, now=ISSUED_AT)
    receipt = issue_receipt(
        paid.entry.id, claim=ClaimDetails(insurer="Bupa"), staff_user=reception, now=ISSUED_AT
    )

    refund, credit = refund_with_credit_note(registered, 2000, "card", reception, now=ISSUED_AT)

    assert credit.reference == "CN-000001"
    assert credit.original_id == receipt.id and credit.ledger_entry_id == refund.id
    lines = pdf_text(render(credit)).splitlines()
    assert "Credit note CN-000001" in lines
    assert "Credit for REC-000001 of 10 March 2026" in lines
    assert "Registration number PH123456" in lines
    assert "Insurer Bupa" in lines
    assert "Refunded £20.00" in lines
    assert "Refunded by card on 10 March 2026" in lines
    assert issue_credit_note(refund.id, staff_user=reception).id == credit.id


def test_a_refused_refund_leaves_no_credit_note_and_takes_no_number(visit, reception):
    record_payment(visit, 2000, "card", reception)

    with pytest.raises(DomainError, match="cannot be refunded"):
        refund_with_credit_note(visit, 5000, "card", reception)
    _, credit = refund_with_credit_note(visit, 2000, "card", reception)

    assert credit.reference == "CN-000001"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 2


def test_the_desk_issues_a_receipt_and_a_credit_note_from_the_appointment_page(
    visit, reception, receptionist_client
):
    client = receptionist_client
    paid = record_payment(visit, 6500, "card", reception)
    refund = record_refund(visit, 1000, "card", reception)
    html = client.get(f"/diary/appointments/{visit.id}").get_data(as_text=True)
    receipt_url = f"/diary/payments/{paid.entry.id}/receipt"
    assert receipt_url in html and f"/diary/payments/{refund.id}/credit-note" in html

    form = client.get(receipt_url).get_data(as_text=True)
    issued = client.post(
        receipt_url,
        data={"csrf_token": csrf_token(form), "insurer": "WPA", "membership_number": "W-77"},
    )
    assert issued.status_code == 302
    receipt = db.session.scalar(sa.select(Document).filter_by(kind="receipt"))
    assert "Insurer WPA" in pdf_text(client.get(f"/diary/documents/{receipt.id}/pdf").data)
    again = client.get(receipt_url)
    assert again.status_code == 302 and again.headers["Location"].endswith(
        f"/diary/documents/{receipt.id}"
    )

    credited = client.post(
        f"/diary/payments/{refund.id}/credit-note", data={"csrf_token": csrf_token(html)}
    )
    assert credited.status_code == 302
    credit = db.session.scalar(sa.select(Document).filter_by(kind="credit_note"))
    assert credit.original_id == receipt.id
    page = client.get(f"/diary/appointments/{visit.id}").get_data(as_text=True)
    assert "REC-000001" in page and "CN-000001" in page


def test_a_refund_at_the_desk_issues_its_credit_note(visit, reception, receptionist_client):
    client = receptionist_client
    record_payment(visit, 6500, "card", reception)
    url = f"/diary/appointments/{visit.id}/payments"
    page = client.get(url).get_data(as_text=True)
    assert "Issue receipt" in page

    refunded = client.post(
        f"/diary/appointments/{visit.id}/refunds",
        data={
            "csrf_token": csrf_token(page),
            "refund-amount": "25",
            "refund-method": "card",
            "refund-reference": "",
        },
    )

    assert refunded.status_code == 302, refunded.get_data(as_text=True)[:2000]
    [credit] = db.session.scalars(sa.select(Document).filter_by(kind="credit_note")).all()
    assert credit.reference == "CN-000001" and credit.paid_pence == 2500
    after = client.get(refunded.headers["Location"]).get_data(as_text=True)
    assert "Credit note CN-000001 issued." in after
    assert "Refunded £25.00" in pdf_text(render(credit)).splitlines()
    patient_page = client.get(f"/diary/patients/{visit.patient_id}").get_data(as_text=True)
    assert "CN-000001" in patient_page


# Email --------------------------------------------------------------------------------------


def test_emailing_a_document_delivers_its_pdf_to_the_patient(
    mail_app, smtp_server, visit, reception
):
    document = issue_invoice(
        visit, claim=ClaimDetails(insurer="Bupa"), staff_user=reception, now=ISSUED_AT
    )

    emailed = email_document(document.id, staff_user=reception)
    again = email_document(document.id, staff_user=reception)
    assert emailed.queued and not again.queued  # a double click queues one message
    assert send_due().sent == 1
    # Asked again later (the patient lost it), it goes again.
    later = email_document(document.id, staff_user=reception, now=utcnow() + timedelta(minutes=2))
    assert later.queued

    [message] = smtp_server.to("zoe@example.org")
    assert message["Subject"] == "Your invoice INV-000001"
    assert "INV-000001" in plain_text(message)
    [pdf_part] = attachments(message)
    assert pdf_part.get_content_type() == "application/pdf"
    assert pdf_part.get_filename() == "INV-000001.pdf"
    text = pdf_text(pdf_part.get_content())
    assert "Patient Zoë Łukasiewicz" in text and "Insurer Bupa" in text and "£65.00" in text
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).filter_by(action="document.emailed")
        )
        == 2
    )


def test_an_emailed_document_is_in_the_patients_messages_and_resends_with_its_pdf(
    mail_app, smtp_server, visit, reception
):
    from booking.clinic.communications import patient_log, resend

    document = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception, now=ISSUED_AT)
    email_document(document.id, staff_user=reception)
    assert send_due().sent == 1
    # "Did she get her invoice?": the patient's log answers (it listed only appointment,
    # course and waiting-list messages).
    [line] = patient_log(visit.patient)
    assert line.words.startswith("Invoice or receipt email sent to z…@example.org on")

    copy = resend(line.message.id, staff_user=reception)
    assert [a.filename for a in copy.attachments] == ["INV-000001.pdf"]
    assert send_due().sent == 1
    resent = smtp_server.to("zoe@example.org")[-1]
    [pdf_part] = attachments(resent)  # the copy carries the PDF the email speaks of
    assert "INV-000001" in pdf_text(pdf_part.get_content())
    # The copy is in the patient's log too.
    assert [entry.message.id for entry in patient_log(visit.patient)][0] == copy.id


def test_a_patient_without_an_email_address_is_not_emailed(demo, make_appointment, reception):
    appointment = make_appointment(
        at(TREATMENT_DAY, 10),
        patient=Patient(name="No Email", phone="07700900001"),
        price_pence=6500,
    )
    document = issue_invoice(appointment, claim=ClaimDetails(), staff_user=reception)

    with pytest.raises(DomainError, match="no email address"):
        email_document(document.id, staff_user=reception)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


# The desk's pages ----------------------------------------------------------------------------


def test_reception_issues_an_invoice_downloads_it_and_emails_it(
    mail_app, smtp_server, visit, receptionist_client
):
    client = receptionist_client
    appointment_page = client.get(f"/diary/appointments/{visit.id}").get_data(as_text=True)
    assert f"/diary/appointments/{visit.id}/invoice" in appointment_page

    form_page = client.get(f"/diary/appointments/{visit.id}/invoice")
    assert form_page.status_code == 200
    response = client.post(
        f"/diary/appointments/{visit.id}/invoice",
        data={
            "csrf_token": csrf_token(form_page.get_data(as_text=True)),
            "insurer": "Vitality",
            "membership_number": "V-1",
            "authorisation_code": "",
        },
    )
    assert response.status_code == 302
    document = db.session.scalar(sa.select(Document))
    assert response.headers["Location"].endswith(f"/diary/documents/{document.id}")

    page = client.get(f"/diary/documents/{document.id}")
    html = page.get_data(as_text=True)
    assert "Invoice INV-000001" in html and "Vitality" in html
    # Nothing is sent until the button is pressed, and the page does not say otherwise.
    assert "Sent to" not in html
    assert "Sends it to zoe@example.org, with the PDF attached." in html

    pdf = client.get(f"/diary/documents/{document.id}/pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert 'filename="INV-000001.pdf"' in pdf.headers["Content-Disposition"]
    assert "Insurer Vitality" in pdf_text(pdf.data)
    reads = db.session.scalars(sa.select(AccessEvent.action).filter_by(patient_id=visit.patient_id))
    assert "patient.document_pdf_read" in list(reads)

    sent = client.post(
        f"/diary/documents/{document.id}/email", data={"csrf_token": csrf_token(html)}
    )
    assert sent.status_code == 302
    assert "queued for sending to zoe@example.org" in client.get(sent.headers["Location"]).get_data(
        as_text=True
    )
    send_due()
    [message] = smtp_server.to("zoe@example.org")
    assert "Insurer Vitality" in pdf_text(attachments(message)[0].get_content())


def test_a_too_long_insurer_name_is_refused_with_the_form_kept(visit, receptionist_client):
    client = receptionist_client
    url = f"/diary/appointments/{visit.id}/invoice"
    token = csrf_token(client.get(url).get_data(as_text=True))

    response = client.post(
        url, data={"csrf_token": token, "insurer": "I" * 130, "membership_number": "KEEP-ME"}
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Up to 120 characters." in html and 'value="KEEP-ME"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_a_control_character_in_a_claim_detail_is_refused(visit, receptionist_client):
    client = receptionist_client
    url = f"/diary/appointments/{visit.id}/invoice"
    token = csrf_token(client.get(url).get_data(as_text=True))

    response = client.post(url, data={"csrf_token": token, "membership_number": "A\x00B"})

    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_documents_are_for_the_front_desk_only(app, visit, reception, practitioner_client):
    document = issue_invoice(visit, claim=ClaimDetails(), staff_user=reception)

    anonymous = app.test_client().get(f"/diary/documents/{document.id}/pdf")
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.headers["Location"]
    assert practitioner_client.get(f"/diary/documents/{document.id}/pdf").status_code == 403
    assert practitioner_client.get(f"/diary/documents/{document.id}").status_code == 403


def test_a_document_that_does_not_exist_is_a_404(receptionist_client):
    assert receptionist_client.get("/diary/documents/999999/pdf").status_code == 404
    assert receptionist_client.get("/diary/documents/99999999999999999999").status_code == 404
    assert receptionist_client.get("/diary/appointments/999999/invoice").status_code == 404


def test_the_administrator_sets_and_clears_vat(admin_client):
    url = "/diary/settings/vat"
    token = csrf_token(admin_client.get(url).get_data(as_text=True))

    bad = admin_client.post(
        url, data={"csrf_token": token, "registered": "y", "number": "12345", "rate": "20"}
    )
    assert bad.status_code == 422
    assert "does not look like a UK VAT number" in bad.get_data(as_text=True)
    assert clinic_settings().vat_number is None

    good = admin_client.post(
        url,
        data={"csrf_token": token, "registered": "y", "number": "GB 123 4567 89", "rate": "20%"},
    )
    assert good.status_code == 302
    forget_clinic_settings()
    db.session.expire_all()
    assert (clinic_settings().vat_number, clinic_settings().vat_rate_basis_points) == (
        "GB123456789",
        2000,
    )

    admin_client.post(url, data={"csrf_token": token, "number": "", "rate": ""})
    forget_clinic_settings()
    db.session.expire_all()
    assert clinic_settings().vat_number is None
    assert clinic_settings().vat_rate_basis_points is None
