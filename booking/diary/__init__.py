"""Diary blueprint: the receptionist's and practitioners' screens (sign-in required)."""

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, url_for
from flask_login import current_user

blueprint = Blueprint("diary", __name__, url_prefix="/diary")

# The staff header's links, in order. A link shows only when its view exists (some arrive
# with later issues) and the signed-in role may open it.
STAFF_NAVIGATION = [
    ("diary.day", "Day"),
    ("diary.week_current", "Week"),
    ("diary.patients", "Patients"),
    ("diary.waiting_list", "Waiting list"),
    ("diary.time_off", "Time off"),
    ("diary.working_hours", "Working hours"),
    ("diary.courses", "Courses"),
    ("diary.takings", "Takings"),
    ("diary.moderation", "Replies"),
    ("feeds.staff_feeds", "Calendar feed"),
    ("diary.outbox", "Outbox"),
    ("diary.session_types", "Sessions & prices"),
    ("diary.practitioners", "Practitioners"),
    ("diary.staff_accounts", "Staff"),
    ("diary.settings", "Clinic settings"),
    ("auth.sign_in_settings", "Sign-in security"),
    ("diary.reports", "Reports"),
    ("diary.audit_log", "Audit log"),
    ("auth.account", "Your account"),
]


def staff_may(endpoint: str) -> bool:
    """Whether the signed-in member of staff may open `endpoint` (and it exists)."""
    view = current_app.view_functions.get(endpoint)
    if view is None or not current_user.is_authenticated:
        return False
    allowed = getattr(view, "allowed_roles", None)
    return allowed is None or current_user.role in allowed


def link_to(endpoint: str, subject_id: int) -> str | None:
    """A link to a staff page of one thing (a course, say) if that page exists, else None.

    For pages that arrive with other issues: their one URL argument is the thing's id.
    """
    if not staff_may(endpoint):
        return None
    rules = current_app.url_map.iter_rules(endpoint)
    arguments = next(iter(rules)).arguments
    if len(arguments) != 1:
        return None
    values: dict[str, Any] = {next(iter(arguments)): subject_id}
    return url_for(endpoint, **values)


@blueprint.app_context_processor
def inject_staff_navigation():
    return {"staff_navigation": STAFF_NAVIGATION, "staff_may": staff_may, "link_to": link_to}


@blueprint.app_template_filter("local_day_iso")
def local_day_iso(instant: datetime) -> str:
    """The clinic's local date of an instant, as YYYY-MM-DD (for diary links)."""
    from booking.clinic.localtime import to_local
    from booking.clinic.settings import clinic_settings

    return to_local(instant, clinic_settings().zone).date().isoformat()


from booking.diary import (  # noqa: E402,F401
    admin,
    appointments,
    audit_log,
    clinical_notes,
    courses,
    day,
    documents,
    fee_refunds,
    imports,
    moderation,
    online_refunds,
    outbox,
    outcomes,
    patients,
    payments,
    records,
    reports,
    takings,
    team,
    time_off,
    waiting_list,
    working_hours,
)
