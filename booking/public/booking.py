"""The online booking flow."""

from flask import render_template
from sqlalchemy import select

from booking.extensions import db
from booking.models import SessionType
from booking.public import blueprint


@blueprint.get("/book")
def book():
    session_types = db.session.scalars(
        select(SessionType)
        .where(SessionType.active.is_(True), SessionType.bookable_online.is_(True))
        .order_by(SessionType.position)
    ).all()
    return render_template("public/book_choose.html", session_types=session_types)
