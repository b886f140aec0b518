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
from booking.models.messages import OutboxMessage, OutboxStatus, ScheduledJob
from booking.models.own_calendars import BusyTime, CalendarConnection, CalendarKind
from booking.models.patients import Patient
from booking.models.second_factors import Passkey, RecoveryCode, TotpFactor
from booking.models.staff import AccessEvent, AuditEvent, Role, StaffUser
from booking.models.staff_sessions import SessionStage, SignInFailures, StaffSession
from booking.models.testimonials import Testimonial, TestimonialStatus

__all__ = [
    "AccessEvent",
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
    "Passkey",
    "Patient",
    "Practitioner",
    "RecoveryCode",
    "Role",
    "ScheduledJob",
    "SessionStage",
    "SignInFailures",
    "SessionType",
    "StaffSession",
    "StaffUser",
    "Testimonial",
    "TestimonialStatus",
    "TimeOff",
    "TotpFactor",
    "Treatment",
    "WorkingHours",
]
