"""Import from another system: Cliniko-, Jane- and generic-shaped files made here, checked
(dry run), imported, and imported again."""

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.data_exchange import imports
from booking.clinic.data_exchange.layouts import LAYOUTS, default_mapping
from booking.extensions import db
from booking.models import Appointment, ImportedRecord, Patient, Practitioner, SessionType
from tests.forms import csrf_token

LONDON = ZoneInfo("Europe/London")
# Every date is relative to a fixed "now", a Monday; the rows are in the weeks after it.
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
MONDAY = date(2027, 3, 8)


def csv_bytes(rows: list[list[str]], *, bom: bool = True) -> bytes:
    text = "\r\n".join(",".join(_quoted(cell) for cell in row) for row in rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if ("," in cell or '"' in cell) else cell


def cliniko_file(monday: date = MONDAY) -> bytes:
    """Cliniko-shaped: first and last name apart, start as one date-time.

    Rows from `monday` on; one row is a year before it and one on a 30 February.
    """

    def at(days: int, clock: str) -> str:
        return f"{monday + timedelta(days=days)} {clock}"

    return csv_bytes(
        [
            [
                "Patient ID",
                "First name",
                "Last name",
                "Email",
                "Mobile",
                "Appointment ID",
                "Appointment start",
                "Practitioner",
                "Appointment type",
            ],
            [
                "101",
                "Zoë",
                "Brontë",
                "zoe@example.org",
                "07700 900001",
                "A1",
                at(0, "10:00"),
                "Colette Assor",
                "Massage",
            ],
            [
                "101",
                "Zoë",
                "Brontë",
                "zoe@example.org",
                "07700 900001",
                "A2",
                at(7, "10:00"),
                "Colette Assor",
                "Massage",
            ],
            [
                "102",
                "Sam",
                "Lee",
                "sam@example.org",
                "",
                "A3",
                f"{monday.year}-02-30 10:00",
                "Colette Assor",
                "Massage",
            ],
            [
                "103",
                "Kim",
                "Ray",
                "kim@example.org",
                "",
                "A4",
                at(1, "11:00"),
                "Nobody Known",
                "Massage",
            ],
            [
                "104",
                "Ann",
                "Ode",
                "ann@example.org",
                "",
                "A5",
                at(1, "11:00"),
                "Colette Assor",
                "Reiki",
            ],
            [
                "105",
                "Lou",
                "Ash",
                "lou@example.org",
                "",
                "A6",
                at(0, "10:30"),
                "Colette Assor",
                "Massage",
            ],
            [
                "106",
                "Early",
                "Bird",
                "early@example.org",
                "",
                "A7",
                at(2, "06:00"),
                "Colette Assor",
                "Massage",
            ],
            [
                "107",
                "Past",
                "Visit",
                "past@example.org",
                "",
                "A8",
                at(-365, "10:00"),
                "Colette Assor",
                "Massage",
            ],
            ["108", "Only", "Patient", "only@example.org", "07700 900008", "", "", "", ""],
        ]
    )


@pytest.fixture
def clinic(demo):
    return db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))


def _check(data: bytes, source: str):
    upload = imports.read_upload(data)
    mapping = default_mapping(LAYOUTS[source], upload.headings)
    return upload, mapping, imports.check_rows(upload, source, mapping, now=NOW)


def _reasons(report, line: int) -> list[str]:
    [row] = [row for row in report.rows if row.line == line]
    return [f"{severity}: {reason}" for severity, reason in row.problems]


def test_the_dry_run_lists_every_problem_row_with_its_reason(clinic):
    before = db.session.scalar(sa.select(sa.func.count(Patient.id)))
    _, _, report = _check(cliniko_file(), "cliniko")
    assert _reasons(report, 2) == [] and _reasons(report, 3) == []
    assert "Bad date" in _reasons(report, 4)[0]
    assert "Unknown practitioner" in _reasons(report, 5)[0]
    assert "Unknown session type" in _reasons(report, 6)[0]
    assert _reasons(report, 7) == ["error: Clashes with the appointment on line 2."]
    assert _reasons(report, 8)[0].startswith("warning: Outside the practitioner's working hours")
    assert "only future appointments" in _reasons(report, 9)[0]
    assert _reasons(report, 10) == []
    # Zoë (two appointments), Early Bird (a warning) and Only Patient.
    assert (report.patients_to_add, report.appointments_to_add) == (3, 3)
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == before


