"""The waiting-list wish (days, parts of the day, until when): one form for the public
page and the diary, so both ask the same questions in the same words."""

from wtforms import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from booking.clinic.waiting_list import PARTS_OF_DAY, WEEKDAY_NAMES
from booking.form_fields import CheckboxesField
from booking.validators import DayInReach, Form


class WishForm(Form):
    weekdays = CheckboxesField(
        "Days that suit",
        choices=[SelectChoice(str(number), name) for number, name in enumerate(WEEKDAY_NAMES)],
        default=[str(number) for number in range(7)],
    )
    parts_of_day = CheckboxesField(
        "Times of day that suit",
        choices=[SelectChoice(key, label) for key, (label, _, _) in PARTS_OF_DAY.items()],
        default=list(PARTS_OF_DAY),
    )
    until = DateField(
        "Until when? (the last day you could come)",
        validators=[InputRequired("Enter the last day that would suit."), DayInReach()],
    )

    def validate_weekdays(self, field) -> None:
        from wtforms.validators import ValidationError

        if not field.data:
            raise ValidationError("Choose at least one day of the week.")

    def validate_parts_of_day(self, field) -> None:
        from wtforms.validators import ValidationError

        if not field.data:
            raise ValidationError("Choose at least one time of day.")
