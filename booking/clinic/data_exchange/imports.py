"""Import patients and their future appointments from another system's CSV export.

Three steps, the same checks in each: read the file (`read_upload`), check every row
(`check_rows`: a dry run that changes nothing), then import (`import_rows`), which checks
again inside one unit of work and adds every row without an error, all or nothing.

- Each patient and appointment is recorded under its id in the other system
  (ImportedRecord), so a second run of the same file adds nothing new: those rows are
  reported as already imported.
- A patient whose email or phone is already the clinic's is the same person only if the
  name matches too (families share an email); otherwise the row is refused, to be
  sorted out by hand, never merged by guess.
- An appointment never overlaps a live one of the same practitioner: a clash, with the
  diary or with an earlier row of the file, is reported and the row left out. The
  database's own guarantee (the exclusion constraint, SQLite's write lock) stands behind
  the check, so a booking made between the dry run and the import cannot be forced
  aside either: the import then stops and nothing is added.
- A time outside the practitioner's working hours, or in their time off, is a warning:
  the other system may have allowed it and the patient expects to come.
- Imported appointments send no messages: the patients booked them elsewhere already.
"""

import bisect
import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from booking.clinic import DomainError, audit, transaction
from booking.clinic.data_exchange.layouts import FIELDS, LAYOUTS, Layout
from booking.clinic.duplicates import ContactIndex
from booking.clinic.errors import SlotTaken
from booking.clinic.localtime import local_to_utc, to_local, wall_time_exists, within_reach
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.clinic.working_time import current_patterns
from booking.database import utcnow
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentSource,
    AuditEvent,
    ImportedKind,
    ImportedRecord,
    Patient,
    Practitioner,
    SessionType,
    StaffUser,
    TimeOff,
)

LARGEST_FILE_BYTES = 900 * 1024
MOST_ROWS = 5000
LONGEST_CELL = 500

ERROR, WARNING, DONE = "error", "warning", "already imported"


class UnreadableFile(DomainError):
    """The upload is not a CSV file we can read; the message says why and what to do."""


@dataclass
class UploadedFile:
    headings: list[str]
    rows: list[dict[str, str]]  # heading -> cell, one per data row
    digest: str  # SHA-256 of the bytes: the import must be of the file that was checked


@dataclass
class RowResult:
    line: int  # the row's line number in the file (the headings are line 1)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (severity, reason)
    patient_label: str = ""
    starts_at: datetime | None = None
    practitioner: Practitioner | None = None
    session_type: SessionType | None = None
    patient_id: str = ""
    appointment_id: str = ""
    existing_patient: Patient | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None

    @property
    def refused(self) -> bool:
        return any(severity in (ERROR, DONE) for severity, _ in self.problems)

    @property
    def has_appointment(self) -> bool:
        return self.starts_at is not None


@dataclass
class Report:
    rows: list[RowResult]
    patients_to_add: int = 0
    appointments_to_add: int = 0

    @property
    def problem_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.problems]


