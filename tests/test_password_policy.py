"""The password rule: 12 characters or more, and nothing guessers try first."""

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.clinic.errors import DomainError
from booking.clinic.password_policy import check_new_password, common_passwords, password_problem
from booking.extensions import db
from booking.models import StaffUser
from tests import source_tree
from tests.forms import csrf_token


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "at least 12 characters (this one has 10)"),
        ("password12", "at least 12 characters"),
        ("aaaaaaaaaaaa", "one short piece repeated"),
        ("abcabcabcabcabc", "one short piece repeated"),
        ("password1234", "common password"),
        ("qwertyuiop123", "common password"),
        ("iloveyou2026!", "common password with a few characters added"),
        ("sunshine12345", "common password with a few characters added"),
    ],
)
def test_short_common_and_repeated_passwords_are_refused_saying_why(password, why):
    assert why in password_problem(password)
    with pytest.raises(DomainError, match="password"):
        check_new_password(password)


@pytest.mark.parametrize(
    "password", ["correct horse battery", "kettle on the windowsill", "Tp7#vQ2m!xR9wL"]
)
def test_long_uncommon_passwords_pass(password):
    assert password_problem(password) is None


def test_the_shipped_list_is_the_long_one_and_lowercase():
    words = common_passwords()
    assert len(words) > 19_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= words


def test_a_password_holding_your_own_name_is_refused():
    assert "your name" in password_problem("robinsmith-rules-ok", personal=("Robin", "Smith"))


def test_change_password_uses_the_rule_and_says_why(receptionist_client):
    page = receptionist_client.get("/staff/password").get_data(as_text=True)
    response = receptionist_client.post(
        "/staff/password",
        data={
            "csrf_token": csrf_token(page),
            "current_password": "correct horse battery",
            "new_password": "password1234",
            "confirm_password": "password1234",
        },
    )
    assert response.status_code == 422
    assert "list of common passwords" in response.get_data(as_text=True)


def test_the_command_line_uses_the_same_rule(app, demo):
    runner = app.test_cli_runner()
    for weak, why in (("password12", "at least 12"), ("password1234", "common passwords")):
        result = runner.invoke(
            args=["set-password", "--email", "reception@clinic.example"],
            input=f"{weak}\n{weak}\n",
        )
        assert result.exit_code != 0 and why in result.output
        created = runner.invoke(
            args=["create-staff", "--email", "new@clinic.example", "--name", "New Person"]
            + ["--role", "receptionist"],
            input=f"{weak}\n{weak}\n",
        )
        assert created.exit_code != 0 and why in created.output
    assert db.session.scalar(sa.select(StaffUser).filter_by(email="new@clinic.example")) is None


# One home: only the policy measures a password ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
POLICY = "booking/clinic/password_policy.py"


def _measures_a_password(source: str) -> list[int]:
    """Lines that take len() of something named like a password (a length rule of its own)."""
    return sorted(
        {
            node.lineno
            for node in source_tree.walk(source)
            if isinstance(node, ast.Call)
            and ast.unparse(node.func) == "len"
            and node.args
            and "password" in ast.unparse(node.args[0]).lower()
        }
    )


def test_only_the_policy_measures_a_password():
    offences = []
    for path in source_tree.python_files():
        name = str(path.relative_to(ROOT))
        if name != POLICY:
            offences += [f"{name}:{line}" for line in _measures_a_password(path.read_text())]
    assert offences == []
    assert _measures_a_password((ROOT / POLICY).read_text())  # the check sees the rule's own


def test_the_password_length_check_can_fail():
    assert _measures_a_password("if len(form.new_password.data) < 8:\n    pass") == [1]