def test_the_import_adds_the_good_rows_and_a_second_run_adds_nothing(clinic, make_staff):
    admin = make_staff("admin")
    upload, mapping, checked = _check(cliniko_file(), "cliniko")
    report = imports.import_rows(
        upload, "cliniko", mapping, checked_digest=upload.digest, staff_user=admin, now=NOW
    )
    assert (report.patients_to_add, report.appointments_to_add) == (3, 3)
    zoe = db.session.scalar(sa.select(Patient).filter_by(email="zoe@example.org"))
    assert zoe.name == "Zoë Brontë"
    starts = sorted(
        db.session.scalars(sa.select(Appointment.starts_at).where(Appointment.patient_id == zoe.id))
    )
    # 10:00 in London is 10:00 UTC in March before the clocks change on the 28th.
    assert starts == [datetime(2027, 3, 8, 10, tzinfo=UTC), datetime(2027, 3, 15, 10, tzinfo=UTC)]
    counts = (
        db.session.scalar(sa.select(sa.func.count(Patient.id))),
        db.session.scalar(sa.select(sa.func.count(Appointment.id))),
        db.session.scalar(sa.select(sa.func.count(ImportedRecord.id))),
    )
    again = imports.import_rows(
        upload, "cliniko", mapping, checked_digest=upload.digest, staff_user=admin, now=NOW
    )
    assert (again.patients_to_add, again.appointments_to_add) == (0, 0)
    assert _reasons(again, 2) == ["already imported: Already imported: left as it is."]
    assert counts == (
        db.session.scalar(sa.select(sa.func.count(Patient.id))),
        db.session.scalar(sa.select(sa.func.count(Appointment.id))),
        db.session.scalar(sa.select(sa.func.count(ImportedRecord.id))),
    )


def test_a_clash_with_the_diary_is_reported_and_never_forced_in(
    clinic, make_staff, make_appointment
):
    make_appointment(datetime(2027, 3, 8, 10, 15, tzinfo=UTC), practitioner=clinic)
    upload, mapping, report = _check(cliniko_file(), "cliniko")
    assert _reasons(report, 2) == ["error: Clashes with an appointment Colette Assor already has."]
    imports.import_rows(
        upload,
        "cliniko",
        mapping,
        checked_digest=upload.digest,
        staff_user=make_staff("admin"),
        now=NOW,
    )
    live = db.session.scalars(
        sa.select(Appointment.starts_at).where(
            Appointment.practitioner_id == clinic.id,
            Appointment.starts_at < datetime(2027, 3, 8, 12, tzinfo=UTC),
            Appointment.ends_at > datetime(2027, 3, 8, 9, tzinfo=UTC),
        )
    ).all()
    # Neither Zoë's 10:00 nor Lou's 10:30 went in on top of the 10:15 already there.
    assert live == [datetime(2027, 3, 8, 10, 15, tzinfo=UTC)]


def test_the_import_refuses_a_file_other_than_the_one_checked(clinic, make_staff):
    upload = imports.read_upload(cliniko_file())
    with pytest.raises(DomainError, match="not the file you checked"):
        imports.import_rows(
            upload,
            "cliniko",
            default_mapping(LAYOUTS["cliniko"], upload.headings),
            checked_digest="0" * 64,
            staff_user=make_staff("admin"),
            now=NOW,
        )


def test_a_jane_file_with_date_and_time_apart_and_a_clock_change(clinic, make_staff):
    data = csv_bytes(
        [
            [
                "Patient Number",
                "First Name",
                "Last Name",
                "Email",
                "Mobile Phone",
                "Appointment ID",
                "Date",
                "Start Time",
                "Staff Member",
                "Treatment",
            ],
            [
                "J1",
                "Ada",
                "Byron",
                "ada@example.org",
                "",
                "B1",
                "29/03/2027",
                "01:30 AM",
                "Colette Assor",
                "Massage",
            ],
            [
                "J2",
                "Mary",
                "Shelley",
                "mary@example.org",
                "",
                "B2",
                "30/03/2027",
                "10:00 AM",
                "Colette Assor",
                "Massage",
            ],
        ]
    )
    upload, mapping, report = _check(data, "jane")
    assert mapping["starts"] == "Date" and mapping["start_time"] == "Start Time"
    # 28 March 2027 is the night the clocks go forward; the 29th's 01:30 exists.
    assert _reasons(report, 2)[0].startswith("warning: Outside")
    assert _reasons(report, 3) == []
    imports.import_rows(
        upload,
        "jane",
        mapping,
        checked_digest=upload.digest,
        staff_user=make_staff("admin"),
        now=NOW,
    )
    mary = db.session.scalar(sa.select(Patient).filter_by(email="mary@example.org"))
    [starts_at] = db.session.scalars(
        sa.select(Appointment.starts_at).where(Appointment.patient_id == mary.id)
    )
    assert starts_at == datetime(2027, 3, 30, 9, 0, tzinfo=UTC)  # 10:00 BST


