"""The clinic's tables, one module per area. Import models from here."""

from booking.models.appointments import LIVE_STATUSES, Appointment
from booking.models.clinic import (
    ClinicSettings,
    FeedRevision,
    Practitioner,
    SessionType,
    TimeOff,
    Treatment,
    WorkingHours,
)
from booking.models.courses import Course, CourseProduct, CreditEntry
from booking.models.documents import Document, DocumentCounter, DocumentLine
from booking.models.enums import (
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    ConsentTreatment,
    CourseSource,
    CourseStatus,
    DocumentKind,
    FeedPrivacy,
    OutboxStatus,
    RecordMethod,
    Role,
    TestimonialStatus,
)
from booking.models.messages import OutboxAttachment, OutboxMessage, ScheduledJob
from booking.models.own_calendars import BusyTime, CalendarConnection, CalendarKind
from booking.models.patients import Patient
from booking.models.records import IntakeForm, RedFlagCheck, TreatmentConsent
from booking.models.second_factors import Passkey, RecoveryCode, TotpFactor
from booking.models.staff import AccessEvent, AuditEvent, StaffUser
from booking.models.staff_sessions import SessionStage, SignInFailures, StaffSession
from booking.models.submissions import FormSubmission
from booking.models.testimonials import Testimonial

__all__ = [
    "AccessEvent",
    "LIVE_STATUSES",
    "Appointment",
    "AppointmentSource",
    "AppointmentStatus",
    "AuditEvent",
    "BusyTime",
    "CalendarConnection",
    "CalendarKind",
    "CancelledBy",
    "ClinicSettings",
    "ConsentTreatment",
    "Course",
    "CourseProduct",
    "CourseSource",
    "CourseStatus",
    "CreditEntry",
    "Document",
    "DocumentCounter",
    "DocumentKind",
    "DocumentLine",
    "FeedPrivacy",
    "FormSubmission",
    "FeedRevision",
    "IntakeForm",
    "OutboxAttachment",
    "OutboxMessage",
    "OutboxStatus",
    "Passkey",
    "Patient",
    "Practitioner",
    "RecordMethod",
    "RedFlagCheck",
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
    "TreatmentConsent",
    "Treatment",
    "WorkingHours",
]
