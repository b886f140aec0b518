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
from booking.models.clinical_notes import (
    ClinicalErasure,
    CourseReview,
    NoteAmendment,
    NoteStatus,
    NoteTemplate,
    OutcomeCheckpoint,
    OutcomeRecord,
    ReviewDecision,
    TreatmentNote,
)
from booking.models.courses import Course, CourseProduct, CreditEntry
from booking.models.documents import Document, DocumentCounter, DocumentLine
from booking.models.enums import (
    AppointmentSource,
    AppointmentStatus,
    CancelledBy,
    CheckoutStatus,
    ConsentTreatment,
    CourseSource,
    CourseStatus,
    DocumentKind,
    FeedPrivacy,
    FeeKind,
    HoldReason,
    LedgerEntryKind,
    OfferStatus,
    OutboxStatus,
    PaymentMethod,
    ProviderEventOutcome,
    RecordMethod,
    RefundFailureStatus,
    Role,
    TestimonialStatus,
    WaitingStatus,
)
from booking.models.fee_payments import FeeCheckout, RefundFailure
from booking.models.imports import ImportedRecord
from booking.models.messages import OutboxAttachment, OutboxMessage, ScheduledJob
from booking.models.online_payments import OnlineCheckout, PaymentProviderEvent
from booking.models.own_calendars import BusyTime, CalendarConnection, CalendarKind
from booking.models.patients import Patient
from booking.models.payments import ONLINE_RECORDER, CashUp, LedgerEntry
from booking.models.records import IntakeForm, RedFlagCheck, TreatmentConsent
from booking.models.second_factors import Passkey, RecoveryCode, TotpFactor
from booking.models.staff import AccessEvent, AuditEvent, StaffUser
from booking.models.staff_sessions import SessionStage, SignInFailures, StaffSession
from booking.models.submissions import FormSubmission
from booking.models.testimonials import Testimonial
from booking.models.waiting_list import WaitingListEntry, WaitingListOffer

__all__ = [
    "AccessEvent",
    "LIVE_STATUSES",
    "Appointment",
    "AppointmentSource",
    "AppointmentStatus",
    "HoldReason",
    "AuditEvent",
    "BusyTime",
    "CalendarConnection",
    "CalendarKind",
    "CancelledBy",
    "CashUp",
    "CheckoutStatus",
    "ClinicSettings",
    "ClinicalErasure",
    "CourseReview",
    "NoteAmendment",
    "NoteStatus",
    "NoteTemplate",
    "OutcomeCheckpoint",
    "OutcomeRecord",
    "ReviewDecision",
    "TreatmentNote",
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
    "FeeCheckout",
    "FeeKind",
    "FeedPrivacy",
    "FormSubmission",
    "FeedRevision",
    "ImportedRecord",
    "IntakeForm",
    "OutboxAttachment",
    "LedgerEntry",
    "LedgerEntryKind",
    "ONLINE_RECORDER",
    "OutboxMessage",
    "OnlineCheckout",
    "OutboxStatus",
    "Passkey",
    "Patient",
    "PaymentMethod",
    "PaymentProviderEvent",
    "Practitioner",
    "RecordMethod",
    "RedFlagCheck",
    "ProviderEventOutcome",
    "RecoveryCode",
    "RefundFailure",
    "RefundFailureStatus",
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
    "WaitingListEntry",
    "WaitingListOffer",
    "WaitingStatus",
    "OfferStatus",
    "WorkingHours",
]
