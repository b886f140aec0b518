"""Forms for the calendar feed page."""

from wtforms import DateField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

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
