"""Settings read from the environment (a `.env` file is read for local use).

Choose the settings class with APP_ENV=development|production|testing.
"""

import logging
import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url: str) -> str:
    """Accept the common `postgres://` spelling and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _record_keys(value: str) -> str:
    """CLINICAL_RECORD_KEYS as production needs it: one or more valid Fernet keys."""
    from cryptography.fernet import Fernet

    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise RuntimeError(
            "CLINICAL_RECORD_KEYS must be set in production (clinical records and booking "
            "notes are encrypted with it). Make one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise RuntimeError(
                f"CLINICAL_RECORD_KEYS: key {number} is not a Fernet key "
                "(32 bytes, URL-safe base64, 44 characters)"
            ) from None
    return ",".join(keys)


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "development-only-not-secret")
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'clinic.sqlite3'}")
    )
    # hide_parameters: a database error's message (which Flask writes to the error log
    # with its traceback) would otherwise quote the statement's values, a patient's name,
    # email or health note among them. Every environment, so tests see what production logs.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # The largest request body accepted (bytes): the longest form is a few kilobytes, so
    # 1 MiB is plenty; more is refused with a 413 page before any of it is parsed.
    # deploy/nginx.conf allows a little more, so the site's own page answers.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    # Links in emails and calendar feeds are built from this, not from the request.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    # Passkeys are bound to this domain and origin (empty: the host and origin of
    # PUBLIC_BASE_URL). A passkey made for one domain never works on another.
    WEBAUTHN_RP_ID = os.environ.get("WEBAUTHN_RP_ID", "")
    WEBAUTHN_ORIGIN = os.environ.get("WEBAUTHN_ORIGIN", "")
    # A Fernet key (base64, 32 bytes) that encrypts authenticator app secrets; empty:
    # derived from SECRET_KEY, so changing SECRET_KEY means setting the apps up again.
    TOTP_ENCRYPTION_KEY = os.environ.get("TOTP_ENCRYPTION_KEY", "")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))
    MAIL_USE_TLS = _flag("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _flag("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "North West London Physiotherapy Centre <bookings@clinic.example>"
    )
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))
    # The name given in EHLO; empty means the machine's own name (smtplib's default).
    MAIL_EHLO_NAME = os.environ.get("MAIL_EHLO_NAME", "")
    # The outbox worker's claim on a message lapses this many seconds after the worker's
    # last heartbeat (it beats every sixth of it), so a crashed worker's mail goes out
    # through another within this plus one pass. Keep it well under a minute.
    OUTBOX_LEASE_SECONDS = float(os.environ.get("OUTBOX_LEASE_SECONDS", "30"))

    # Practitioners' own calendars (busy time). Fernet keys, comma-separated, first
    # encrypts; only production requires them (elsewhere one is derived from SECRET_KEY).
    CALENDAR_CREDENTIALS_KEYS = os.environ.get("CALENDAR_CREDENTIALS_KEYS", "")
    CALENDAR_CREDENTIALS_REQUIRED = False
    # Clinical content (intake answers, consent, treatment notes, outcomes) is encrypted
    # at rest with these Fernet keys, comma-separated, the first encrypts
    # (booking/encryption.py); only production requires them.
    CLINICAL_RECORD_KEYS = os.environ.get("CLINICAL_RECORD_KEYS", "")
    CLINICAL_RECORD_KEYS_REQUIRED = False
    CALENDAR_FETCH_TIMEOUT = float(os.environ.get("CALENDAR_FETCH_TIMEOUT", "10"))
    CALENDAR_FETCH_MAX_BYTES = int(os.environ.get("CALENDAR_FETCH_MAX_BYTES", str(5 * 2**20)))
    # Calendars on private, loopback or link-local addresses are refused unless this is
    # on (a CalDAV server inside the clinic's own network, or the tests' local servers).
    CALENDAR_FETCH_ALLOW_PRIVATE = _flag("CALENDAR_FETCH_ALLOW_PRIVATE", False)
    # How far ahead busy time is read (online booking reaches at most this far).
    CALENDAR_FETCH_DAYS = int(os.environ.get("CALENDAR_FETCH_DAYS", "120"))

    # memory:// counts per process: with several gunicorn workers each keeps its own
    # count, so a limit of 10 becomes 10 per worker. Use redis:// there.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Keeps this clinic's counts apart when a Redis server is shared.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "clinic-booking")
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 4 * 3600
    # A manage-my-booking link stays valid this long after it was issued.
    MANAGE_TOKEN_MAX_AGE_DAYS = int(os.environ.get("MANAGE_TOKEN_MAX_AGE_DAYS", "400"))
    # A "My bookings" link (sent to a patient's email) opens their list this long.
    MY_BOOKINGS_LINK_MINUTES = int(os.environ.get("MY_BOOKINGS_LINK_MINUTES", "30"))
    # Live future online bookings one email/phone, and one client address, may hold.
    ONLINE_HOLDS_PER_CONTACT = int(os.environ.get("ONLINE_HOLDS_PER_CONTACT", "4"))
    ONLINE_HOLDS_PER_ADDRESS = int(os.environ.get("ONLINE_HOLDS_PER_ADDRESS", "8"))
    # With the clinic's "new patients confirm their email" setting on, a new patient's
    # online booking is held this long for them to open the emailed link; then released.
    EMAIL_CONFIRMATION_HOLD_MINUTES = int(os.environ.get("EMAIL_CONFIRMATION_HOLD_MINUTES", "30"))
    CONTENT_DIR = os.environ.get("CONTENT_DIR", str(BASE_DIR / "booking" / "content"))
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Information pages are served from memory for this many seconds (0 turns it off).
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "30"))
    # Each worker keeps the clinic settings row this long; a change made through this
    # worker shows on its next request, through another within this many seconds.
    CLINIC_SETTINGS_CACHE_SECONDS = float(os.environ.get("CLINIC_SETTINGS_CACHE_SECONDS", "5"))
    # Each worker keeps the version of a session's free times (what the times page is kept
    # under) this long; a change made through this worker shows at once, through another
    # within this many seconds (0 reads it on every request).
    FREE_TIMES_VERSION_SECONDS = float(os.environ.get("FREE_TIMES_VERSION_SECONDS", "1"))
    # Online payment (Stripe Checkout). With no secret key nothing online shows and
    # patients pay at the desk. STRIPE_API_BASE and STRIPE_CHECKOUT_ORIGIN point the
    # adapter at a stand-in in tests; the origin is the one the security policy lets
    # the pay button's form redirect to.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
    STRIPE_CHECKOUT_ORIGIN = os.environ.get(
        "STRIPE_CHECKOUT_ORIGIN", "https://checkout.stripe.com"
    ).rstrip("/")
    STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "20"))
    # A session type with a deposit, booked online, keeps its time this many minutes
    # while the patient pays on the hosted page; unpaid by then, the time is released.
    DEPOSIT_HOLD_MINUTES = int(os.environ.get("DEPOSIT_HOLD_MINUTES", "30"))
    PREFERRED_URL_SCHEME = "http"
    FORCE_HTTPS = False
    # werkzeug's method for staff password hashes (booking/passwords.py reads it). Full
    # strength everywhere but the test suite; deliberately not read from the environment.
    PASSWORD_HASH_METHOD = "scrypt:32768:8:1"  # noqa: S105 - a hash method, not a password


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - only ever used by the test suite
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("TEST_DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'test.sqlite3'}")
    )
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", False)
    PAGE_CACHE_SECONDS = 0
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 0
    # Tests create hundreds of accounts: a full-strength hash each was over half the suite.
    PASSWORD_HASH_METHOD = "scrypt:128:8:1"  # noqa: S105 - a hash method, not a password


class ProductionConfig(Config):
    CALENDAR_CREDENTIALS_REQUIRED = True
    CLINICAL_RECORD_KEYS_REQUIRED = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    FORCE_HTTPS = True

    @classmethod
    def check(cls) -> None:
        """Refuse to start production with a missing or development secret."""
        secret = os.environ.get("SECRET_KEY", "")
        if len(secret) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        cls.SECRET_KEY = secret
        # Every appointment's booking note and every clinical record is sealed with these:
        # without them the first booking would fail, so production does not start at all.
        cls.CLINICAL_RECORD_KEYS = _record_keys(os.environ.get("CLINICAL_RECORD_KEYS", ""))
        if cls.RATELIMIT_STORAGE_URI.startswith("memory://"):
            logging.getLogger("booking").warning(
                "RATELIMIT_STORAGE_URI is memory://: each worker process counts on its own, "
                "so with several workers the sign-in and booking limits are multiplied. "
                "Set RATELIMIT_STORAGE_URI=redis://host:6379/0 to share the counts."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("APP_ENV", "development")
    try:
        config = CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
    if hasattr(config, "check"):
        config.check()
    return config
