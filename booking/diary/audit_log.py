"""The audit log, newest first: administrators only.

Two logs on one page: the changes staff made (audit_events), and sign-ins, second
factors, session ends and reads of patients' records (access_events). Both can be
narrowed to one member of staff or one patient (by the patient's number).
"""

from typing import Any

from flask import render_template, request
from sqlalchemy import and_, func, or_, select

from booking.auth.access import staff_required
from booking.diary import blueprint
from booking.extensions import db
from booking.models import AccessEvent, AuditEvent, Patient, Role, StaffUser
from booking.validators import whole_number

PAGE_SIZE = 50
LOGS = {"changes": "Changes", "access": "Sign-ins and reads"}


def _filters(model: Any, staff_id: int | None, patient_id: int | None) -> list[Any]:
    conditions: list[Any] = []
    if model is AuditEvent:
        if staff_id:
            conditions.append(
                or_(
                    AuditEvent.staff_user_id == staff_id,
                    and_(AuditEvent.subject_type == "StaffUser", AuditEvent.subject_id == staff_id),
                )
            )
        if patient_id:
            conditions.append(
                and_(AuditEvent.subject_type == "Patient", AuditEvent.subject_id == patient_id)
            )
    else:
        if staff_id:
            conditions.append(
                or_(AccessEvent.staff_user_id == staff_id, AccessEvent.account_id == staff_id)
            )
        if patient_id:
            conditions.append(AccessEvent.patient_id == patient_id)
    return conditions


@blueprint.get("/audit-log")
@staff_required(Role.ADMIN)
def audit_log():
    page = max(request.args.get("page", type=whole_number) or 1, 1)
    log = request.args.get("log") if request.args.get("log") in LOGS else "changes"
    staff_id = request.args.get("staff", type=whole_number) or None
    patient_id = request.args.get("patient", type=whole_number) or None
    model: Any = AuditEvent if log == "changes" else AccessEvent
    conditions = _filters(model, staff_id, patient_id)
    total = db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    events = list(
        db.session.scalars(
            select(model)
            .where(*conditions)
            .order_by(model.occurred_at.desc(), model.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    accounts = {
        account.id: account
        for account in db.session.scalars(select(StaffUser).order_by(StaffUser.name))
    }
    return render_template(
        "diary/audit_log.html",
        events=events,
        page=page,
        has_next=page * PAGE_SIZE < total,
        total=total,
        log=log,
        logs=LOGS,
        accounts=accounts,
        staff_id=staff_id,
        patient_id=patient_id,
        patient=db.session.get(Patient, patient_id) if patient_id else None,
        # Only what differs from the plain log goes in the page links.
        here={"log": None if log == "changes" else log, "staff": staff_id, "patient": patient_id},
    )