def test_a_time_the_clocks_skip_is_a_bad_date(clinic):
    instant, error, _ = imports.parse_start("2027-03-28 01:30", "", LONDON)
    assert instant is None and "clocks go forward" in error
    instant, _, warning = imports.parse_start("2027-10-31 01:30", "", LONDON)
    assert instant == datetime(2027, 10, 31, 0, 30, tzinfo=UTC) and "twice" in warning


def test_a_generic_file_and_duplicate_patients(clinic, make_patient):
    make_patient("Ruth Bell", email="ruth@example.org")
    make_patient("Someone Else", email="shared@example.org")
    data = csv_bytes(
        [
            [
                "id",
                "name",
                "email",
                "phone",
                "appointment_id",
                "starts_at",
                "practitioner",
                "session_type",
            ],
            ["g1", "Ruth Bell", "RUTH@example.org", "", "", "", "", ""],
            ["g2", "Not Someone", "shared@example.org", "", "", "", "", ""],
            [
                "g3",
                "New Person",
                "new@example.org",
                "07700 900111",
                "x1",
                "2027-03-09 10:00",
                "colette-assor",
                "massage",
            ],
            ["g4", "Twin Person", "new@example.org", "", "", "", "", ""],
        ],
        bom=False,
    )
    _, _, report = _check(data, "generic")
    assert _reasons(report, 2)[0].startswith("warning: Already a patient here")
    assert "different name" in _reasons(report, 3)[0]
    assert _reasons(report, 4) == []
    assert "same email or phone" in _reasons(report, 5)[0]
    assert (report.patients_to_add, report.appointments_to_add) == (1, 1)


def test_a_phone_on_file_is_found_however_the_file_spaces_it(clinic, make_patient):
    # The desk's duplicate warning compares phones by their digits; the import did by text,
    # so a file's "07700900123" made a second record for the clinic's "07700 900123".
    make_patient("Ada Lovelace", email="", phone="07700 900123")
    make_patient("Bob Other", email="", phone="07700 900124")
    data = csv_bytes(
        [
            ["id", "name", "email", "phone"],
            ["p1", "Ada Lovelace", "", "07700900123"],
            ["p2", "Not Bob", "", "077009 00124"],
            ["p3", "New One", "", "07700 900555"],
            ["p4", "New Two", "", "0770090 0555"],
        ],
        bom=False,
    )
    _, _, report = _check(data, "generic")
    assert _reasons(report, 2)[0].startswith("warning: Already a patient here")
    assert "has this phone under a different name" in _reasons(report, 3)[0]
    assert _reasons(report, 4) == []
    assert "same email or phone" in _reasons(report, 5)[0]
    assert report.patients_to_add == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"PK\x03\x04rest-of-a-workbook", "workbook"),
        (b"%PDF-1.4\x00\x01binary", "NUL bytes"),
        ("name,email\r\nZoë,z@example.org\r\n".encode("utf-16"), "NUL bytes"),
        ("name,email\r\nZo\xeb,z@example.org\r\n".encode("latin-1"), "not UTF-8"),
        (b"just one line of prose without commas\r\nand another\r\n", "name the columns"),
        (b"id,name\r\n", "no rows"),
        (b"id,name\r\n" + b"x" * (imports.LARGEST_FILE_BYTES + 1), "larger than"),
        (b'id,name\r\n1,"never closed\r\n', "does not read as a CSV"),
    ],
)
def test_every_kind_of_malformed_file_gets_a_clear_message(app, data, message):
    with pytest.raises(imports.UnreadableFile, match=message):
        imports.read_upload(data)


def _post(client, data: bytes | None, **fields):
    page = client.get("/diary/import")
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "source": "cliniko", **fields}
    if data is not None:
        form["upload"] = (io.BytesIO(data), "export.csv")
    return client.post("/diary/import", data=form, content_type="multipart/form-data")


