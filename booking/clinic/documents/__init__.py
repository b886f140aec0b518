"""Numbered money documents: invoices, receipts and credit notes.

- `numbering`: the gapless series, one per kind (INV-000001, REC-000001, CN-000001).
- `issuing`: issue a document in one unit of work, with the details copied as at issue.
- `vat`: the clinic's VAT setting and how a VAT-inclusive price splits into net and VAT.
- `titles`: what each kind is called (without loading fpdf2).
- `pdf`: the document as a PDF (fpdf2), from the stored copy alone.
- `sending`: email a document's PDF to the patient through the outbox.
"""
