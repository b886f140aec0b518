"""The outbox's channels: a sender for each way a message can reach someone.

A message names its channel ("email" today; an SMS or a letter tomorrow). Queueing
asks the channel's sender to render the message from its templates; the outbox worker
asks it to deliver. A new channel is one sender registered here plus its templates,
and its name in `MessageChannel` (the database checks a message's channel is one of
them): nothing in the outbox's claiming, retrying or scheduling changes.
"""

from typing import Any, Protocol

from booking.clinic.rendered import Rendered
from booking.models import MessageChannel, OutboxMessage

__all__ = ["Rendered", "Sender", "UnknownChannel", "register_sender", "sender_for"]


class Sender(Protocol):
    channel: str

    def render(self, template: str, context: dict[str, Any]) -> Rendered:
        """The bodies of a `template` message (names the channel's own template files)."""
        ...

    def send(self, message: OutboxMessage) -> None:
        """Deliver one message, or raise: any exception is recorded and retried."""
        ...


class UnknownChannel(LookupError):
    """A message names a channel no sender is registered for: a programming error."""

    def __init__(self, channel: str):
        super().__init__(f"No sender is registered for the {channel!r} channel.")
        self.channel = channel


_SENDERS: dict[str, Sender] = {}
# Whether the built-in senders (email) were added: on first use, not on import, and not
# "when none is registered", or a channel registered first (letters) would leave out email.
_builtins_added = False


def register_sender(sender: Sender) -> None:
    """Make `sender` the one that delivers messages of `sender.channel`."""
    if sender.channel not in set(MessageChannel):
        # The database would refuse every message it queued.
        raise ValueError(
            f"{sender.channel!r} is not a MessageChannel: add it there, with a migration."
        )
    _SENDERS[sender.channel] = sender


def unregister_sender(channel: str) -> None:
    _SENDERS.pop(channel, None)


def sender_for(channel: str) -> Sender:
    """The registered sender of `channel`; UnknownChannel if there is none."""
    _add_builtin_senders()
    try:
        return _SENDERS[channel]
    except KeyError:
        raise UnknownChannel(channel) from None


def channels() -> list[str]:
    _add_builtin_senders()
    return sorted(_SENDERS)


def _add_builtin_senders() -> None:
    """Email, unless a sender of its own was registered for it already."""
    global _builtins_added
    if _builtins_added:
        return
    from booking.clinic.email_sender import EmailSender

    _SENDERS.setdefault("email", EmailSender())
    _builtins_added = True
