"""Patients' replies under the information pages: sanitised, held for moderation, then shown.

A reply may use a handful of HTML tags (the clinic's old page allowed the same ones);
everything else is removed by nh3, links are marked nofollow and may only point to
http(s) or mailto addresses. The sanitised HTML is what is stored, and it is sanitised
again when shown (see `approved_for`).
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import nh3
from markupsafe import Markup
from sqlalchemy import select

from booking.clinic import DomainError, audit
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.extensions import db
from booking.models import StaffUser, Testimonial, TestimonialStatus

# The pages that show replies and accept new ones.
PAGES_WITH_REPLIES = ("sciatica",)

NAME_MAX_LENGTH = 80
REPLY_MAX_LENGTH = 4000

# Tag -> the attributes it may keep. Shown to people on the page, so keep it readable.
ALLOWED_HTML: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "acronym": frozenset({"title"}),
    "b": frozenset(),
    "blockquote": frozenset({"cite"}),
    "cite": frozenset(),
    "code": frozenset(),
    "del": frozenset({"datetime"}),
    "em": frozenset(),
    "i": frozenset(),
    "q": frozenset({"cite"}),
    "s": frozenset(),
    "strike": frozenset(),
    "strong": frozenset(),
}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"


def _only_web_addresses_in_cite(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks the scheme of href but not of cite, so a `cite="javascript:..."` would pass.
    if attribute != "cite":
        return value
    scheme = urlsplit(value.strip()).scheme.lower()
    return value if scheme in {"http", "https"} else None


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_HTML),
    attributes={tag: set(names) for tag, names in ALLOWED_HTML.items() if names},
    attribute_filter=_only_web_addresses_in_cite,
    url_schemes=set(LINK_SCHEMES),
    # Relative and scheme-relative links ("/x", "//host") are refused: only full addresses.
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def sanitise(html: str) -> str:
    """The reply with only the allowed tags and attributes left; script and style removed whole."""
    return _cleaner.clean(html)


def _has_text(html: str) -> bool:
    return bool(nh3.clean(html, tags=set()).strip())


@dataclass(frozen=True)
class PublishedReply:
    author_name: str
    written_at: datetime
    body: Markup


def submit_reply(
    page: str, *, name: str, email: str, reply: str, now: datetime | None = None
) -> Testimonial:
    """Store a new reply, sanitised, waiting for staff to approve it.

    Raises DomainError when the page takes no replies, a limit is exceeded or nothing
    readable is left once the HTML has been cleaned.
    """
    if page not in PAGES_WITH_REPLIES:
        raise DomainError("Replies are not open on this page.")
    name, email, reply = name.strip(), email.strip(), reply.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise DomainError(f"Please give a name of up to {NAME_MAX_LENGTH} characters.")
    # Refused, never cut short: a reply is not shown in a form its author did not write.
    if len(reply) > REPLY_MAX_LENGTH:
        raise DomainError(f"Please keep your reply to {REPLY_MAX_LENGTH} characters or fewer.")
    body_html = sanitise(reply)
    if not _has_text(body_html):
        raise DomainError(
            "Your reply has no text left once unsupported HTML is removed. "
            "Please write it as plain text."
        )
    with unit_of_work():
        testimonial = Testimonial(
            page=page,
            author_name=name,
            author_email=email,
            body_html=body_html,
            status=TestimonialStatus.PENDING.value,
            created_at=now or utcnow(),
        )
        db.session.add(testimonial)
    return testimonial


def pending() -> list[Testimonial]:
    """Replies waiting for a decision, oldest first."""
    return list(
        db.session.scalars(
            select(Testimonial)
            .where(Testimonial.status == TestimonialStatus.PENDING.value)
            .order_by(Testimonial.created_at, Testimonial.id)
        )
    )


def _decide(
    testimonial_id: int, status: TestimonialStatus, staff_user: StaffUser, now: datetime | None
) -> Testimonial:
    with unit_of_work():
        testimonial = lock_or_refuse(Testimonial, testimonial_id, "That reply no longer exists.")
        # Re-checked once held, so two people deciding at once cannot both win.
        if testimonial.status != TestimonialStatus.PENDING:
            raise DomainError("Someone has already decided on that reply.")
        testimonial.status = status.value
        testimonial.moderated_at = now or utcnow()
        testimonial.moderated_by_id = staff_user.id
        audit.record(staff_user, f"testimonial.{status.value}", testimonial, page=testimonial.page)
    return testimonial


def approve(
    testimonial_id: int, *, staff_user: StaffUser, now: datetime | None = None
) -> Testimonial:
    """Publish a pending reply under its page, recording who approved it."""
    return _decide(testimonial_id, TestimonialStatus.APPROVED, staff_user, now)


def reject(
    testimonial_id: int, *, staff_user: StaffUser, now: datetime | None = None
) -> Testimonial:
    """Turn a pending reply down; it is kept (not shown) so the decision is on record."""
    return _decide(testimonial_id, TestimonialStatus.REJECTED, staff_user, now)


def approved_for(page: str) -> list[PublishedReply]:
    """The approved replies under a page, oldest first, ready to show.

    The stored HTML was sanitised on the way in; it is sanitised again here so that a
    row written any other way (a script, an older allow-list) still cannot inject markup.
    """
    rows = db.session.scalars(
        select(Testimonial)
        .where(
            Testimonial.page == page,
            Testimonial.status == TestimonialStatus.APPROVED.value,
        )
        .order_by(Testimonial.created_at, Testimonial.id)
    )
    return [
        PublishedReply(
            author_name=row.author_name,
            written_at=row.created_at,
            body=Markup(sanitise(row.body_html)),  # noqa: S704 - the output of nh3 above
        )
        for row in rows
    ]


def preview(testimonial: Testimonial) -> Markup:
    """A reply's HTML as it would appear once approved (for the moderation queue)."""
    return Markup(sanitise(testimonial.body_html))  # noqa: S704 - the output of nh3
