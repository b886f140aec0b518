"""The practitioner a staff feed page names: shared by the feeds page and the own-calendar page."""

from flask import abort
from sqlalchemy import select

from booking.auth.access import require_practitioner_access
from booking.extensions import db
from booking.models import Practitioner


def practitioner_or_404(slug: str) -> Practitioner:
    """The practitioner `slug` names, if the signed-in person may see them; 404 otherwise."""
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug))
    if practitioner is None:
        abort(404)
    require_practitioner_access(practitioner)
    return practitioner
