"""The CLI's staff commands go through the same domain functions as the admin pages."""

import sqlalchemy as sa

from booking.clinic.password_policy import MINIMUM_PASSWORD_LENGTH
from booking.extensions import db
from booking.models import AuditEvent, StaffUser


def audit_actions() -> list[str]:
    """What was audited after the demo clinic was loaded (its receptionist's account)."""
    db.session.expire_all()
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
    seeded = ("staff.added", "reception@clinic.example")
    return [
        event.action for event in events if (event.action, event.details.get("email")) != seeded
    ]


def test_create_staff_is_audited_like_the_admin_page(app, demo):
    result = app.test_cli_runner().invoke(
        args=["create-staff", "--email", "New.Admin@Clinic.example", "--name", "New Admin"]
        + ["--role", "admin"],
        input="a long enough password\na long enough password\n",
    )

    assert result.exit_code == 0, result.output
    account = db.session.scalar(sa.select(StaffUser).filter_by(email="new.admin@clinic.example"))
    assert account.check_password("a long enough password")
    assert audit_actions() == ["staff.added"]


def test_create_staff_refuses_a_password_the_policy_refuses(app, demo):
    short = "x" * (MINIMUM_PASSWORD_LENGTH - 1)
    result = app.test_cli_runner().invoke(
        args=["create-staff", "--email", "short@clinic.example", "--name", "Short"]
        + ["--role", "receptionist"],
        input=f"{short}\n{short}\n",
    )

    assert result.exit_code != 0
    assert f"at least {MINIMUM_PASSWORD_LENGTH} characters" in result.output
    assert db.session.scalar(sa.select(StaffUser).filter_by(email="short@clinic.example")) is None
    assert audit_actions() == []


def test_create_staff_refuses_an_address_already_taken(app, demo):
    result = app.test_cli_runner().invoke(
        args=["create-staff", "--email", "reception@clinic.example", "--name", "Again"]
        + ["--role", "receptionist"],
        input="a long enough password\na long enough password\n",
    )

    assert result.exit_code != 0
    assert "There is already a staff account for reception@clinic.example." in result.output


def test_set_password_is_audited_and_checked_by_the_policy(app, demo):
    runner = app.test_cli_runner()
    short = "x" * (MINIMUM_PASSWORD_LENGTH - 1)
    refused = runner.invoke(
        args=["set-password", "--email", "reception@clinic.example"], input=f"{short}\n{short}\n"
    )
    assert refused.exit_code != 0 and "at least" in refused.output
    assert audit_actions() == []

    done = runner.invoke(
        args=["set-password", "--email", "reception@clinic.example"],
        input="another long password\nanother long password\n",
    )

    assert done.exit_code == 0, done.output
    assert audit_actions() == ["staff.password_reset"]
