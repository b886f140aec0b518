"""The audit log, newest first: administrators only."""

from flask import render_template, request
from sqlalchemy import func, select

from booking.auth.access import staff_required
from booking.diary import blueprint
from booking.extensions import db
from booking.models import AuditEvent, Role
from booking.validators import whole_number

PAGE_SIZE = 50


@blueprint.get("/audit-log")
@staff_required(Role.ADMIN)
def audit_log():
    page = max(request.args.get("page", type=whole_number) or 1, 1)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return render_template(
        "diary/audit_log.html",
        events=events,
        page=page,
        has_next=page * PAGE_SIZE < total,
        total=total,
    )
