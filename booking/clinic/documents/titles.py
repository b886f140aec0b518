"""What each kind of document is called, on its PDF, in its email and on the staff pages.

Apart from the PDF drawing (pdf.py) so that the pages and the outbox can name a document
without loading fpdf2, which is a fifth of the application's start and only needed to
draw one.
"""

from booking.models import DocumentKind

TITLES = {
    DocumentKind.INVOICE: "Invoice",
    DocumentKind.RECEIPT: "Receipt",
    DocumentKind.CREDIT_NOTE: "Credit note",
}
