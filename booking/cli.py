"""Flask commands: seed-demo, create-staff (more arrive with the outbox and reminders)."""

from dataclasses import dataclass
from datetime import time
from typing import Any

import click
from flask import Flask
from sqlalchemy import select

from booking.busy_time_cli import register_busy_time_commands
from booking.clinic import DomainError, team
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import unit_of_work
from booking.extensions import db
from booking.models import (
    CourseProduct,
    Practitioner,
    Role,
    SessionType,
    StaffUser,
    Treatment,
    WorkingHours,
)
from booking.outbox_cli import register_outbox_commands
from booking.records_cli import register_records_commands

TREATMENTS = [
    (
        "acupuncture",
        "Acupuncture",
        "Fine, single-use sterile needles placed at chosen points, "
        "aiming to ease pain and muscle tension.",
    ),
    (
        "massage",
        "Massage",
        "Hands-on work on the muscles and soft tissue of the back, hips and legs "
        "to release tightness.",
    ),
    (
        "cupping",
        "Cupping",
        "Glass or silicone cups that gently draw the skin and muscle upwards "
        "to loosen tight tissue.",
    ),
    (
        "stretching",
        "Stretching",
        "Assisted stretches for the back, hips and pelvis, "
        "and simple ones to carry on with at home.",
    ),
]

# slug, name, description, minutes, pence, treatments, practitioners who offer it
SESSION_TYPES = [
    (
        "acupuncture",
        "Acupuncture",
        "A single acupuncture treatment.",
        45,
        6500,
        ["acupuncture"],
        ["colette-assor"],
    ),
    (
        "massage",
        "Massage",
        "A deep-tissue massage of the back, hips and legs.",
        45,
        6000,
        ["massage"],
        ["colette-assor", "sam-okafor"],
    ),
    (
        "stretching",
        "Assisted stretching",
        "A session of assisted stretching and home exercises.",
        30,
        4000,
        ["stretching"],
        ["colette-assor", "sam-okafor"],
    ),
    (
        "acupuncture-cupping",
        "Acupuncture and cupping",
        "Acupuncture followed by cupping over the back and hips.",
        60,
        8000,
        ["acupuncture", "cupping"],
        ["colette-assor"],
    ),
    (
        "massage-stretching",
        "Massage and stretching",
        "Massage to release the muscles, then assisted stretching.",
        60,
        7500,
        ["massage", "stretching"],
        ["colette-assor", "sam-okafor"],
    ),
    (
        "full-combination",
        "Full combination session",
        "Acupuncture, massage, cupping and stretching in one visit: "
        "our usual treatment for sciatica.",
        90,
        11000,
        ["acupuncture", "massage", "cupping", "stretching"],
        ["colette-assor"],
    ),
]

PRACTITIONERS: list[dict[str, Any]] = [
    {
        "slug": "colette-assor",
        "name": "Colette Assor",
        "title": "Acupuncturist, MBAcC",
        "bio": "Colette has treated back pain for more than twenty years. She trained in massage "
        "for two years from 1996 and completed a degree in Traditional Chinese Medicine "
        "acupuncture in 1999. She is a member of the British Acupuncture Council.",
        "position": 0,
        # Printed on her receipts and invoices, as insurers and cash plans ask (invented).
        "professional_body": "British Acupuncture Council",
        "registration_number": "DEMO-0001",
        # Monday to Friday 09:00-18:00 with a lunch hour, Saturday morning.
        "hours": [(d, time(9), time(13)) for d in range(5)]
        + [(d, time(14), time(18)) for d in range(5)]
        + [(5, time(9), time(13))],
    },
    {
        "slug": "sam-okafor",
        "name": "Sam Okafor",
        "title": "Sports massage therapist",
        "bio": "Sam works with massage and stretching for back, hip and leg pain. "
        "(Demo practitioner.)",
        "position": 1,
        "hours": [(d, time(10), time(18)) for d in (1, 2, 3)],
    },
]


RECEPTION_EMAIL = "reception@clinic.example"
# The demo's other sign-ins (email, name, role, practitioner's slug), made by `flask seed-demo`
# with the diary: the tests' demo clinic has the receptionist alone.
DEMO_SIGN_INS = [
    ("colette@clinic.example", "Colette Assor", Role.PRACTITIONER, "colette-assor"),
    ("admin@clinic.example", "Demo Admin", Role.ADMIN, None),
]
ROLE_TITLES = {
    Role.RECEPTIONIST: "Receptionist",
    Role.PRACTITIONER: "Practitioner",
    Role.ADMIN: "Admin",
}


