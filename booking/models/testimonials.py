"""Patients' replies under the information pages, shown only once staff approve them."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from booking.database import UTCDateTime, utcnow
from booking.extensions import Model
from booking.models.enums import TestimonialStatus, one_of


class Testimonial(Model):
    __tablename__ = "testimonials"
    __table_args__ = (one_of("status", TestimonialStatus, "status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page: Mapped[str] = mapped_column(String(40), default="sciatica", index=True)
    author_name: Mapped[str] = mapped_column(String(80))
    # Never shown on the site.
    author_email: Mapped[str] = mapped_column(String(254))
    # Already sanitised to the allowed tags when stored.
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=TestimonialStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
