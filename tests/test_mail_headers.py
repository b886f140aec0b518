"""Mail as a careful sender writes it, checked against a real SMTP server (aiosmtpd)
that offers, or does not offer, 8BITMIME and SMTPUTF8."""

from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from booking.clinic.outbox import send_due
from booking.extensions import db, mail
from booking.models import OutboxMessage, OutboxStatus
from tests.fixtures_mail import Delivery, free_port

EHLO_NAME = "mail.clinic.example"
CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:a@clinic-booking\r\nDTSTAMP:20261001T090000Z\r\n"
    "DTSTART:20261023T090000Z\r\nSUMMARY:Séance avec Zoë\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@dataclass
class Received:
    delivery: Delivery
    ehlo_name: str
    mail_options: list[str]


@dataclass
class Recorder:
    """Keeps what arrives; hides the extensions the test says the server lacks."""

    hidden: set[str]
    received: list[Received] = field(default_factory=list)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        return [r for r in responses if r[4:].split(" ")[0].upper() not in self.hidden]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        delivery = Delivery(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        self.received.append(Received(delivery, session.host_name, list(envelope.mail_options)))
        return "250 Message accepted for delivery"


@pytest.fixture
def server_offering(app):
    """Start an SMTP server offering only some extensions and point the app at it."""
    started = []
    saved = {k: app.config.get(k) for k in ("MAIL_PORT", "MAIL_SUPPRESS_SEND", "MAIL_EHLO_NAME")}

    def start(*, eight_bit: bool, smtputf8: bool) -> Recorder:
        hidden = set() if eight_bit else {"8BITMIME"}
        recorder = Recorder(hidden if smtputf8 else hidden | {"SMTPUTF8"})
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
        controller.start()
        started.append(controller)
        app.config.update(
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_SUPPRESS_SEND=False,
            MAIL_EHLO_NAME=EHLO_NAME,
        )
        mail.init_app(app)
        return recorder

    yield start
    for controller in started:
        controller.stop()
    app.config.update(saved)
    mail.init_app(app)


def queue(recipient: str = "zoe@example.org") -> None:
    db.session.add(
        OutboxMessage(
            kind="confirmation",
            dedupe_key=f"test:{recipient}",
            recipient=recipient,
            subject="Booked: Séance on Friday",
            text_body="Hello Zoë,\n\nYour appointment is booked.\n",
            html_body="<p>Hello Zoë,</p><p>Your appointment is booked.</p>",
            ics=CALENDAR,
            ics_method="REQUEST",
        )
    )
    db.session.commit()


def parts(delivery: Delivery) -> dict[str, object]:
    return {part.get_content_type(): part for part in delivery.message.walk()}


def test_every_email_says_it_is_automatic_and_where_replies_go(app, demo, server_offering):
    server = server_offering(eight_bit=True, smtputf8=False)
    queue()
    assert send_due().sent == 1
    [received] = server.received
    message = received.delivery.message
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"] == "reception@clinic.example"
    assert message["Message-ID"].startswith("<outbox-") and message["Date"]
    assert received.ehlo_name == EHLO_NAME


def test_eight_bit_goes_only_to_a_server_offering_8bitmime(app, demo, server_offering):
    server = server_offering(eight_bit=True, smtputf8=False)
    queue()
    send_due()
    [received] = server.received
    assert "BODY=8BITMIME" in received.mail_options
    found = parts(received.delivery)
    assert found["text/plain"]["Content-Transfer-Encoding"] == "8bit"
    assert found["text/calendar"]["Content-Transfer-Encoding"] == "8bit"
    assert "Hello Zoë".encode() in received.delivery.raw


def test_without_8bitmime_the_message_is_seven_bit_and_reads_the_same(app, demo, server_offering):
    server = server_offering(eight_bit=False, smtputf8=False)
    queue()
    assert send_due().sent == 1
    [received] = server.received
    assert not any(option.upper().startswith("BODY=") for option in received.mail_options)
    assert received.delivery.raw.isascii()
    found = parts(received.delivery)
    assert found["text/plain"]["Content-Transfer-Encoding"] == "quoted-printable"
    assert found["text/calendar"]["Content-Transfer-Encoding"] == "base64"
    assert found["text/plain"].get_content().startswith("Hello Zoë,")
    assert found["text/calendar"].get_payload(decode=True) == CALENDAR.encode()
    assert received.delivery.message["Subject"] == "Booked: Séance on Friday"


def test_a_non_ascii_address_needs_smtputf8(app, demo, server_offering):
    server = server_offering(eight_bit=True, smtputf8=True)
    queue("zoë@example.org")
    assert send_due().sent == 1
    [received] = server.received
    assert "SMTPUTF8" in [option.upper() for option in received.mail_options]
    assert received.delivery.recipients == ["zoë@example.org"]


def test_a_non_ascii_address_is_not_sent_to_a_server_without_smtputf8(app, demo, server_offering):
    server = server_offering(eight_bit=True, smtputf8=False)
    queue("zoë@example.org")
    report = send_due()
    assert (report.sent, report.retrying) == (0, 1)
    assert server.received == []
    [row] = db.session.query(OutboxMessage).all()
    db.session.refresh(row)
    assert row.status == OutboxStatus.PENDING and "SMTPUTF8" in row.last_error
