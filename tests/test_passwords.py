"""Password hashes: cheap in the test suite only, full strength everywhere else."""

import pytest
from flask import Flask

from booking.models import StaffUser
from booking.passwords import FULL_STRENGTH, hash_password, password_matches
from config import config_for


def _hash_under(config_name: str, monkeypatch) -> str:
    """The hash StaffUser.set_password makes in an app with these settings."""
    monkeypatch.setenv("SECRET_KEY", "x" * 48)  # production refuses to start without one
    deployed = Flask(__name__)
    deployed.config.from_object(config_for(config_name))
    with deployed.app_context():
        user = StaffUser(email="someone@clinic.example", name="Someone", role="admin")
        user.set_password("a long enough password")
        return user.password_hash


@pytest.mark.parametrize("config_name", ["production", "development"])
def test_deployed_settings_hash_passwords_at_full_strength(app, config_name, monkeypatch):
    assert FULL_STRENGTH == "scrypt:32768:8:1"
    strong = _hash_under(config_name, monkeypatch)
    assert strong.startswith("scrypt:32768:8:1$")
    # And accounts a deployed site made still sign in under the test settings.
    assert password_matches(strong, "a long enough password")


def test_the_test_settings_hash_cheaply_and_still_check(app):
    password_hash = hash_password("a long enough password")
    assert password_hash.startswith("scrypt:128:8:1$")
    assert password_matches(password_hash, "a long enough password")
    assert not password_matches(password_hash, "another password")


def test_outside_an_app_hashes_are_full_strength():
    assert hash_password("a long enough password").startswith("scrypt:32768:8:1$")