def _monday_ahead() -> date:
    """A Monday at least two weeks after today, so that no row is in the past."""
    day = datetime.now(LONDON).date() + timedelta(days=14)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def test_the_import_pages_check_then_import(clinic, admin_client):
    data = cliniko_file(_monday_ahead())
    checked = _post(admin_client, data, action="check")
    body = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "Unknown practitioner" in body and "Import 3 patients and 3 appointments" in body
    digest = imports.read_upload(data).digest
    assert f'value="{digest}"' in body
    imported = _post(
        admin_client,
        data,
        action="import",
        checked=digest,
        mapped="1",
        **{
            f"map-{name}": heading
            for name, heading in default_mapping(
                LAYOUTS["cliniko"], imports.read_upload(data).headings
            ).items()
        },
    )
    assert imported.status_code == 200
    assert "Imported 3 new patients and 3 appointments" in imported.get_data(as_text=True)


@pytest.mark.parametrize("data", [None, b"", b"\x00\x01\x02", "é".encode("latin-1") * 10, b"a\r\n"])
def test_a_bad_upload_gives_a_message_and_never_a_server_error(clinic, admin_client, data):
    response = _post(admin_client, data, action="check")
    assert response.status_code == 422
    assert 'class="form-errors"' in response.get_data(as_text=True)


def test_an_upload_larger_than_the_site_allows_is_refused_politely(clinic, admin_client, app):
    data = b"id,name\r\n" + b"1,x\r\n" * (app.config["MAX_CONTENT_LENGTH"] // 4)
    response = _post(admin_client, data, action="check")
    assert response.status_code == 413


def test_a_time_in_the_practitioners_time_off_is_a_warning_and_still_imported(clinic, make_staff):
    from booking.models import TimeOff

    db.session.add(
        TimeOff(
            practitioner=clinic,
            starts_at=datetime(2027, 3, 9, 9, 0, tzinfo=UTC),
            ends_at=datetime(2027, 3, 9, 13, 0, tzinfo=UTC),
            reason="Training",
        )
    )
    db.session.commit()
    data = csv_bytes(
        [
            ["id", "name", "email", "appointment_id", "starts_at", "practitioner", "session_type"],
            [
                "t1",
                "Tess Off",
                "tess@example.org",
                "y1",
                "2027-03-09 10:00",
                "Colette Assor",
                "Massage",
            ],
        ]
    )
    upload, mapping, report = _check(data, "generic")
    assert any("time off" in reason for reason in _reasons(report, 2))
    imports.import_rows(
        upload,
        "generic",
        mapping,
        checked_digest=upload.digest,
        staff_user=make_staff("admin"),
        now=NOW,
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Appointment.id)).where(
                Appointment.starts_at == datetime(2027, 3, 9, 10, 0, tzinfo=UTC)
            )
        )
        == 1
    )


def _generic(*rows: list[str]) -> bytes:
    headings = [
        "id",
        "name",
        "email",
        "appointment_id",
        "starts_at",
        "practitioner",
        "session_type",
    ]
    return csv_bytes([headings, *rows])


def test_an_appointment_id_twice_in_the_file_is_a_problem_row_not_a_server_error(
    clinic, make_staff
):
    data = _generic(
        [
            "d1",
            "Dee One",
            "dee@example.org",
            "same",
            "2027-03-09 10:00",
            "Colette Assor",
            "Massage",
        ],
        [
            "d2",
            "Dee Two",
            "two@example.org",
            "same",
            "2027-03-10 10:00",
            "Colette Assor",
            "Massage",
        ],
    )
    upload, mapping, report = _check(data, "generic")
    assert _reasons(report, 2) == []
    assert _reasons(report, 3) == [
        "error: The appointment id \u201csame\u201d is on line 2 already: each appointment once."
    ]
    report = imports.import_rows(
        upload,
        "generic",
        mapping,
        checked_digest=upload.digest,
        staff_user=make_staff("admin"),
        now=NOW,
    )
    assert (report.patients_to_add, report.appointments_to_add) == (1, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportedRecord)) == 2


