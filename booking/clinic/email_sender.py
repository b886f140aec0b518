"""The email channel: what the outbox's email messages are rendered from and sent by.

Queueing renders `emails/<template>.txt` and `.html`; sending builds the email with
`outgoing` (the MIME structure lives in `email_message`) and delivers it over SMTP
(`mail_delivery`).
"""

from typing import Any

from flask import render_template

from booking.clinic.calendar import clinic_mailbox
from booking.clinic.email_message import OutgoingEmail, outgoing_email
from booking.clinic.mail_delivery import default_sender, deliver
from booking.clinic.rendered import Rendered
from booking.models import OutboxMessage


def outgoing(message: OutboxMessage) -> OutgoingEmail:
    """The email for an outbox row, with the clinic's mailbox as Reply-To."""
    return outgoing_email(message, sender=default_sender(), reply_to=clinic_mailbox())


class EmailSender:
    channel = "email"

    def render(self, template: str, context: dict[str, Any]) -> Rendered:
        return Rendered(
            text_body=render_template(f"emails/{template}.txt", **context),
            html_body=render_template(f"emails/{template}.html", **context),
        )

    def send(self, message: OutboxMessage) -> None:
        deliver(outgoing(message))
