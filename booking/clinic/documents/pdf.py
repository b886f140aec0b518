"""A document as a PDF, drawn with fpdf2 from the stored copy alone.

The text is set in DejaVu Sans (Debian's fonts-dejavu-core, which `make test` installs
with the browser tools), or Liberation Sans, so "£", accents and names in any European
script print as typed. On a machine with neither, the PDF falls back to fpdf2's built-in
Helvetica, which holds only Latin-1: letters outside it are printed without their
accents where they have one ("Ł" as "L") and as "?" otherwise, and nothing fails.
"""

import unicodedata
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from booking.clinic.documents.titles import TITLES
from booking.clinic.documents.vat import format_rate
from booking.clinic.money import format_money_exact as money
from booking.models import Document, DocumentKind

FONT_FAMILIES = (
    (
        "DejaVu",
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (
        "Liberation",
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ),
)
VAT_EXEMPT_WORDING = "No VAT is charged: these health treatments are exempt from VAT."
# Letters with no Latin-1 form and no accent to drop (NFKD leaves them whole).
_PLAIN_LETTERS = str.maketrans(
    {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe",
     "ı": "i", "ß": "ss", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
     "€": "EUR"}
)  # fmt: skip


def long_date(day: date) -> str:
    """e.g. "7 December 2026"."""
    return f"{day.day} {day:%B %Y}"


def latin1(text: str) -> str:
    """`text` with every letter Helvetica cannot print replaced by its nearest plain form."""
    if _encodes(text):
        return text
    text = text.translate(_PLAIN_LETTERS)
    kept = []
    for character in text:
        if _encodes(character):
            kept.append(character)
            continue
        plain = "".join(
            part
            for part in unicodedata.normalize("NFKD", character)
            if not unicodedata.combining(part)
        )
        kept.append(plain if plain and _encodes(plain) else "?")
    return "".join(kept)


def _encodes(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class _Page(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.family, self.unicode = "helvetica", False
        for family, regular, bold in FONT_FAMILIES:
            if regular.is_file() and bold.is_file():
                self.add_font(family, "", str(regular))
                self.add_font(family, "B", str(bold))
                self.family, self.unicode = family, True
                break

    def text_of(self, text: str) -> str:
        return text if self.unicode else latin1(text)

    def font(self, size: float, *, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def line_of_text(
        self, text: str, *, size: float = 10, bold: bool = False, height: float = 5.5
    ) -> None:
        self.font(size, bold=bold)
        self.multi_cell(0, height, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pair(self, label: str, value: str, *, label_width: float = 55) -> None:
        """One "label: value" row; the value wraps under itself."""
        self.font(10, bold=True)
        self.cell(label_width, 5.5, self.text_of(label))
        self.font(10)
        self.multi_cell(0, 5.5, self.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, height: float = 4) -> None:
        self.ln(height)


def render(document: Document) -> bytes:
    """The PDF of an issued document."""
    kind = DocumentKind(document.kind)
    page = _Page()
    page.set_title(f"{TITLES[kind]} {document.reference}")
    page.set_author(page.text_of(document.clinic_name))
    page.set_creator("Clinic booking")
    page.add_page()

    _clinic(page, document)
    page.gap(6)
    page.line_of_text(f"{TITLES[kind]} {document.reference}", size=16, bold=True, height=8)
    page.pair("Number", document.reference)
    page.pair("Date of issue", long_date(document.issued_on))
    if document.original is not None:
        # A credit note credits its original; a receipt with an original balances a
        # credit note whose refund was never made.
        page.pair(
            "Credit for" if kind == DocumentKind.CREDIT_NOTE else "Cancels",
            f"{document.original.reference} of {long_date(document.original.issued_on)}",
        )
    page.gap()
    _people(page, document)
    if document.insurer or document.membership_number or document.authorisation_code:
        page.gap()
        if document.insurer:
            page.pair("Insurer", document.insurer)
        if document.membership_number:
            page.pair("Membership number", document.membership_number)
        if document.authorisation_code:
            page.pair("Authorisation code", document.authorisation_code)
    page.gap(6)
    _lines(page, document)
    page.gap()
    _totals(page, document, kind)
    return bytes(page.output())


def _clinic(page: _Page, document: Document) -> None:
    page.line_of_text(document.clinic_name, size=14, bold=True, height=7)
    for part in document.clinic_address.split(","):
        if part.strip():
            page.line_of_text(part.strip())
    contacts = " · ".join(part for part in (document.clinic_phone, document.clinic_email) if part)
    if contacts:
        page.line_of_text(contacts)
    if document.vat_number:
        page.line_of_text(f"VAT registration number: {document.vat_number}")


def _people(page: _Page, document: Document) -> None:
    page.pair("Patient", document.patient_name)
    if document.patient_date_of_birth is not None:
        page.pair("Date of birth", long_date(document.patient_date_of_birth))
    if document.patient_address:
        page.pair("Address", document.patient_address)
    if document.practitioner_name:
        page.gap(2)
        page.pair("Practitioner", document.practitioner_name)
        if document.practitioner_body:
            page.pair("Professional body", document.practitioner_body)
        if document.practitioner_registration:
            page.pair("Registration number", document.practitioner_registration)


COLUMNS = (("Date of treatment", 38), ("Treatment", 72), ("Practitioner", 40), ("Amount", 24))


def _lines(page: _Page, document: Document) -> None:
    page.font(10, bold=True)
    for label, width in COLUMNS:
        page.cell(width, 7, label, border="B", align="R" if label == "Amount" else "L")
    page.ln(7)
    page.font(10)
    for line in document.lines:
        cells = (
            long_date(line.treatment_on) if line.treatment_on else "",
            line.description,
            line.practitioner_name,
            money(line.amount_pence),
        )
        # Wrapped cells side by side: each starts at the row's top; the row ends below
        # the tallest.
        top, tallest = page.get_y(), page.get_y()
        x = page.l_margin
        for (label, width), text in zip(COLUMNS, cells, strict=True):
            page.set_xy(x, top)
            page.multi_cell(
                width,
                6,
                page.text_of(text),
                align="R" if label == "Amount" else "L",
                new_x=XPos.RIGHT,
                new_y=YPos.NEXT,
            )
            tallest = max(tallest, page.get_y())
            x += width
        page.set_xy(page.l_margin, tallest)


def _total(page: _Page, label: str, amount: str, *, bold: bool = False) -> None:
    page.font(10, bold=bold)
    page.cell(150, 6, page.text_of(label), align="R")
    page.cell(24, 6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _totals(page: _Page, document: Document, kind: DocumentKind) -> None:
    if document.vat_rate_basis_points:
        _total(page, "Net amount", money(document.net_pence))
        _total(
            page, f"VAT at {format_rate(document.vat_rate_basis_points)}", money(document.vat_pence)
        )
        _total(page, "Total including VAT", money(document.gross_pence), bold=True)
    else:
        _total(page, "Total", money(document.gross_pence), bold=True)
    if kind == DocumentKind.CREDIT_NOTE:
        _total(page, "Refunded", money(document.paid_pence), bold=True)
    else:
        _total(page, "Amount paid", money(document.paid_pence), bold=True)
        # A receipt shows the payment it is for; an invoice what is left to pay.
        if kind == DocumentKind.INVOICE and document.balance_pence > 0:
            _total(page, "Still to pay", money(document.balance_pence))
    page.gap()
    if document.method:
        label = "Refunded by" if kind == DocumentKind.CREDIT_NOTE else "Paid by"
        paid_on = f" on {long_date(document.paid_on)}" if document.paid_on else ""
        page.pair(label, f"{document.method}{paid_on}")
    if not document.vat_rate_basis_points:
        page.gap(2)
        page.line_of_text(VAT_EXEMPT_WORDING)
