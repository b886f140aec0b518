"""Forms for staff sign-in, passwords, sessions and second factors."""

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from booking.validators import Form


class SignInForm(Form):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter your email address."), Length(max=254)],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=200)]
    )


class ChangePasswordForm(Form):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    # How long and how guessable is the domain's rule (booking.clinic.password_policy), checked
    # there so that the admin pages and the CLI give the same answer.
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(max=200)],
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[
            DataRequired("Enter the new password a second time."),
            EqualTo("new_password", message="The two new passwords are not the same."),
        ],
    )


class ButtonForm(Form):
    """A form that is only a button (and its CSRF token)."""


class RemoveForm(Form):
    password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])
