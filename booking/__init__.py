"""The clinic booking application: create_app() builds it."""

import logging
from pathlib import Path
from types import SimpleNamespace

from flask import Flask, g, render_template, request
from sqlalchemy.exc import SQLAlchemyError

from booking.extensions import csrf, db, limiter, login_manager, mail, migrate

ROOT = Path(__file__).resolve().parent.parent


def content_security_policy(form_targets: str = "") -> str:
    """The policy; `form_targets` are origins besides our own a form may lead to."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action 'self' {form_targets}".strip(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def _policy_for(app: Flask) -> str:
    """With online payment on, the pay button's form may end on the hosted payment page.

    Browsers apply form-action to where a form's redirects lead too, so the one origin
    of the hosted page (checkout.stripe.com) is added there, and nowhere else: the page
    opens at the top level, never in a frame, and loads nothing into ours.
    """
    from booking.clinic.payments.configured import online_payment_configured

    if not online_payment_configured():
        return CONTENT_SECURITY_POLICY
    return content_security_policy(app.config["STRIPE_CHECKOUT_ORIGIN"])


# "same-origin": a link or form that leaves the site sends no Referer at all, so a patient's
# manage-my-booking token (in the address of their manage page) never reaches another site;
# requests back to this site carry the full Referer. That is what the CSRF defence needs:
# besides the signed token in every form, Flask-WTF refuses a POST over HTTPS whose Referer
# is missing or names another origin (WTF_CSRF_SSL_STRICT, left on), which stops a form on
# another site posting here even with a token it somehow obtained. "no-referrer" made every
# HTTPS POST fail that check ("This form has expired"). templates/base.html repeats this
# policy in a <meta> tag; keep the two the same.
REFERRER_POLICY = "same-origin"


def create_app(config_name: str | None = None, **overrides) -> Flask:
    from config import config_for

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config_for(config_name))
    app.config.update(overrides)
    Path(app.instance_path).mkdir(exist_ok=True)

    db.init_app(app)
    from booking.database import render_migration_type

    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_type,
    )
    csrf.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    with app.app_context():
        from booking.database import configure_engine

        configure_engine(db.engine)

    from booking.validators import BoundedInteger

    # Before any route is added: every <int:...> in the site's addresses is bounded.
    app.url_map.converters["int"] = BoundedInteger

    from booking import models  # noqa: F401  (registers the tables)
    from booking.auth import blueprint as auth_blueprint
    from booking.clinic import feed_revisions  # noqa: F401  (bumps feeds on every commit)
    from booking.diary import blueprint as diary_blueprint
    from booking.feeds import blueprint as feeds_blueprint
    from booking.public import blueprint as public_blueprint

    app.register_blueprint(public_blueprint)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(diary_blueprint)
    app.register_blueprint(feeds_blueprint)

    from booking.cli import register_commands

    register_commands(app)
    from booking.backup import register_backup_commands

    register_backup_commands(app)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        # Rate limits and HTTPS redirects need the visitor's address and scheme, not the proxy's.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    _register_request_state(app)
    _register_template_helpers(app)
    _register_error_pages(app)
    _register_security_headers(app)
    logging.getLogger("booking").setLevel(logging.INFO)
    return app


# What the app and its extensions cache on `g` for one request.
REQUEST_CACHED_ON_G = ("_login_user", "csrf_token", "clinic_settings", "database_commit_started")


def _register_request_state(app: Flask) -> None:
    @app.before_request
    def start_from_a_clean_g() -> None:
        # `g` lives as long as the app context. Serving, each request has its own, so
        # this does nothing; when an app context is already pushed (tests, scripts) it
        # spans several requests, and one client's signed-in user, CSRF token or stale
        # settings must not leak into the next request.
        for name in REQUEST_CACHED_ON_G:
            g.pop(name, None)

    from booking.validators import refuse_control_characters_in_address

    # Forms refuse control characters field by field (booking.validators.Form); this is
    # the net for what arrives outside a form: query arguments and parts of the address.
    app.before_request(refuse_control_characters_in_address)


def _register_template_helpers(app: Flask) -> None:
    from booking.clinic.settings import DEFAULTS, clinic_settings
    from booking.presentation import register_filters

    register_filters(app)

    @app.context_processor
    def inject_clinic():
        try:
            return {"clinic": clinic_settings()}
        except SQLAlchemyError:
            # An error page must still render when the database is what failed.
            db.session.rollback()
            return {"clinic": SimpleNamespace(**DEFAULTS)}


def _register_error_pages(app: Flask) -> None:
    def render_error(status: int, title: str, message: str):
        return render_template(
            "errors/error.html", status=status, title=title, message=message
        ), status

    @app.errorhandler(400)
    def bad_request(_error):
        return render_error(
            400, "That request could not be understood", "Please go back and try again."
        )

    from booking.validators import ControlCharacterInAddress

    @app.errorhandler(ControlCharacterInAddress)
    def control_character_in_address(error):
        return render_error(400, "That address could not be read", error.description)

    @app.errorhandler(403)
    def forbidden(_error):
        return render_error(403, "Not allowed", "Your account does not have access to this page.")

    @app.errorhandler(404)
    def not_found(_error):
        return render_error(
            404,
            "Page not found",
            "We could not find that page. It may have moved, or the link may have expired.",
        )

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return render_error(
            405, "That request could not be understood", "Please go back and try again."
        )

    @app.errorhandler(413)
    def too_large(_error):
        return render_error(
            413,
            "That was too much to send",
            "What you sent was larger than this site accepts, so none of it has been saved. "
            "Please go back, shorten it and send it again.",
        )

    @app.errorhandler(429)
    def too_many_requests(error):
        # A limit with on_breach supplies its own page (a form that keeps what was typed).
        if getattr(error, "response", None) is not None:
            return error.response
        return render_error(
            429, "Too many attempts", "Please wait a few minutes and try again, or call the clinic."
        )

    from booking.encryption import ClinicalKeyMissing

    @app.errorhandler(ClinicalKeyMissing)
    def record_keys_missing(error):
        # The server's CLINICAL_RECORD_KEYS lack the key a record was sealed with: only the
        # people running the server can put it right, so say what to tell them.
        app.logger.error("clinical record not opened: %s", error)
        db.session.rollback()
        return render_error(
            503,
            "This part of the clinical record cannot be opened",
            "It is sealed with a key this server does not have (CLINICAL_RECORD_KEYS). "
            "Nothing has been changed. Please tell whoever runs the server; the diary and "
            "bookings work meanwhile.",
        )

    from booking.outage import is_outage, outage_page, register_outage_page

    register_outage_page(app)

    @app.errorhandler(500)
    def server_error(error):
        # An outage met before the view ran (opening the session, loading the signed-in
        # user) reaches Flask as a 500 wrapping the database error.
        original = getattr(error, "original_exception", None)
        if is_outage(original):
            return outage_page(original)
        db.session.rollback()
        if request.method in ("GET", "HEAD"):
            message = "Please try again in a moment, or call the clinic."
        else:
            # The error may have come before or after the change was saved: say so.
            message = (
                "What you sent may not have been saved. Before sending it again, please "
                "check (a booking or a change is confirmed by email), or call the clinic."
            )
        return render_error(500, "Something went wrong on our side", message)

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return render_error(
            400,
            "This form has expired",
            "For your security the form timed out or came from elsewhere. "
            "Please go back, reload the page and send it again.",
        )


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        # Nothing the application renders may be kept by a browser or a shared cache: the
        # diary, patients' pages, manage-my-booking pages and exports hold health data, and
        # every other page carries a form token bound to one visitor's session. A response
        # that knows better sets its own (a calendar feed polled with ETags); static files
        # keep Flask's revalidating default.
        if request.endpoint != "static" and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        headers.setdefault("Content-Security-Policy", _policy_for(app))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("FORCE_HTTPS"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