@dataclass(frozen=True)
class NewSignIn:
    """A demo account made by this run, with its password (shown only this once)."""

    role: Role
    email: str
    password: str


def seed_demo(*, with_diary: bool = False) -> str | None:
    """Load the demo clinic; safe to run again. Returns the receptionist's new password, once.

    with_diary also makes the practitioner's and the admin's sign-ins, books the coming
    fortnight for invented patients and adds past visits with their clinical record and
    payments (the CLI does; tests mostly want an empty diary)."""
    made = load_demo(with_diary=with_diary)
    return next((sign_in.password for sign_in in made if sign_in.email == RECEPTION_EMAIL), None)


def load_demo(*, with_diary: bool) -> list[NewSignIn]:
    """Load the demo clinic (see `seed_demo`); returns the accounts this run made."""
    # Each row is looked up by its slug before it is added. Without no_autoflush every
    # lookup first flushed the rows added before it, one small INSERT at a time; now the
    # whole clinic is written in one flush when the unit of work commits.
    with unit_of_work(), db.session.no_autoflush:
        password = _seed_demo_rows()
    made = [NewSignIn(Role.RECEPTIONIST, RECEPTION_EMAIL, password)] if password else []
    if with_diary:
        from booking.demo_diary import fill_demo_diary
        from booking.demo_records import fill_demo_records

        made += _demo_sign_ins()
        fill_demo_diary()
        desk = db.session.scalar(select(StaffUser).filter_by(email=RECEPTION_EMAIL))
        colette = db.session.scalar(
            select(StaffUser).join(Practitioner).where(Practitioner.slug == "colette-assor")
        )
        if desk is not None and colette is not None:
            try:
                fill_demo_records(desk, colette)
            except DomainError as error:
                # A clinic changed by hand since an earlier seed: the rest of the demo stands.
                click.echo(f"The demo's past visits were not added: {error.message}", err=True)
    return made


def _demo_sign_ins() -> list[NewSignIn]:
    """The practitioner's and the admin's accounts, through the admin pages' own function;
    an account already there (or Colette's made under another address) is left as it is."""
    made = []
    for email, name, role, slug in DEMO_SIGN_INS:
        if db.session.scalar(select(StaffUser.id).filter_by(email=email)) is not None:
            continue
        practitioner = None
        if slug is not None:
            practitioner = db.session.scalar(select(Practitioner).filter_by(slug=slug))
            holder = (
                db.session.scalar(
                    select(StaffUser.id).where(StaffUser.practitioner_id == practitioner.id)
                )
                if practitioner is not None
                else None
            )
            if practitioner is None or holder is not None:
                continue
        _, password = team.add_staff_account(
            name=name, email=email, role=role, practitioner=practitioner, staff_user=None
        )
        made.append(NewSignIn(role, email, password))
    return made


