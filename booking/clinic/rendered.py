"""A message's bodies as its channel's templates wrote them.

Its own module so that a sender (booking.clinic.email_sender) and the registry that
finds it (booking.clinic.channels) need not import each other.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rendered:
    """A message's bodies as its channel's templates wrote them."""

    text_body: str
    html_body: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a receipt's PDF, say), stored with it in the outbox."""

    filename: str
    content_type: str
    content: bytes