def read_upload(data: bytes) -> UploadedFile:
    """The file's headings and rows, or UnreadableFile saying plainly what is wrong."""
    if not data.strip():
        raise UnreadableFile("The file is empty. Choose the CSV file your old system exported.")
    if len(data) > LARGEST_FILE_BYTES:
        raise UnreadableFile(
            f"The file is larger than {LARGEST_FILE_BYTES // 1024} KB. "
            "Split it into smaller files and import them one after another."
        )
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableFile(
            "This is a spreadsheet workbook (or a zip), not a CSV file. "
            "Open it and save it as \u201cCSV UTF-8\u201d, then choose that file."
        )
    if b"\x00" in data:
        raise UnreadableFile(
            "The file contains NUL bytes, so it is not a plain CSV text file "
            "(it may be a PDF, a workbook or UTF-16 text). Save it as \u201cCSV UTF-8\u201d."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(
            "The file is not UTF-8 text. In your spreadsheet choose \u201cSave as\u201d, "
            "\u201cCSV UTF-8\u201d, and choose that file."
        ) from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        table = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise UnreadableFile(f"This does not read as a CSV file ({error}).") from None
    if not table:
        raise UnreadableFile("The file is empty. Choose the CSV file your old system exported.")
    headings = [heading.strip() for heading in table[0]]
    if len(headings) < 2 or len(set(headings)) != len(headings) or not all(headings):
        raise UnreadableFile(
            "The first line must name the columns (at least two, each once), "
            "separated by commas. This file does not look like a CSV export."
        )
    if len(table) == 1:
        raise UnreadableFile("The file has its column headings but no rows to import.")
    if len(table) - 1 > MOST_ROWS:
        raise UnreadableFile(f"The file has more than {MOST_ROWS} rows; split it into parts.")
    rows = []
    for cells in table[1:]:
        cells = [cell.strip()[:LONGEST_CELL] for cell in cells]
        cells += [""] * (len(headings) - len(cells))
        rows.append(dict(zip(headings, cells, strict=False)))
    return UploadedFile(headings, rows, hashlib.sha256(data).hexdigest())


def layout_named(key: str) -> Layout:
    if key not in LAYOUTS:
        raise DomainError("Choose the system the file comes from.")
    return LAYOUTS[key]


# Dates and times as the other systems write them (clinic local time unless an offset
# is given). Day-first, as in the UK; a US month-first date reads as a bad date.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p")


def _parse_date(text: str) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date alone
        except ValueError:
            continue
    return None


def _parse_time(text: str) -> time | None:
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text.upper(), pattern).time()  # noqa: DTZ007 - a time alone
        except ValueError:
            continue
    return None


def parse_start(
    starts: str, start_time: str, zone: ZoneInfo
) -> tuple[datetime | None, str | None, str | None]:
    """(UTC instant, error, warning) for a start written as the other system writes it."""
    text = starts.strip().replace("T", " ", 1) if not start_time else starts.strip()
    when: datetime | None = None
    if start_time:
        day, at = _parse_date(text), _parse_time(start_time.strip())
        if day is None or at is None:
            return (
                None,
                f"\u201c{starts} {start_time}\u201d is not a date and time we can read.",
                None,
            )
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is None:
            date_part, _, time_part = text.rpartition(" ")
            if " " in date_part and time_part.upper() in ("AM", "PM"):
                date_part, _, hour = date_part.rpartition(" ")
                time_part = f"{hour} {time_part}"
            day, at = _parse_date(date_part), _parse_time(time_part)
            if day is None or at is None:
                return None, f"\u201c{starts}\u201d is not a date and time we can read.", None
        elif when.tzinfo is not None:
            instant = when.astimezone(ZoneInfo("UTC"))
            if not within_reach(instant):
                return None, f"\u201c{starts}\u201d is not a date we can book.", None
            return instant, None, None
        else:
            day, at = when.date(), when.time()
    if not within_reach(day):
        return None, f"\u201c{starts}\u201d is not a date we can book.", None
    if not wall_time_exists(day, at, zone):
        return None, f"{day} {at:%H:%M} does not exist: the clocks go forward that night.", None
    instant = local_to_utc(day, at, zone)
    warning = None
    later = datetime.combine(day, at, tzinfo=zone).replace(fold=1).astimezone(ZoneInfo("UTC"))
    if later != instant:
        warning = f"{day} {at:%H:%M} happens twice (the clocks go back); the first is used."
    return instant, None, warning


@dataclass
class _Lookups:
    """What the rows are checked against, read once per check."""

    practitioners: dict[str, Practitioner]
    session_types: dict[str, SessionType]
    imported: set[tuple[str, str]]  # (kind, external id) already imported from the source
    imported_patients: dict[str, int]
    erased_patients: set[str]  # external ids of imported patients whose record was erased


def _name_key(text: str) -> str:
    return " ".join(text.casefold().split())


