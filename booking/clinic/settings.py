"""The clinic's settings row, read in one place."""

from flask import g, has_app_context

from booking.extensions import db
from booking.models import ClinicSettings

DEFAULTS = {
    "name": "North West London Physiotherapy Centre",
    "address": "12 Example Road, London NW0 0AA",
    "phone": "020 7946 0000",
    "email": "hello@clinic.example",
    "reception_email": "reception@clinic.example",
    "timezone": "Europe/London",
}


def clinic_settings() -> ClinicSettings:
    """The settings row, created with defaults if the clinic has none yet (cached per request)."""
    if has_app_context() and "clinic_settings" in g:
        return g.clinic_settings
    settings = db.session.get(ClinicSettings, 1)
    if settings is None:
        settings = ClinicSettings(id=1, **DEFAULTS)
        db.session.add(settings)
        db.session.commit()
    if has_app_context():
        g.clinic_settings = settings
    return settings
