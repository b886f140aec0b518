"""The replies section under an information page: its form and what the template needs.

Shared by the information pages (booking.public.pages) and the view that takes a reply
(booking.public.replies).
"""

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from booking.clinic.testimonials import (
    ALLOWED_HTML,
    NAME_MAX_LENGTH,
    REPLY_MAX_LENGTH,
    approved_for,
)
from booking.validators import DeliverableEmail, Form, VisibleName


class ReplyForm(Form):
    # No maxlength in the HTML: browsers cut pasted text short without a word. The server
    # refuses an over-long answer with a message instead, keeping the text to shorten.
    name = StringField(
        "Your name",
        render_kw={"maxlength": False},
        validators=[
            DataRequired("Enter your name: it is shown with your reply."),
            VisibleName(),
            Length(
                max=NAME_MAX_LENGTH,
                message=f"Your name must be {NAME_MAX_LENGTH} characters or fewer.",
            ),
        ],
    )
    email = StringField(
        "Email address",
        validators=[
            DataRequired("Enter your email address: the clinic may need to ask about your reply."),
            Length(max=254, message="That email address is too long."),
            DeliverableEmail(),
        ],
    )
    reply = TextAreaField(
        "Your reply",
        render_kw={"maxlength": False},
        validators=[
            DataRequired("Write your reply."),
            Length(
                max=REPLY_MAX_LENGTH,
                message=f"Please keep your reply to {REPLY_MAX_LENGTH} characters or fewer.",
            ),
        ],
    )
    # The honeypot: hidden from people, left empty by them, filled in by most robots.
    website = StringField("Leave this field empty")


def replies_context(page: str, form: ReplyForm | None = None, problem: str | None = None) -> dict:
    """What templates/public/_replies.html needs under an information page."""
    return {
        "replies": approved_for(page),
        "reply_form": form if form is not None else ReplyForm(formdata=None),
        "reply_problem": problem,
        "reply_page": page,
        "allowed_html": ALLOWED_HTML,
    }
