"""Finding issued documents again: for an appointment, a course, a patient."""

from sqlalchemy import select

from booking.extensions import db
from booking.models import Document


def documents_for(
    *,
    appointment_id: int | None = None,
    course_id: int | None = None,
    patient_id: int | None = None,
) -> list[Document]:
    """The documents issued for one appointment, course or patient, oldest first."""
    statement = select(Document).order_by(Document.issued_at, Document.id)
    if appointment_id is not None:
        statement = statement.where(Document.appointment_id == appointment_id)
    if course_id is not None:
        statement = statement.where(Document.course_id == course_id)
    if patient_id is not None:
        statement = statement.where(Document.patient_id == patient_id)
    return list(db.session.scalars(statement))