def test_one_patient_id_under_two_names_is_refused(clinic):
    data = _generic(
        ["p1", "Pat Smith", "pat@example.org", "", "", "", ""],
        [
            "p1",
            "Pat Smith",
            "pat@example.org",
            "a1",
            "2027-03-09 10:00",
            "Colette Assor",
            "Massage",
        ],
        [
            "p1",
            "Kim Jones",
            "kim@example.org",
            "a2",
            "2027-03-10 10:00",
            "Colette Assor",
            "Massage",
        ],
    )
    _, _, report = _check(data, "generic")
    assert _reasons(report, 2) == [] and _reasons(report, 3) == []
    assert _reasons(report, 4) == [
        "error: The patient id \u201cp1\u201d is on line 2 under another name: correct the file."
    ]
    assert (report.patients_to_add, report.appointments_to_add) == (1, 1)


def test_an_imported_patient_whose_record_was_erased_gets_nothing_new(clinic, make_staff):
    from booking.clinic.patients import erase_patient

    admin = make_staff("admin")
    first = _generic(["e1", "Erin Gone", "erin@example.org", "", "", "", ""])
    upload, mapping, _ = _check(first, "generic")
    imports.import_rows(
        upload, "generic", mapping, checked_digest=upload.digest, staff_user=admin, now=NOW
    )
    erin = db.session.scalar(sa.select(Patient).filter_by(email="erin@example.org"))
    erase_patient(erin, typed_name="Erin Gone", staff_user=admin)
    later = _generic(
        [
            "e1",
            "Erin Gone",
            "erin@example.org",
            "b1",
            "2027-03-09 10:00",
            "Colette Assor",
            "Massage",
        ]
    )
    upload, mapping, report = _check(later, "generic")
    assert _reasons(report, 2) == [
        "error: This patient's record here has been erased: nothing is added to it."
    ]
    report = imports.import_rows(
        upload, "generic", mapping, checked_digest=upload.digest, staff_user=admin, now=NOW
    )
    assert report.appointments_to_add == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Appointment.id)).where(Appointment.patient_id == erin.id)
        )
        == 0
    )


def test_a_booking_made_while_the_import_runs_never_goes_under_it(
    clinic, make_staff, make_patient, backend, database_url
):
    """All or nothing when the database's guarantee speaks: a booking committed by someone
    else after the import checked the diary, just before it writes its rows. On PostgreSQL
    the import then stops and adds nothing, not even the rows before the clash; on SQLite
    the import holds the write lock from its start, so the other booking cannot be made
    until the import has finished."""
    from config import database_url as normalised

    admin, walk_in = make_staff("admin"), make_patient("Walk In")
    massage = db.session.scalar(sa.select(SessionType.id).filter_by(slug="massage"))
    data = _generic(
        [
            "r1",
            "Rae First",
            "rae@example.org",
            "r-a1",
            "2027-03-09 10:00",
            "Colette Assor",
            "Massage",
        ],
        [
            "r2",
            "Rob Second",
            "rob@example.org",
            "r-a2",
            "2027-03-10 10:00",
            "Colette Assor",
            "Massage",
        ],
    )
    upload, mapping, report = _check(data, "generic")
    assert report.appointments_to_add == 2
    other = sa.create_engine(
        normalised(database_url), connect_args={"timeout": 0.2} if backend == "sqlite" else {}
    )
    outcome: list[str] = []
    clash_at = datetime(2027, 3, 10, 10, 15, tzinfo=UTC)

    def someone_books(session, *_flush_arguments):
        if outcome or not any(isinstance(row, Appointment) for row in session.new):
            return
        try:
            with other.begin() as connection:
                connection.execute(
                    sa.insert(Appointment.__table__).values(
                        uid="booked-meanwhile",
                        practitioner_id=clinic.id,
                        patient_id=walk_in.id,
                        session_type_id=massage,
                        starts_at=clash_at,
                        ends_at=clash_at + timedelta(minutes=60),
                        status="booked",
                        source="staff",
                        price_pence=0,
                    )
                )
            outcome.append("booked")
        except sa.exc.OperationalError:
            outcome.append("waited")  # SQLite: the import holds the write lock

    session = db.session()
    sa.event.listen(session, "before_flush", someone_books)
    try:
        if backend == "postgresql":
            with pytest.raises(DomainError, match="nothing was imported"):
                imports.import_rows(
                    upload,
                    "generic",
                    mapping,
                    checked_digest=upload.digest,
                    staff_user=admin,
                    now=NOW,
                )
        else:
            imports.import_rows(
                upload,
                "generic",
                mapping,
                checked_digest=upload.digest,
                staff_user=admin,
                now=NOW,
            )
    finally:
        sa.event.remove(session, "before_flush", someone_books)
        other.dispose()
    db.session.rollback()
    added = db.session.scalar(
        sa.select(sa.func.count(Patient.id)).where(
            Patient.email.in_(["rae@example.org", "rob@example.org"])
        )
    )
    if backend == "postgresql":
        assert outcome == ["booked"]
        assert added == 0  # Rae, before the clash, went too
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportedRecord)) == 0
    else:
        assert outcome == ["waited"]
        assert added == 2


