"""The clinic's domain: plain Python, no request objects."""

from booking.clinic.errors import DomainError

__all__ = ["DomainError", "flush_or_refuse"]


def flush_or_refuse(message: str) -> None:
    """Write what the session holds; if a unique constraint says no, refuse with `message`.

    For the race an application check cannot close: two people saving the same name,
    address or link at the same moment. The database's answer becomes a person's message;
    the unit of work around the caller rolls back.
    """
    from sqlalchemy.exc import IntegrityError

    from booking.extensions import db

    try:
        db.session.flush()
    except IntegrityError as error:
        raise DomainError(message) from error
