"""Fixtures for mail tests (registered in conftest.py): a real SMTP server on a free port.

`smtp_server` is an aiosmtpd server that keeps every message it accepts; it can
be stopped and started again on the same port to play an outage. `mail_app` is
the test app pointed at it, with sending switched on (Flask-Mail suppresses
sending under TESTING unless told otherwise).
"""

import email
import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from booking.extensions import mail


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Delivery:
    mail_from: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)


class _Collector:
    def __init__(self, delay: float = 0.0):
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.delay:
            time.sleep(self.delay)  # a slow server, so that concurrent workers overlap
        with self.lock:
            self.deliveries.append(
                Delivery(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server in a background thread; keeps what it receives."""

    def __init__(self, port: int):
        self.host = "127.0.0.1"
        self.port = port
        self.collector = _Collector()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.collector, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def slow_down(self, seconds: float) -> None:
        self.collector.delay = seconds

    @property
    def deliveries(self) -> list[Delivery]:
        with self.collector.lock:
            return list(self.collector.deliveries)

    @property
    def messages(self) -> list[EmailMessage]:
        return [delivery.message for delivery in self.deliveries]

    def to(self, recipient: str) -> list[EmailMessage]:
        return [d.message for d in self.deliveries if recipient in d.recipients]


@pytest.fixture
def smtp_server():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, smtp_server):
    """The test app sending real mail to `smtp_server`."""
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_SUPPRESS_SEND", "MAIL_TIMEOUT")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_SUPPRESS_SEND=False,
        MAIL_TIMEOUT=5,
    )
    mail.init_app(app)
    yield app
    for key, value in saved.items():
        if value is None:
            app.config.pop(key, None)
        else:
            app.config[key] = value
    mail.init_app(app)


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return list(message.iter_attachments())


def calendar_part(message: EmailMessage) -> EmailMessage:
    """The invitation where Outlook and Gmail look for it, checking the shape on the way.

    The message is multipart/mixed whose first child is multipart/alternative holding
    text/plain, text/html and exactly one text/calendar part with a method, inline (no
    Content-Disposition). A text/calendar attachment is only a file to Outlook.
    """
    assert message.get_content_type() == "multipart/mixed"
    first = next(message.iter_parts())
    assert first.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in first.iter_parts()]
    assert kinds == ["text/plain", "text/html", "text/calendar"], kinds
    [part] = [p for p in first.iter_parts() if p.get_content_type() == "text/calendar"]
    assert part.get("Content-Disposition") is None
    assert part.get_param("method") in {"REQUEST", "CANCEL"}
    assert part.get_content_charset() == "utf-8"
    return part


def calendar_attachment(message: EmailMessage) -> EmailMessage:
    """The attached copy of the invitation (application/ics), beside the inline one."""
    found = [part for part in attachments(message) if part.get_content_type() == "application/ics"]
    assert len(found) == 1, f"expected one calendar attachment, found {len(found)}"
    assert found[0].get_content_disposition() == "attachment"
    return found[0]


def plain_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
