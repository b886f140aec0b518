"""The private subscription feed that calendar apps fetch every 15 minutes."""

from flask import Response, abort, request

from booking.clinic.feeds import FeedVersion, build_feed, feed_version, practitioner_by_feed_token
from booking.database import utcnow
from booking.feeds import blueprint

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
    practitioner = practitioner_by_feed_token(token)
    if practitioner is None:
        abort(404)
    now = utcnow()
    version = feed_version(practitioner, now)
    if _unchanged_for_client(version):
        return _with_validators(Response(status=304), version)
    response = Response(build_feed(practitioner, now), content_type=CALENDAR_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{practitioner.slug}.ics"'
    return _with_validators(response, version)
