"""A short-lived cache of the information pages' HTML, one per worker process.

These pages change only when the clinic edits a Markdown file, a price or its
settings, yet each view costs a settings query and a template render. Serving
them from memory for a few seconds (PAGE_CACHE_SECONDS) makes them nearly as
cheap as a static file; an edit shows within that time. Only pages without a
form are cached (a CSRF token belongs to one visitor), and never a response
that carries a flashed message or answers a query string.
"""

import time
from collections.abc import Callable, Hashable
from functools import wraps

from flask import current_app, request, session

_pages: dict[tuple, tuple[float, str]] = {}


def cached_page(view: Callable) -> Callable:
    @wraps(view)
    def serve(*args, **kwargs):
        seconds = current_app.config.get("PAGE_CACHE_SECONDS", 0)
        if not seconds or request.args or session.get("_flashes"):
            return view(*args, **kwargs)
        key = (id(current_app), request.endpoint, tuple(sorted(kwargs.items())))
        now = time.monotonic()
        hit = _pages.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        body = view(*args, **kwargs)
        if isinstance(body, str):
            _pages[key] = (now + seconds, body)
        return body

    return serve


def forget_cached_pages() -> None:
    _pages.clear()
    _versioned.clear()


# Pages kept until what they show may have changed (`cached_until_changed`), per worker.
_versioned: dict[Hashable, str] = {}
MOST_VERSIONED_PAGES = 500


def cached_until_changed(version: Callable[..., Hashable | None]) -> Callable:
    """Serve a view's HTML again for as long as `version(**view_args)` gives the same value.

    `version` must change whenever anything the page shows may have (it names the page's
    data, not a time limit); None means "do not cache this one". The address with its query
    string is part of the key; a response carrying a flashed message is never kept or
    served from here. At most MOST_VERSIONED_PAGES are kept, the oldest dropped first.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def serve(*args, **kwargs):
            if session.get("_flashes"):
                return view(*args, **kwargs)
            value = version(*args, **kwargs)
            if value is None:
                return view(*args, **kwargs)
            key = (id(current_app), request.endpoint, request.full_path, value)
            body = _versioned.get(key)
            if body is not None:
                return body
            body = view(*args, **kwargs)
            if isinstance(body, str):
                while len(_versioned) >= MOST_VERSIONED_PAGES:
                    del _versioned[next(iter(_versioned))]
                _versioned[key] = body
            return body

        return serve

    return decorator
