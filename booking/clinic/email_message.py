"""How an outbox email is written: its MIME structure and its headers.

An email that carries a calendar invitation is shaped the way Microsoft's MS-OXCMAIL
(2.1.3.3.8) and the iMIP binding (RFC 6047) describe, and the way Gmail writes its own:

    multipart/mixed
      multipart/alternative
        text/plain
        text/html
        text/calendar; method=REQUEST; charset=utf-8    <- the invitation, inline
      application/ics; name=invite.ics                  <- a copy, as an attachment

Outlook treats a `text/calendar` part as a meeting request only inside the
alternative (a `text/calendar` attachment is just a file), and Gmail and Apple Mail
read it there too; the attached copy is for programs that only offer "open file".
An email without an invitation is multipart/alternative alone. Other files (a
receipt's PDF) are attachments of the multipart/mixed, after any invitation's copy.

The transfer encoding is chosen when the server's capabilities are known: raw
UTF-8 (`8bit`) only to a server that offers 8BITMIME, quoted-printable (text) or
base64 (calendar) otherwise, so nothing relies on a relay passing 8-bit bytes.
"""

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from booking.clinic.rendered import Attachment
from booking.models import OutboxMessage

ICS_FILENAMES = {"REQUEST": "invite.ics", "CANCEL": "cancel.ics"}
# RFC 5322 2.1.1: no line may be longer than 998 octets.
LONGEST_LINE = 998


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything needed to write one outbox row as an email, read while the row is loaded.

    The worker reads this inside its transaction and writes the MIME message only once
    it knows what the SMTP server offers (8BITMIME, SMTPUTF8).
    """

    message_id: str
    sender: str
    recipient: str
    reply_to: str | None
    subject: str
    text_body: str
    html_body: str | None
    ics: str | None
    ics_method: str | None
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()


def message_id(message: OutboxMessage, sender: str) -> str:
    """The same Message-ID on every attempt, so a receiving server can spot a repeat."""
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    return f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def outgoing_email(message: OutboxMessage, *, sender: str, reply_to: str | None) -> OutgoingEmail:
    """A snapshot of the outbox row to write as an email from `sender`."""
    return OutgoingEmail(
        message_id=message_id(message, sender),
        sender=sender,
        recipient=message.recipient,
        # Reception's own notices need no Reply-To pointing back at reception.
        reply_to=reply_to if reply_to and reply_to != message.recipient else None,
        subject=message.subject,
        text_body=message.text_body,
        html_body=message.html_body,
        ics=message.ics,
        ics_method=(message.ics_method or "PUBLISH").upper() if message.ics else None,
        created_at=message.created_at,
        attachments=tuple(
            Attachment(
                filename=attachment.filename,
                content_type=attachment.content_type,
                content=attachment.content,
            )
            for attachment in message.attachments
        ),
    )


def envelope_sender(outgoing: OutgoingEmail) -> str:
    """The bare address of the From header, for SMTP's MAIL FROM."""
    [(_, address)] = getaddresses([outgoing.sender])
    return address


def needs_smtputf8(outgoing: OutgoingEmail) -> bool:
    """Whether an address (not just a display name) has non-ASCII characters.

    Display names and subjects are written as RFC 2047 encoded words, which any server
    carries; an address itself can only travel as UTF-8 to a server offering SMTPUTF8.
    """
    addresses = [envelope_sender(outgoing), outgoing.recipient, outgoing.reply_to or ""]
    return not all(address.isascii() for address in addresses)


def _longest_line(text: str) -> int:
    return max((len(line.encode()) for line in text.splitlines()), default=0)


def _transfer_encoding(text: str, *, eight_bit: bool, fallback: str) -> str:
    fits = _longest_line(text) <= LONGEST_LINE
    if text.isascii() and fits:
        return "7bit"
    if eight_bit and fits:
        return "8bit"
    return fallback


def build_email(outgoing: OutgoingEmail, *, eight_bit: bool) -> EmailMessage:
    """The MIME message for `outgoing`; `eight_bit` when the server offers 8BITMIME."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = outgoing.sender
    message["To"] = outgoing.recipient
    if outgoing.reply_to:
        message["Reply-To"] = outgoing.reply_to
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(outgoing.created_at)
    message["Message-ID"] = outgoing.message_id
    # RFC 3834: written by a program, so vacation responders and the like stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        outgoing.text_body,
        charset="utf-8",
        cte=_transfer_encoding(
            outgoing.text_body, eight_bit=eight_bit, fallback="quoted-printable"
        ),
    )
    if outgoing.html_body:
        message.add_alternative(
            outgoing.html_body,
            subtype="html",
            charset="utf-8",
            cte=_transfer_encoding(
                outgoing.html_body, eight_bit=eight_bit, fallback="quoted-printable"
            ),
        )
    if outgoing.ics:
        method = outgoing.ics_method or "PUBLISH"
        # Calendar data keeps its CRLF line ends exactly under base64.
        cte = _transfer_encoding(outgoing.ics, eight_bit=eight_bit, fallback="base64")
        message.add_alternative(
            outgoing.ics,
            subtype="calendar",
            charset="utf-8",
            cte=cte,
            params={"method": method},
        )
        filename = ICS_FILENAMES.get(method, "calendar.ics")
        message.add_attachment(
            outgoing.ics.encode("utf-8"),
            maintype="application",
            subtype="ics",
            filename=filename,
            params={"name": filename},
            cte="base64",
        )
    for attachment in outgoing.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            cte="base64",
        )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # RFC 2045 4: a header of the message, not of its parts
    return message
