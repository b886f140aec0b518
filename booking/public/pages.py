"""The clinic's information pages."""

from flask import abort, current_app, render_template, send_file
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.clinic import DomainError, practitioner_photos
from booking.clinic.offerings import bookable_online_with
from booking.extensions import db
from booking.models import CourseProduct, Practitioner, SessionType, Treatment
from booking.public import blueprint
from booking.public.content import load_page
from booking.public.page_cache import cached_page
from booking.public.reply_section import replies_context


def _render_page(slug: str, **context):
    page = load_page(current_app.config["CONTENT_DIR"], slug)
    if page is None:
        abort(404)
    return render_template("public/page.html", page=page, **context)


@blueprint.get("/")
@cached_page
def home():
    return _render_page("home")


@blueprint.get("/sciatica")
def sciatica():
    return _render_page("sciatica", **replies_context("sciatica"))


@blueprint.get("/treatment")
@cached_page
def treatment():
    return _render_page("treatment")


@blueprint.get("/practitioner")
@cached_page
def practitioner():
    return _render_page("practitioner")


@blueprint.get("/when-not-to-book")
@cached_page
def when_not_to_book():
    return _render_page("when-not-to-book")


@blueprint.get("/contact")
@cached_page
def contact():
    # The clinic's own directions (its settings) follow the page: one place to change them.
    return _render_page("contact", finding_us=True)


@blueprint.get("/treatments-and-prices")
@cached_page
def treatments_and_prices():
    session_types = db.session.scalars(
        select(SessionType)
        .where(SessionType.active.is_(True))
        .order_by(SessionType.position, SessionType.name)
        .options(selectinload(SessionType.treatments))  # is_combination, "Includes"
    ).all()
    treatments = db.session.scalars(select(Treatment).order_by(Treatment.position)).all()

    courses = db.session.scalars(
        select(CourseProduct).where(CourseProduct.active.is_(True)).order_by(CourseProduct.id)
    ).all()
    practitioners = db.session.scalars(
        select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.position)
    ).all()
    return render_template(
        "public/prices.html",
        session_types=session_types,
        treatments=treatments,
        courses=courses,
        practitioners=practitioners,
    )


def _public_practitioner_or_404(slug: str) -> Practitioner:
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug))
    if practitioner is None or not practitioner.active:
        abort(404)
    return practitioner


@blueprint.get("/practitioners/<slug>")
def practitioner_profile(slug: str):
    """One practitioner: their photo, title and biography, and a way to book them."""
    practitioner = _public_practitioner_or_404(slug)
    return render_template(
        "public/practitioner_profile.html",
        practitioner=practitioner,
        session_types=bookable_online_with(practitioner),
    )


@blueprint.get("/practitioners/<slug>/photo.jpg")
def practitioner_photo(slug: str):
    """The photo as re-encoded on upload (booking.clinic.practitioner_photos): JPEG only."""
    practitioner = _public_practitioner_or_404(slug)
    if not practitioner.photo_filename:
        abort(404)
    try:
        path = practitioner_photos.path_of(practitioner.photo_filename)
    except DomainError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
