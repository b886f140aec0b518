"""A mail catcher for development: `python -m booking.dev_mail`.

Listens on 127.0.0.1:8025 (DEV_MAIL_HOST / DEV_MAIL_PORT to change) and prints
each message it receives: the headers that matter, the plain-text part and the
names of any attachments. Nothing is delivered anywhere.
"""

import asyncio
import email
import os
from email import policy

from aiosmtpd.smtp import SMTP

SHOWN_HEADERS = ("Date", "From", "To", "Subject", "Message-ID")


def describe(raw: bytes) -> str:
    """The console text for one received message."""
    message = email.message_from_bytes(raw, policy=policy.default)
    lines = ["=" * 72]
    # Long headers arrive folded; show each on one line.
    lines += [
        f"{name}: {' '.join(str(message[name]).split())}" for name in SHOWN_HEADERS if message[name]
    ]
    attachments = [
        f"{part.get_filename()} ({part.get_content_type()})" for part in message.iter_attachments()
    ]
    invitations = [
        # A parameter in RFC 2231's encoded form comes back as a tuple: ours never are.
        str(part.get_param("method") or "?")
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and not part.get_content_disposition()
    ]
    if invitations:
        lines.append(f"Calendar: {', '.join(invitations)}")
    if attachments:
        lines.append(f"Attachments: {', '.join(attachments)}")
    lines.append("-" * 72)
    text = message.get_body(preferencelist=("plain",))
    lines.append(text.get_content().rstrip() if text is not None else "(no plain-text part)")
    lines.append("=" * 72)
    return "\n".join(lines)


class PrintingHandler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        print(describe(envelope.original_content or envelope.content), flush=True)
        return "250 Message accepted for delivery"


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(PrintingHandler()), host, port)
    print(f"Development mail: printing every email sent to {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    host = os.environ.get("DEV_MAIL_HOST", "127.0.0.1")
    port = int(os.environ.get("DEV_MAIL_PORT", "8025"))
    try:
        asyncio.run(serve(host, port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
