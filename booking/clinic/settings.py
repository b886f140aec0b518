"""The clinic's settings row, read in one place.

Nearly every page shows the clinic's name and every booking rule lives here, so the
row is read at most once per request and kept between requests:

- within a request, the same object (on `g`);
- between requests, each app (one per worker process) keeps the row's values for
  CLINIC_SETTINGS_CACHE_SECONDS. A commit in this process that changes the row empties
  the cache at once (session events below), so this worker's next request sees an
  admin's change; other workers see it once their copy is that many seconds old.

Each request gets its own ORM object built from the cached values and attached to its
session without a query, so callers may change it and commit exactly as if it had been
loaded; after a commit its attributes expire and are read afresh.
"""

import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from booking.clinic.transaction import in_unit_of_work, unit_of_work
from booking.extensions import db
from booking.models import ClinicSettings

DEFAULTS = {
    "name": "North West London Physiotherapy Centre",
    "address": "12 Example Road, London NW0 0AA",
    "phone": "020 7946 0000",
    "email": "hello@clinic.example",
    "reception_email": "reception@clinic.example",
    "timezone": "Europe/London",
}
DEFAULT_CACHE_SECONDS = 5.0

_COLUMNS = tuple(attribute.key for attribute in ClinicSettings.__mapper__.column_attrs)
_IDENTITY = identity_key(ClinicSettings, 1)
_CHANGED = "clinic_settings_changed"


class SettingsCache:
    """One app's copy of the settings row's values, valid for `seconds`.

    `forget` bumps a generation: values read before it (say, by another thread while an
    admin's change was committing) are not stored, so a stale copy never outlives it.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._values: dict[str, Any] | None = None
        self._expires = 0.0
        self.generation = 0

    def values(self) -> dict[str, Any] | None:
        values, expires = self._values, self._expires
        if values is not None and time.monotonic() < expires:
            return values
        return None

    def store(self, values: dict[str, Any], generation: int) -> None:
        with self._lock:
            if generation == self.generation and self.seconds > 0:
                self._values, self._expires = values, time.monotonic() + self.seconds

    def forget(self) -> None:
        with self._lock:
            self.generation += 1
            self._values = None


def _cache() -> SettingsCache | None:
    if not has_app_context():
        return None
    extensions = current_app.extensions
    cache: SettingsCache | None = extensions.get("clinic_settings_cache")
    if cache is None:
        seconds = current_app.config.get("CLINIC_SETTINGS_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
        cache = extensions.setdefault("clinic_settings_cache", SettingsCache(float(seconds)))
    return cache


def forget_clinic_settings() -> None:
    """Drop this app's cached copy: the next read goes to the database.

    Needed only when the row changes behind the ORM's back (tables emptied with
    plain SQL, a restore); commits through the session forget it themselves.
    """
    cache = _cache()
    if cache is not None:
        cache.forget()


def settings_generation() -> int:
    """How many times this app's copy has been forgotten: a cache built on the database's
    contents may key on it, so that emptying or restoring the tables (which must call
    `forget_clinic_settings`) empties that cache too."""
    cache = _cache()
    return cache.generation if cache is not None else 0


def settings_values(settings: ClinicSettings) -> tuple[Any, ...]:
    """Every column's value, in a fixed order: for keying what the settings shape."""
    return tuple(getattr(settings, name) for name in _COLUMNS)


def _from_cache(session: Session, values: dict[str, Any]) -> ClinicSettings:
    settings = ClinicSettings(**values)
    make_transient_to_detached(settings)  # as if loaded: unchanged, persistent once added
    session.add(settings)
    return settings


def _load(session: Session, cache: SettingsCache | None) -> ClinicSettings:
    generation = cache.generation if cache else 0
    settings = session.get(ClinicSettings, 1)
    if settings is None:
        _create_defaults()
        settings = session.get(ClinicSettings, 1)
        if settings is None:  # pragma: no cover - inserted just above, "if missing"
            raise RuntimeError("the clinic settings row could not be created")
    elif cache is not None and settings not in session.dirty and not session.info.get(_CHANGED):
        cache.store({name: getattr(settings, name) for name in _COLUMNS}, generation)
    return settings


def _create_defaults() -> None:
    """Insert the row with defaults if it is still missing, never committing the caller's work.

    Inside a unit of work it joins it; outside one it is a unit of work of its own
    (which refuses if rows were changed outside a unit of work). Two first readers at
    once both insert "if missing", so neither fails.
    """
    if in_unit_of_work():
        _insert_defaults()
    else:
        with unit_of_work():
            _insert_defaults()


def _insert_defaults() -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = {
        column.key: column.default.arg
        for column in ClinicSettings.__table__.columns
        if column.default is not None and column.default.is_scalar
    }
    db.session.execute(
        insert(ClinicSettings)
        .values(**{**columns, **DEFAULTS, "id": 1})
        .on_conflict_do_nothing(index_elements=["id"])
    )


def clinic_settings() -> ClinicSettings:
    """The settings row, created with defaults if the clinic has none yet (cached, see above)."""
    session = db.session()
    if has_app_context() and "clinic_settings" in g:
        cached: ClinicSettings = g.clinic_settings
        # A long-lived app context (the outbox worker's loop) outlives its sessions: an
        # object from a session since removed cannot load its columns, so read afresh.
        if inspect(cached).session is session:
            return cached
    cache = _cache()
    values = cache.values() if cache is not None else None
    if _IDENTITY in session.identity_map:
        settings = session.get_one(ClinicSettings, 1)  # the session's own object
    elif values is not None:
        settings = _from_cache(session, values)
    else:
        settings = _load(session, cache)
    if has_app_context():
        g.clinic_settings = settings
    return settings


def clinic_zone() -> ZoneInfo:
    """The clinic's time zone, without building a settings object when it need not.

    The same answer as `clinic_settings().zone`: this request's object if it has one, or
    the session's own (which may hold a change not yet committed), else the app's cached
    copy of the values, else the row.
    """
    if has_app_context() and "clinic_settings" not in g:
        session = db.session()
        cache = _cache()
        values = cache.values() if cache is not None else None
        if values is not None and _IDENTITY not in session.identity_map:
            return ZoneInfo(values["timezone"])
    return clinic_settings().zone


def _changes_settings(session: Session) -> bool:
    return any(
        isinstance(thing, ClinicSettings)
        for thing in (*session.new, *session.dirty, *session.deleted)
    )


@event.listens_for(Session, "after_flush")
def _note_a_change(session: Session, _context: object) -> None:
    if _changes_settings(session):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_a_bulk_change(state: Any) -> None:
    # UPDATE or DELETE statements sent through the session skip the flush.
    if (state.is_update or state.is_delete) and getattr(
        state.statement, "table", None
    ) is ClinicSettings.__table__:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_after_a_change(session: Session, transaction: Any) -> None:
    # Only the outermost transaction's end counts (a savepoint's commit is not yet
    # durable); forgetting after a rollback as well costs one read and is never wrong.
    if transaction.parent is None and session.info.pop(_CHANGED, False):
        forget_clinic_settings()
