"""Forms for the calendar feed page."""

from wtforms import DateField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from booking.clinic.feeds import PRIVACY_CHOICES
from booking.validators import DayInReach, Form


class PrivacyForm(Form):
    privacy = RadioField(
        "How patients appear in the calendar",
        choices=[SelectChoice(value, label) for value, label in PRIVACY_CHOICES.items()],
        validators=[InputRequired("Please choose how patients appear in the calendar.")],
    )


class RegenerateForm(Form):
    """Only the CSRF token: the button is the whole form."""


class DownloadForm(Form):
    """A date range for an .ics download.

    Sent by GET: it changes nothing, and a CSRF token in the address would end up
    in browser history and server logs for nothing.
    """

    class Meta:
        csrf = False

    start = DateField("From", validators=[InputRequired("Enter the first day."), DayInReach()])
    end = DateField("To", validators=[InputRequired("Enter the last day."), DayInReach()])


class OwnCalendarForm(Form):
    """Connect the practitioner's own calendar, so that its busy times block the diary."""

    kind = RadioField(
        "Kind of calendar",
        choices=[
            SelectChoice("ical", "A private iCal address (Google, Apple, Outlook)"),
            SelectChoice("caldav", "A CalDAV account (Nextcloud, iCloud, Fastmail …)"),
        ],
        default="ical",
        validators=[InputRequired("Choose the kind of calendar.")],
    )
    url = StringField(
        "Calendar address",
        validators=[InputRequired("Enter the calendar's address."), Length(max=2000)],
    )
    username = StringField("User name (CalDAV only)", validators=[Optional(), Length(max=200)])
    password = PasswordField("Password (CalDAV only)", validators=[Optional(), Length(max=500)])


class DisconnectForm(Form):
    """Only the CSRF token."""