def _lookups(source: str) -> _Lookups:
    practitioners: dict[str, Practitioner] = {}
    for practitioner in db.session.scalars(select(Practitioner)):
        practitioners[_name_key(practitioner.name)] = practitioner
        practitioners[_name_key(practitioner.slug)] = practitioner
    session_types: dict[str, SessionType] = {}
    for session_type in db.session.scalars(select(SessionType)):
        session_types[_name_key(session_type.name)] = session_type
        session_types[_name_key(session_type.slug)] = session_type
    imported, imported_patients = set(), {}
    for kind, external_id, record_id in db.session.execute(
        select(ImportedRecord.kind, ImportedRecord.external_id, ImportedRecord.record_id).where(
            ImportedRecord.source == source
        )
    ):
        imported.add((kind, external_id))
        if kind == ImportedKind.PATIENT:
            imported_patients[external_id] = record_id
    erased_ids = set(
        db.session.scalars(
            select(AuditEvent.subject_id).where(
                AuditEvent.action == "patient.erased",
                AuditEvent.subject_type == Patient.__name__,
                AuditEvent.subject_id.in_(list(imported_patients.values())),
            )
        )
    )
    erased = {external for external, pid in imported_patients.items() if pid in erased_ids}
    return _Lookups(practitioners, session_types, imported, imported_patients, erased)


def _cell(row: dict[str, str], mapping: dict[str, str], name: str) -> str:
    heading = mapping.get(name)
    return row.get(heading, "").strip() if heading else ""


def _existing_patient(result: RowResult, on_file: ContactIndex) -> None:
    """Match the row's patient to one the clinic has, by email or phone and the same name.

    Compared as the desk's duplicate warning compares them (duplicates.patients_on_file):
    the email without regard to case, the phone by its digits, so "07700 900111" in the
    file is the clinic's "07700900111".
    """
    found = on_file.patients_on_file(result.email, result.phone)
    if not found:
        return
    for patient in found:
        if _name_key(patient.name) == _name_key(result.name):
            result.existing_patient = patient
            result.problems.append(
                (WARNING, f"Already a patient here (number {patient.id}): no new patient is added.")
            )
            return
    email = (result.email or "").lower()
    by_email = bool(email) and any((patient.email or "").lower() == email for patient in found)
    which = "email" if by_email else "phone"
    result.problems.append(
        (
            ERROR,
            f"Another patient here has this {which} under a different name: "
            "add this patient by hand, or correct the file.",
        )
    )


def _contact_keys(result: RowResult) -> list[str]:
    """The row's email and phone as compared within the file: case and spacing aside."""
    keys = []
    if result.email:
        keys.append(f"email:{result.email.lower()}")
    digits = re.sub(r"\D", "", result.phone or "")
    if len(digits) >= 7:
        keys.append(f"phone:{digits}")
    return keys


def _read_row(
    line: int, row: dict[str, str], mapping: dict[str, str], lookups: _Lookups, zone: ZoneInfo
) -> RowResult:
    result = RowResult(line=line)
    result.patient_id = _cell(row, mapping, "patient_id")[:120]
    result.appointment_id = _cell(row, mapping, "appointment_id")[:120]
    name = _cell(row, mapping, "name") or " ".join(
        part
        for part in (_cell(row, mapping, "first_name"), _cell(row, mapping, "last_name"))
        if part
    )
    result.name = " ".join(name.split())[:120]
    result.patient_label = result.name or "(no name)"
    result.email = _cell(row, mapping, "email").lower()[:254] or None
    result.phone = _cell(row, mapping, "phone")[:40] or None
    if not result.patient_id:
        result.problems.append((ERROR, "No patient id: each row needs the other system's id."))
    if not result.name:
        result.problems.append((ERROR, "No patient name."))
    if result.email and ("@" not in result.email or " " in result.email):
        result.problems.append((ERROR, f"\u201c{result.email}\u201d is not an email address."))
    starts = _cell(row, mapping, "starts")
    if starts:
        _read_appointment(result, row, mapping, lookups, zone, starts)
    return result


