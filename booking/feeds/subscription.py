"""The private subscription feed that calendar apps fetch every 15 minutes."""

from flask import Response, abort, request

from booking.clinic.feeds import FeedVersion, build_feed, feed_link_by_token, version_of
from booking.database import utcnow
from booking.extensions import db
from booking.feeds import blueprint
from booking.models import Practitioner

CACHE_CONTROL = "private, max-age=300"
CALENDAR_TYPE = "text/calendar; charset=utf-8"


def _unchanged_for_client(version: FeedVersion) -> bool:
    """Conditional GET as RFC 9110 13.2.2 orders it: If-None-Match wins over a date."""
    if request.if_none_match:
        tag = version.etag.removeprefix("W/").strip('"')
        return request.if_none_match.contains_weak(tag) or request.if_none_match.star_tag
    since = request.if_modified_since
    return since is not None and version.last_modified_is_firm and version.last_modified <= since


def _with_validators(response: Response, version: FeedVersion) -> Response:
    response.headers["ETag"] = version.etag
    if version.last_modified_is_firm:
        response.last_modified = version.last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@blueprint.get("/feeds/<token>.ics")
def subscription(token: str):
    # No rate limit: tokens are 256 random bits, and calendar services fetch many
    # feeds from few addresses. An unknown token gets the site's plain 404.
    link = feed_link_by_token(token)
    if link is None:
        abort(404)
    now = utcnow()
    version = version_of(link, now)
    if _unchanged_for_client(version):
        # A calendar app's usual poll: one query, nothing built.
        return _with_validators(Response(status=304), version)
    practitioner = db.session.get_one(Practitioner, link.practitioner_id)
    response = Response(build_feed(practitioner, now), content_type=CALENDAR_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{practitioner.slug}.ics"'
    return _with_validators(response, version)