def _seed_demo_rows() -> str | None:
    clinic_settings()
    settings = clinic_settings()
    settings.what_to_bring = (
        "Wear loose, comfortable clothing. Bring a list of any medicines you take "
        "and any letters or scan reports about your back."
    )
    settings.directions = (
        "From Example Park station (Jubilee line), turn left out of the station and walk "
        "about five minutes along Example Road; we are at number 12, opposite the library. "
        "Ring the bell marked 'Clinic' and take a seat in the waiting room on the ground floor."
    )

    treatments = {}
    for position, (slug, name, summary) in enumerate(TREATMENTS):
        treatment = db.session.scalar(select(Treatment).filter_by(slug=slug))
        if treatment is None:
            treatment = Treatment(slug=slug, name=name, summary=summary, position=position)
            db.session.add(treatment)
        treatments[slug] = treatment

    practitioners = {}
    for data in PRACTITIONERS:
        practitioner = db.session.scalar(select(Practitioner).filter_by(slug=data["slug"]))
        if practitioner is None:
            practitioner = Practitioner(
                slug=data["slug"],
                name=data["name"],
                title=data["title"],
                bio=data["bio"],
                position=data["position"],
                professional_body=data.get("professional_body", ""),
                registration_number=data.get("registration_number", ""),
            )
            practitioner.working_hours = [
                WorkingHours(weekday=day, starts_at=start, ends_at=end)
                for day, start, end in data["hours"]
            ]
            db.session.add(practitioner)
        practitioners[data["slug"]] = practitioner

    session_types = {}
    for position, (slug, name, description, minutes, pence, parts, offered_by) in enumerate(
        SESSION_TYPES
    ):
        session_type = db.session.scalar(select(SessionType).filter_by(slug=slug))
        if session_type is None:
            session_type = SessionType(
                slug=slug,
                name=name,
                description=description,
                duration_minutes=minutes,
                price_pence=pence,
                position=position,
                treatments=[treatments[part] for part in parts],
                practitioners=[practitioners[p] for p in offered_by],
                # The demo clinic's usual treatment for sciatica.
                recommended=slug == "full-combination",
            )
            db.session.add(session_type)
        session_types[slug] = session_type

    if db.session.scalar(select(CourseProduct).limit(1)) is None:
        db.session.add(
            CourseProduct(
                name="Course of 10 full combination sessions",
                session_type=session_types["full-combination"],
                sessions_count=10,
                price_pence=95000,
                validity_days=183,
            )
        )

    password = None
    if db.session.scalar(select(StaffUser.id).filter_by(email=RECEPTION_EMAIL)) is None:
        # The admin pages' own function (in this unit of work): the account is checked,
        # gets a generated password and is audited like any other.
        _, password = team.add_staff_account(
            name="Reception",
            email=RECEPTION_EMAIL,
            role=Role.RECEPTIONIST,
            practitioner=None,
            staff_user=None,
        )
    return password


def register_commands(app: Flask) -> None:
    register_outbox_commands(app)
    register_records_commands(app)
    register_busy_time_commands(app)

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load a demo clinic (safe to run again)."""
        made = load_demo(with_diary=True)
        click.echo("Demo clinic loaded.")
        # The receptionist comes first: scripts read the first password printed.
        for sign_in in made:
            click.echo("")
            click.echo(f"  {ROLE_TITLES[sign_in.role]} sign-in (shown only this once):")
            click.echo(f"    email:    {sign_in.email}")
            click.echo(f"    password: {sign_in.password}")
        if made:
            click.echo("")
            asked = clinic_settings().second_factor_roles
            click.echo(
                "  Sign in at /staff/sign-in. "
                + (
                    f"A second factor is required for: {asked}."
                    if asked
                    else "The demo clinic requires no second factor (see Sign-in security)."
                )
            )
        kept = [RECEPTION_EMAIL, *(email for email, *_ in DEMO_SIGN_INS)]
        kept = [email for email in kept if email not in {s.email for s in made}]
        if kept:
            click.echo(
                f"These accounts already existed; their passwords are unchanged: {', '.join(kept)}"
                " (flask set-password --email ... gives one a new password)."
            )

    @app.cli.command("create-staff")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--practitioner", "practitioner_slug", help="slug, for the practitioner role")
    @click.password_option()
    def create_staff(email, name, role, practitioner_slug, password):
        """Create a staff account."""
        practitioner = None
        if role == Role.PRACTITIONER:
            practitioner = db.session.scalar(
                select(Practitioner).filter_by(slug=practitioner_slug or "")
            )
            if practitioner is None:
                raise click.ClickException("A practitioner account needs --practitioner SLUG.")
        try:
            # The same function as the admin pages: same checks, same audit event.
            account, _ = team.add_staff_account(
                name=name,
                email=email,
                role=role,
                practitioner=practitioner,
                staff_user=None,
                password=password,
            )
        except DomainError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"Created {role} account for {account.email}.")

    @app.cli.command("set-password")
    @click.option("--email", required=True)
    @click.password_option()
    def set_password(email, password):
        """Give a staff account a new password (signs it out everywhere)."""
        user = db.session.scalar(select(StaffUser).filter_by(email=email.strip().lower()))
        if user is None:
            raise click.ClickException(f"There is no staff account for {email}.")
        try:
            team.reset_password(user, staff_user=None, password=password)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"New password set for {user.email}; their other sessions have ended.")
