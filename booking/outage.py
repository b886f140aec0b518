"""When the database cannot be reached: a styled 503 that tells the visitor what became of
what they sent.

Every visitor gets it, staff included: a signed-in receptionist's request fails as soon
as their account is looked up, so the page is rendered as for a visitor who is signed
out, from the clinic's default details (booking/__init__.py's context processor).

Whether what they sent was kept is known from the request itself: a failed request
rolls back, so nothing is saved unless a COMMIT was already on its way to the database
when the connection failed. That one case is unknowable from here, and the page says so
rather than promising either way.
"""

import logging

from flask import Flask, g, has_request_context, render_template, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError

from booking.extensions import db, login_manager

log = logging.getLogger("booking.outage")

# What SQLAlchemy raises when the server is down, unreachable, restarting or refusing
# connections (and, on SQLite, when the file cannot be opened or stays locked).
OUTAGE_ERRORS = (OperationalError, InterfaceError, DisconnectionError)
RETRY_AFTER_SECONDS = 60
TITLE = "The booking system is not available just now"
NOT_SHOWN = (
    "We cannot reach the clinic's records at the moment, so this page cannot be shown. "
    "Please try again in a minute."
)
NOT_SAVED = (
    "We cannot reach the clinic's records at the moment, so what you sent has not been "
    "saved: nothing was booked, changed or cancelled. Please send it again in a minute."
)
UNKNOWN = (
    "We lost contact with the clinic's records while saving what you sent, so we cannot "
    "tell whether it was saved. Before sending it again, please check for a confirmation "
    "email, or call the clinic."
)


def is_outage(error: BaseException | None) -> bool:
    return isinstance(error, OUTAGE_ERRORS)


def track_commits(engine: Engine) -> None:
    """Remember, per request, that a COMMIT was sent: after that, failure is ambiguous."""

    @event.listens_for(engine, "commit")
    def _commit_started(_connection) -> None:
        if has_request_context():
            g.database_commit_started = True


def outage_page(error: BaseException):
    """The 503 page for a database outage, with Retry-After."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass
    # The signed-in user cannot be loaded: render as for a visitor signed out.
    g._login_user = login_manager.anonymous_user()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        message = NOT_SHOWN
    elif g.get("database_commit_started"):
        message = UNKNOWN
    else:
        message = NOT_SAVED
    # The exception's class only: its text can quote the statement.
    log.warning(
        "database unavailable (%s) on %s %s",
        type(getattr(error, "orig", None) or error).__name__,
        request.method,
        request.endpoint,
    )
    body = render_template("errors/error.html", status=503, title=TITLE, message=message)
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def register_outage_page(app: Flask) -> None:
    with app.app_context():
        track_commits(db.engine)
    for error_class in OUTAGE_ERRORS:
        app.register_error_handler(error_class, outage_page)
