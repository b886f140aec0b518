"""A short-lived cache of the information pages' HTML, one per worker process.

These pages change only when the clinic edits a Markdown file, a price or its
settings, yet each view costs a settings query and a template render. Serving
them from memory for a few seconds (PAGE_CACHE_SECONDS) makes them nearly as
cheap as a static file; an edit shows within that time. Only pages without a
form are cached (a CSRF token belongs to one visitor), and never a response
that carries a flashed message or answers a query string.
"""

import time
from collections.abc import Callable
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
