"""The clinic's tables, one module per area. Import models from here."""

from booking.models.appointments import LIVE_STATUSES, Appointment, AppointmentStatus
from booking.models.clinic import (
    ClinicSettings,
    FeedPrivacy,
    FeedRevision,
    Practitioner,
    SessionType,
    TimeOff,
    Treatment,
    WorkingHours,
)
from booking.models.courses import Course, CourseProduct, CourseStatus, CreditEntry
from booking.models.messages import OutboxMessage, OutboxStatus
from booking.models.own_calendars import BusyTime, CalendarConnection, CalendarKind
from booking.models.patients import Patient
from booking.models.staff import AuditEvent, Role, StaffUser
from booking.models.testimonials import Testimonial, TestimonialStatus

__all__ = [
    "LIVE_STATUSES",
    "Appointment",
    "AppointmentStatus",
    "AuditEvent",
    "BusyTime",
    "CalendarConnection",
    "CalendarKind",
    "ClinicSettings",
    "Course",
    "CourseProduct",
    "CourseStatus",
    "CreditEntry",
    "FeedPrivacy",
    "FeedRevision",
    "OutboxMessage",
    "OutboxStatus",
    "Patient",
    "Practitioner",
    "Role",
    "SessionType",
    "StaffUser",
    "Testimonial",
    "TestimonialStatus",
    "TimeOff",
    "Treatment",
    "WorkingHours",
]
