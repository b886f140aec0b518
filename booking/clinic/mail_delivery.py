"""Delivering one email over SMTP, as a careful sender does.

- EHLO names the host configured in MAIL_EHLO_NAME (a name whose address resolves
  back to it), not whatever the machine calls itself.
- The message is written after EHLO, when the server's extensions are known:
  8-bit bodies only with 8BITMIME (and BODY=8BITMIME said), UTF-8 addresses only
  with SMTPUTF8; otherwise quoted-printable or base64 and RFC 2047 headers.
- MAIL_TIMEOUT bounds every step, so a silent server cannot hang a worker.

Settings come from Flask-Mail's state (MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS,
MAIL_USE_SSL, MAIL_USERNAME, MAIL_PASSWORD, MAIL_SUPPRESS_SEND), read once per
delivery.
"""

import smtplib
from email import policy

from flask import current_app

from booking.clinic.email_message import (
    OutgoingEmail,
    build_email,
    envelope_sender,
    needs_smtputf8,
)


class CannotDeliver(Exception):
    """The server cannot take this message as written (it is retried, then shown to staff)."""


def default_sender() -> str:
    return str(current_app.extensions["mail"].default_sender)


def deliver(outgoing: OutgoingEmail) -> None:
    """Send `outgoing` to its recipient; raises on any failure (the caller retries)."""
    mail = current_app.extensions["mail"]
    if mail.suppress:  # TESTING, unless a test points the app at its own SMTP server
        return
    timeout = current_app.config.get("MAIL_TIMEOUT", 10)
    ehlo_name = current_app.config.get("MAIL_EHLO_NAME") or None
    connection_class = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
    with connection_class(
        mail.server, mail.port, local_hostname=ehlo_name, timeout=timeout
    ) as connection:
        connection.ehlo()
        if mail.use_tls:
            connection.starttls()
            connection.ehlo()  # RFC 3207: what the server offers may change after TLS
        if mail.username and mail.password:
            connection.login(mail.username, mail.password)
        _send(connection, outgoing)


def _send(connection: smtplib.SMTP, outgoing: OutgoingEmail) -> None:
    eight_bit = connection.has_extn("8bitmime")
    options = []
    writing = policy.SMTP
    if needs_smtputf8(outgoing):
        if not connection.has_extn("smtputf8"):
            raise CannotDeliver("the mail server does not accept non-ASCII addresses (SMTPUTF8)")
        options.append("SMTPUTF8")
        writing = policy.SMTPUTF8
    message = build_email(outgoing, eight_bit=eight_bit)
    if eight_bit:
        options.append("BODY=8BITMIME")
    connection.sendmail(
        envelope_sender(outgoing),
        [outgoing.recipient],
        message.as_bytes(policy=writing),
        mail_options=options,
    )