def _read_appointment(
    result: RowResult,
    row: dict[str, str],
    mapping: dict[str, str],
    lookups: _Lookups,
    zone: ZoneInfo,
    starts: str,
) -> None:
    instant, error, warning = parse_start(starts, _cell(row, mapping, "start_time"), zone)
    if error:
        result.problems.append((ERROR, f"Bad date: {error}"))
    if warning:
        result.problems.append((WARNING, warning))
    practitioner_name = _cell(row, mapping, "practitioner")
    practitioner = lookups.practitioners.get(_name_key(practitioner_name))
    if practitioner is None:
        result.problems.append(
            (
                ERROR,
                f"Unknown practitioner \u201c{practitioner_name}\u201d: add them first, "
                "or correct the name.",
            )
        )
    session_name = _cell(row, mapping, "session_type")
    session_type = lookups.session_types.get(_name_key(session_name))
    if session_type is None:
        result.problems.append(
            (
                ERROR,
                f"Unknown session type \u201c{session_name}\u201d: add it first, "
                "or correct the name.",
            )
        )
    if not result.appointment_id:
        result.problems.append(
            (ERROR, "No appointment id: each appointment needs the other system's id.")
        )
    result.starts_at, result.practitioner, result.session_type = instant, practitioner, session_type


def _check_ids(results: list[RowResult], lookups: _Lookups) -> None:
    """Ids the file repeats inconsistently, and patients whose record here was erased.

    An appointment id is one appointment: a second row with it is refused (the import
    keeps one record per id). A patient id on several rows is one patient, so the rows
    must name the same person; a record erased here is never booked again by an import.
    """
    appointment_lines: dict[str, int] = {}
    patient_rows: dict[str, RowResult] = {}
    for result in results:
        if result.appointment_id:
            first = appointment_lines.setdefault(result.appointment_id, result.line)
            if first != result.line:
                result.problems.append(
                    (
                        ERROR,
                        f"The appointment id \u201c{result.appointment_id}\u201d is on line "
                        f"{first} already: each appointment once.",
                    )
                )
        if not result.patient_id:
            continue
        earlier = patient_rows.setdefault(result.patient_id, result)
        if earlier is not result and _name_key(earlier.name) != _name_key(result.name):
            result.problems.append(
                (
                    ERROR,
                    f"The patient id \u201c{result.patient_id}\u201d is on line {earlier.line} "
                    "under another name: correct the file.",
                )
            )
        if (
            result.patient_id in lookups.erased_patients
            and (ImportedKind.APPOINTMENT, result.appointment_id) not in lookups.imported
        ):
            result.problems.append(
                (ERROR, "This patient's record here has been erased: nothing is added to it.")
            )


class _Booked:
    """A practitioner's live appointments, for "does this time overlap any of them?" in
    logarithmic time (a file of thousands of rows against a full diary)."""

    def __init__(self, spans: list[tuple[datetime, datetime]]) -> None:
        spans = sorted(spans)
        self.starts = [start for start, _ in spans]
        self.latest_end: list[datetime] = []  # the latest end among spans[0..i]
        for _, end in spans:
            self.latest_end.append(max(end, self.latest_end[-1]) if self.latest_end else end)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        before_end = bisect.bisect_left(self.starts, end)  # the spans starting before `end`
        return before_end > 0 and self.latest_end[before_end - 1] > start