def test_headings_the_layout_does_not_know_are_mapped_by_hand(clinic, admin_client):
    """A clinic's export whose headings differ: the check says which column is missing and
    offers the file's headings; mapped by hand, the same file checks and imports."""
    day = _monday_ahead() + timedelta(days=1)
    data = csv_bytes(
        [
            ["Client No", "Full Name", "E-mail", "Booking Ref", "When", "Therapist", "Service"],
            ["c1", "Ida Lane", "ida@example.org", "k1", f"{day} 10:00", "Colette Assor", "Massage"],
        ]
    )
    refused = _post(admin_client, data, action="check", source="generic")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Say which column holds the patient&#39;s id" in body
    assert '<option value="Client No">Client No</option>' in body
    by_hand = {
        "mapped": "1",
        "map-patient_id": "Client No",
        "map-name": "Full Name",
        "map-email": "E-mail",
        "map-appointment_id": "Booking Ref",
        "map-starts": "When",
        "map-practitioner": "Therapist",
        "map-session_type": "Service",
    }
    checked = _post(admin_client, data, action="check", source="generic", **by_hand)
    assert checked.status_code == 200
    assert "Import 1 patient and 1 appointment" in checked.get_data(as_text=True)
    digest = imports.read_upload(data).digest
    done = _post(admin_client, data, action="import", source="generic", checked=digest, **by_hand)
    assert "Imported 1 new patient and 1 appointment." in done.get_data(as_text=True)
    ida = db.session.scalar(sa.select(Patient).filter_by(email="ida@example.org"))
    assert ida is not None and ida.name == "Ida Lane"


def _many(count: int, prefix: str, first_day: date) -> bytes:
    """`count` new patients, each with an appointment on the hour, four a day."""
    rows = []
    for n in range(count):
        day = first_day + timedelta(days=n // 4)
        rows.append(
            [
                f"{prefix}{n}",
                f"Many Patient {prefix}{n}",
                f"{prefix}{n}@example.org",
                f"{prefix}a{n}",
                f"{day} {10 + n % 4}:00",
                "Many Hands",
                "Massage",
            ]
        )
    return _generic(*rows)


def test_the_statements_an_import_sends_do_not_grow_with_its_rows(clinic, make_staff):
    """A file of thousands of rows is checked and imported in seconds, inside a web
    worker's time: the check reads the patients on file once, not once a row, and the
    import writes its rows in one flush, not three writes a row (5,000 rows took over a
    minute, their clash checks comparing every row with every other)."""
    from tests.queries import counting_queries

    admin = make_staff("admin")
    # A practitioner of our own: the demo's diary follows today's date, this test does not.
    db.session.add(Practitioner(slug="many-hands", name="Many Hands"))
    db.session.commit()
    sent = []
    flushes: list[int] = []
    session = db.session()

    def count_flush(*_arguments):
        flushes.append(1)

    for count, prefix, first_day in ((8, "s", MONDAY), (40, "l", MONDAY + timedelta(days=7))):
        upload, mapping, _ = _check(_many(count, prefix, first_day), "generic")
        flushes.clear()
        sa.event.listen(session, "after_flush", count_flush)
        try:
            with counting_queries() as statements:
                imports.check_rows(upload, "generic", mapping, now=NOW)
                report = imports.import_rows(
                    upload,
                    "generic",
                    mapping,
                    checked_digest=upload.digest,
                    staff_user=admin,
                    now=NOW,
                )
        finally:
            sa.event.remove(session, "after_flush", count_flush)
        assert [row.problems for row in report.rows if row.refused] == []
        assert (report.patients_to_add, report.appointments_to_add) == (count, count)
        reads = [text for text in statements if not text.lstrip().upper().startswith("INSERT")]
        # Patients and appointments: at most a statement a row (SQLite; PostgreSQL batches).
        assert len(statements.matching("INSERT INTO patients")) <= count
        sent.append(
            (len(reads), len(statements.matching("INSERT INTO imported_records")), len(flushes))
        )
    assert sent[0] == sent[1], sent
