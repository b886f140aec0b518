"""The CSV layouts an import understands: where each piece of a row is, by column heading.

Each row of an import file is one patient, and optionally one future appointment of
theirs. A layout names, for each field we need, the headings it may have in that
system's export (matched without regard to case, spaces or punctuation); the person
importing can change any of them in the column-mapping step.

The Cliniko and Jane headings are our reading of those systems' patient and appointment
exports (neither publishes a fixed specification; a clinic's export may differ, which is
what the mapping step is for):

- Cliniko: "Patient ID", "First name", "Last name", "Email", "Mobile" (or "Phone"),
  "Appointment ID", "Appointment start" (a date and time, e.g. 2027-03-01 10:00),
  "Practitioner", "Appointment type".
- Jane: "Patient ID" (or "Patient Number"), "First Name", "Last Name", "Email",
  "Mobile Phone" (or "Phone"), "Appointment ID", "Date" and "Start Time" (separate,
  e.g. 2027-03-01 and 10:00 AM), "Staff Member", "Treatment".
- Generic (ours, documented in the README): "id", "name" (or "first_name" and
  "last_name"), "email", "phone", "appointment_id", "starts_at" (clinic local time,
  YYYY-MM-DD HH:MM), "practitioner" (name or slug), "session_type" (name or slug).
"""

import re
from dataclasses import dataclass

# The fields of a row, in the order the mapping form shows them, with their labels.
FIELDS: dict[str, str] = {
    "patient_id": "Patient's id in the other system",
    "name": "Full name",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "appointment_id": "Appointment's id in the other system",
    "starts": "Appointment start (date and time, or the date)",
    "start_time": "Appointment start time (when the date is apart)",
    "practitioner": "Practitioner",
    "session_type": "Session type",
}


@dataclass(frozen=True)
class Layout:
    key: str
    label: str
    headings: dict[str, tuple[str, ...]]  # field -> headings it may have


LAYOUTS: dict[str, Layout] = {
    layout.key: layout
    for layout in (
        Layout(
            "cliniko",
            "Cliniko export",
            {
                "patient_id": ("Patient ID", "Patient Id"),
                "name": ("Patient", "Patient name"),
                "first_name": ("First name",),
                "last_name": ("Last name",),
                "email": ("Email", "Email address"),
                "phone": ("Mobile", "Mobile phone", "Phone", "Phone number"),
                "appointment_id": ("Appointment ID", "Appointment Id"),
                "starts": ("Appointment start", "Start time", "Starts at"),
                "start_time": (),
                "practitioner": ("Practitioner", "Practitioner name"),
                "session_type": ("Appointment type", "Appointment type name"),
            },
        ),
        Layout(
            "jane",
            "Jane export",
            {
                "patient_id": ("Patient ID", "Patient Number", "Patient Guid"),
                "name": ("Patient", "Patient Name"),
                "first_name": ("First Name", "Patient First Name"),
                "last_name": ("Last Name", "Patient Last Name"),
                "email": ("Email", "Patient Email"),
                "phone": ("Mobile Phone", "Cell Phone", "Phone", "Home Phone"),
                "appointment_id": ("Appointment ID", "Booking ID"),
                "starts": ("Date", "Appointment Date", "Start Date"),
                "start_time": ("Start Time", "Time"),
                "practitioner": ("Staff Member", "Practitioner", "Staff"),
                "session_type": ("Treatment", "Treatment Name", "Service"),
            },
        ),
        Layout(
            "generic",
            "Generic layout (see the README)",
            {
                "patient_id": ("id", "patient_id"),
                "name": ("name",),
                "first_name": ("first_name",),
                "last_name": ("last_name",),
                "email": ("email",),
                "phone": ("phone",),
                "appointment_id": ("appointment_id",),
                "starts": ("starts_at",),
                "start_time": (),
                "practitioner": ("practitioner",),
                "session_type": ("session_type",),
            },
        ),
    )
}


def _key(heading: str) -> str:
    return re.sub(r"[^a-z0-9]", "", heading.casefold())


def default_mapping(layout: Layout, headings: list[str]) -> dict[str, str]:
    """Field -> the file's heading for it, where the layout finds one."""
    by_key = {_key(heading): heading for heading in reversed(headings)}
    mapping: dict[str, str] = {}
    for field, candidates in layout.headings.items():
        for candidate in candidates:
            if _key(candidate) in by_key:
                mapping[field] = by_key[_key(candidate)]
                break
    return mapping
