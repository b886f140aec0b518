"""What the account and enrolment pages show of a person's second factors.

Shared by the account page (booking.auth.views) and the second-factor pages
(booking.auth.second_factor_views).
"""

from flask_login import current_user

from booking.auth.forms import ButtonForm, RemoveForm
from booking.clinic import passkeys, second_factors


def factor_context() -> dict:
    """The signed-in person's authenticator, passkeys and recovery codes, and the forms."""
    account = current_user._get_current_object()
    factor = second_factors.totp_factor(account)
    return {
        "totp_confirmed": factor is not None and factor.confirmed_at is not None,
        "passkeys": passkeys.passkeys_of(account),
        "recovery_codes_left": second_factors.unused_recovery_codes(account),
        "required": second_factors.must_use_second_factor(account),
        "button": ButtonForm(),
        "remove_form": RemoveForm(),
    }
