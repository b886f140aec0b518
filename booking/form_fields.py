"""Form fields shared by every blueprint's forms."""

from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class CheckboxesField(SelectMultipleField):
    """Several ticks from a list: one checkbox per choice, which works without JavaScript
    and reads better on a phone than a multiple select. Choices are `SelectChoice`s."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