def _check_times(results: list[RowResult], now: datetime, zone: ZoneInfo) -> None:
    """Past, clashing and out-of-hours appointments, against the diary and each other."""
    timed = [
        r
        for r in results
        if r.starts_at is not None and r.practitioner is not None and r.session_type is not None
    ]
    for result in timed:
        assert result.starts_at is not None
        if result.starts_at <= now:
            result.problems.append((ERROR, "In the past: only future appointments are imported."))
    timed = [r for r in timed if not r.refused]
    if not timed:
        return
    ids = {r.practitioner.id for r in timed if r.practitioner is not None}
    first = min(r.starts_at for r in timed if r.starts_at is not None)
    last = max(r.starts_at for r in timed if r.starts_at is not None) + timedelta(hours=9)
    booked: dict[int, list[tuple[datetime, datetime]]] = {pid: [] for pid in ids}
    for pid, starts_at, ends_at in db.session.execute(
        select(Appointment.practitioner_id, Appointment.starts_at, Appointment.ends_at).where(
            Appointment.practitioner_id.in_(ids),
            Appointment.is_live,
            Appointment.ends_at > first,
            Appointment.starts_at < last,
        )
    ):
        booked[pid].append((starts_at, ends_at))
    blocked: dict[int, list[tuple[datetime, datetime]]] = {pid: [] for pid in ids}
    for pid, starts_at, ends_at in db.session.execute(
        select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.practitioner_id.in_(ids), TimeOff.ends_at > first, TimeOff.starts_at < last
        )
    ):
        blocked[pid].append((starts_at, ends_at))
    patterns = current_patterns(ids)
    diary = {pid: _Booked(spans) for pid, spans in booked.items()}
    taken: dict[int, list[tuple[datetime, datetime, int]]] = {pid: [] for pid in ids}
    for result in timed:
        assert result.starts_at and result.practitioner and result.session_type
        pid, start = result.practitioner.id, result.starts_at
        end = start + timedelta(minutes=result.session_type.duration_minutes)
        if diary[pid].overlaps(start, end):
            result.problems.append(
                (ERROR, f"Clashes with an appointment {result.practitioner.name} already has.")
            )
            continue
        # The file's rows taken so far never overlap one another, so sorted by start they
        # are sorted by end too: only the last one starting before this end can clash.
        rows = taken[pid]
        position = bisect.bisect_left(rows, (end,))
        if position and rows[position - 1][1] > start:
            earlier = rows[position - 1][2]
            result.problems.append((ERROR, f"Clashes with the appointment on line {earlier}."))
            continue
        rows.insert(position, (start, end, result.line))
        local_start, local_end = to_local(start, zone), to_local(end, zone)
        hours = patterns[pid].get(local_start.weekday(), [])
        if not any(
            s <= local_start.time()
            and local_end.time() <= e
            and local_end.date() == local_start.date()
            for s, e in hours
        ):
            result.problems.append(
                (WARNING, "Outside the practitioner's working hours here: imported all the same.")
            )
        if any(s < end and e > start for s, e in blocked[pid]):
            result.problems.append(
                (
                    WARNING,
                    "In the practitioner's time off: imported all the same; move it if need be.",
                )
            )


def check_rows(
    upload: UploadedFile, source: str, mapping: dict[str, str], *, now: datetime
) -> Report:
    """The dry run: every row's problems, and what an import would add. Changes nothing."""
    layout_named(source)
    mapping = {name: heading for name, heading in mapping.items() if name in FIELDS and heading}
    if not mapping.get("patient_id"):
        raise DomainError("Say which column holds the patient's id in the other system.")
    if not (mapping.get("name") or mapping.get("first_name") or mapping.get("last_name")):
        raise DomainError("Say which column holds the patient's name.")
    zone = clinic_settings().zone
    lookups = _lookups(source)
    results = [
        _read_row(number + 2, row, mapping, lookups, zone) for number, row in enumerate(upload.rows)
    ]
    _check_ids(results, lookups)
    _check_times(results, now, zone)
    seen_patients: dict[str, RowResult] = {}
    seen_contacts: dict[str, str] = {}
    on_file = ContactIndex()
    report = Report(results)
    for result in results:
        if (
            result.appointment_id
            and (ImportedKind.APPOINTMENT, result.appointment_id) in lookups.imported
        ):
            result.problems = [(DONE, "Already imported: left as it is.")]
            continue
        if result.refused:
            continue
        if result.patient_id in lookups.imported_patients or result.patient_id in seen_patients:
            pass  # the same patient as before: their appointment joins them
        else:
            for contact in _contact_keys(result):
                other = seen_contacts.get(contact)
                if other is not None and other != result.patient_id:
                    result.problems.append(
                        (ERROR, "Another patient in this file has the same email or phone.")
                    )
                    break
            if not result.refused:
                _existing_patient(result, on_file)
            if result.refused:
                continue
            seen_patients[result.patient_id] = result
            for contact in _contact_keys(result):
                seen_contacts[contact] = result.patient_id
            if result.existing_patient is None:
                report.patients_to_add += 1
        if result.has_appointment:
            report.appointments_to_add += 1
        elif not result.problems and result.patient_id in lookups.imported_patients:
            result.problems = [(DONE, "Patient already imported: left as they are.")]
    return report


