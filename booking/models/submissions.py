"""Form submissions already acted on: a double tap or a retry finds the first result."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.appointments import Appointment
from booking.models.courses import Course


class FormSubmission(Model):
    """One patient form's random key and what sending it did.

    The key is rendered into the form when the page is shown; the unique column makes
    the second of two racing sends wait for the first and then find its result.
    """

    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # What the form did: "booking", "course_request", "course_session".
    kind: Mapped[str] = mapped_column(String(30))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    appointment: Mapped[Appointment | None] = relationship()
    course: Mapped[Course | None] = relationship()