def import_rows(
    upload: UploadedFile,
    source: str,
    mapping: dict[str, str],
    *,
    checked_digest: str,
    staff_user: StaffUser,
    now: datetime | None = None,
) -> Report:
    """Check again and add every row without an error, in one unit of work."""
    now = now or utcnow()
    if checked_digest != upload.digest:
        raise DomainError("This is not the file you checked. Check it first, then import it.")
    try:
        return _import(upload, source, mapping, staff_user, now)
    except SlotTaken:
        raise DomainError(
            "An appointment was booked in the diary at one of these times while the import "
            "ran, so nothing was imported. Check the file again, then import it."
        ) from None


def _import(
    upload: UploadedFile,
    source: str,
    mapping: dict[str, str],
    staff_user: StaffUser,
    now: datetime,
) -> Report:
    with unit_of_work():
        report = check_rows(upload, source, mapping, now=now)
        patients: dict[str, Patient] = {
            external_id: patient for external_id, patient in _imported_patients(source, report.rows)
        }
        added_patients = added_appointments = 0
        # Everything is added first and written in one flush (a statement per table, not
        # three a row: 5,000 rows took over a minute, past any web worker's timeout); the
        # database's no-overlap guarantee speaks at that flush, for every row at once.
        imported: list[tuple[ImportedKind, str, Patient | Appointment]] = []
        for result in report.rows:
            if result.refused:
                continue
            patient = patients.get(result.patient_id) or result.existing_patient
            if patient is None:
                patient = Patient(name=result.name, email=result.email, phone=result.phone)
                db.session.add(patient)
                added_patients += 1
            if result.patient_id not in patients:
                patients[result.patient_id] = patient
                imported.append((ImportedKind.PATIENT, result.patient_id, patient))
            if result.has_appointment:
                assert result.starts_at and result.practitioner and result.session_type
                appointment = Appointment(
                    practitioner=result.practitioner,
                    patient=patient,
                    session_type=result.session_type,
                    starts_at=result.starts_at,
                    ends_at=result.starts_at
                    + timedelta(minutes=result.session_type.duration_minutes),
                    source=AppointmentSource.STAFF.value,
                    price_pence=result.session_type.price_pence,
                )
                db.session.add(appointment)
                imported.append((ImportedKind.APPOINTMENT, result.appointment_id, appointment))
                added_appointments += 1
        transaction.flush()
        if imported:
            # One statement for them all: nothing needs their ids back.
            db.session.execute(
                insert(ImportedRecord),
                [
                    {
                        "source": source,
                        "kind": kind,
                        "external_id": external_id,
                        "record_id": record.id,
                        "staff_user_id": staff_user.id,
                    }
                    for kind, external_id, record in imported
                ],
            )
        audit.record(
            staff_user,
            "import.completed",
            staff_user,
            source=source,
            rows=len(report.rows),
            patients_added=added_patients,
            appointments_added=added_appointments,
            rows_left_out=sum(1 for row in report.rows if row.refused),
        )
        report.patients_to_add, report.appointments_to_add = added_patients, added_appointments
    return report


def _imported_patients(source: str, rows: Iterable[RowResult]) -> list[tuple[str, Patient]]:
    wanted = {row.patient_id for row in rows if row.patient_id}
    if not wanted:
        return []
    found = db.session.execute(
        select(ImportedRecord.external_id, Patient)
        .join(Patient, Patient.id == ImportedRecord.record_id)
        .where(
            ImportedRecord.source == source,
            ImportedRecord.kind == ImportedKind.PATIENT,
            ImportedRecord.external_id.in_(wanted),
        )
    )
    return [(external_id, patient) for external_id, patient in found]
