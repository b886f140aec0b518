"""Second factors: the step after the password, enrolment, passkeys, recovery codes, and the
administrators' sign-in settings and second-factor reset."""

import base64
import json
from urllib.parse import urlsplit

import segno
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from wtforms import BooleanField, IntegerField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from booking.auth import blueprint, session_cookie
from booking.auth.access import staff_required
from booking.auth.factors import factor_context
from booking.auth.forms import ButtonForm, RemoveForm
from booking.auth.session_cookie import current_staff_session
from booking.clinic import DomainError, passkeys, second_factors
from booking.clinic.settings import clinic_settings
from booking.database import utcnow
from booking.extensions import db, limiter
from booking.form_fields import CheckboxesField
from booking.models import Role, SessionEndReason, SessionStage, SignInMethod, StaffUser
from booking.validators import Form, site_path

CHALLENGE_KEY = "webauthn_challenge"
FAILURES_KEY = "second_factor_failures"
MOST_FAILURES = 5


class CodeForm(Form):
    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code."), Length(max=40)],
    )


class SignInPolicyForm(Form):
    roles = CheckboxesField(
        "Roles that must sign in with a second factor",
        choices=[
            SelectChoice(Role.ADMIN.value, "Administrators"),
            SelectChoice(Role.RECEPTIONIST.value, "Reception"),
            SelectChoice(Role.PRACTITIONER.value, "Practitioners"),
        ],
    )
    idle_minutes = IntegerField(
        "Sign out after this many minutes without use",
        validators=[InputRequired("Enter a number of minutes.")],
    )
    lifetime_hours = IntegerField(
        "Sign out this many hours after signing in, at the latest",
        validators=[InputRequired("Enter a number of hours.")],
    )
    passkey_only = BooleanField("Staff may sign in with a passkey alone (no password)")


def _signed_in_staff() -> StaffUser:
    return current_user._get_current_object()


def _rp_id() -> str:
    config = current_app.config
    return config.get("WEBAUTHN_RP_ID") or urlsplit(config["PUBLIC_BASE_URL"]).hostname or ""


def _origins() -> list[str]:
    config = current_app.config
    return [config.get("WEBAUTHN_ORIGIN") or config["PUBLIC_BASE_URL"]]


def _keep_challenge(challenge: bytes) -> None:
    session[CHALLENGE_KEY] = base64.urlsafe_b64encode(challenge).decode("ascii")


def _take_challenge() -> bytes:
    kept = session.pop(CHALLENGE_KEY, None)
    if not kept:
        raise DomainError("The passkey request expired. Please try again.")
    return base64.urlsafe_b64decode(kept)


def _pending():
    """The session waiting for its second factor, or None."""
    staff_session = current_staff_session()
    if staff_session is None or staff_session.stage != SessionStage.SECOND_FACTOR:
        return None
    return staff_session


def _after_sign_in() -> str:
    return site_path(session.pop("next_after_second_factor", None)) or url_for("diary.day")


def _failed_once_more() -> bool:
    """Count a wrong code; True when there were too many and the sign-in was abandoned."""
    session[FAILURES_KEY] = session.get(FAILURES_KEY, 0) + 1
    if session[FAILURES_KEY] < MOST_FAILURES:
        return False
    session_cookie.end_this_session(SessionEndReason.SECOND_FACTOR_FAILED)
    return True


# After the password -------------------------------------------------------------------------


@blueprint.route("/sign-in/second-factor", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def second_factor():
    pending = _pending()
    if pending is None:
        return redirect(url_for("auth.sign_in"))
    account = pending.staff_user
    form = CodeForm()
    problem, status = None, 200
    if form.validate_on_submit():
        code = "".join(form.code.data.split())
        now = utcnow()
        if code.isdigit() and second_factors.verify_totp(account, code, now=now):
            session_cookie.advance(
                pending, stage=SessionStage.SIGNED_IN, method=SignInMethod.PASSWORD_TOTP
            )
            return redirect(_after_sign_in())
        if not code.isdigit() and second_factors.use_recovery_code(account, code, now=now):
            session_cookie.advance(
                pending, stage=SessionStage.SIGNED_IN, method=SignInMethod.PASSWORD_RECOVERY_CODE
            )
            left = second_factors.unused_recovery_codes(account)
            flash(
                f"You signed in with a recovery code; {left} left. If your phone is lost, "
                "remove its authenticator app below and set one up again.",
                "success",
            )
            return redirect(url_for("auth.account"))
        if _failed_once_more():
            flash("Too many wrong codes. Please sign in again.", "error")
            return redirect(url_for("auth.sign_in"))
        problem, status = "That code is not right, or it has been used already.", 401
    elif form.is_submitted():
        problem, status = "Enter the code from your authenticator app or a recovery code.", 422
    return render_template(
        "auth/second_factor.html",
        form=form,
        problem=problem,
        has_totp=bool(
            (factor := second_factors.totp_factor(account)) and factor.confirmed_at is not None
        ),
        has_passkeys=bool(passkeys.passkeys_of(account)),
    ), status


@blueprint.post("/sign-in/passkey/options")
@limiter.limit("20 per minute")
def passkey_sign_in_options():
    pending = _pending()
    if pending is None and not clinic_settings().passkey_only_sign_in:
        abort(403)
    options, challenge = passkeys.authentication_options(
        pending.staff_user if pending else None, rp_id=_rp_id()
    )
    _keep_challenge(challenge)
    return current_app.response_class(options, mimetype="application/json")


@blueprint.post("/sign-in/passkey")
@limiter.limit("10 per minute; 50 per hour")
def passkey_sign_in():
    pending = _pending()
    if pending is None and not clinic_settings().passkey_only_sign_in:
        abort(403)
    try:
        owner = passkeys.authenticate(
            request.get_data(as_text=True),
            challenge=_take_challenge(),
            rp_id=_rp_id(),
            origins=_origins(),
            now=utcnow(),
            account=pending.staff_user if pending else None,
        )
    except DomainError as error:
        if pending is not None and _failed_once_more():
            return jsonify(problem=error.message, redirect=url_for("auth.sign_in")), 401
        return jsonify(problem=error.message), 401
    if pending is not None:
        session_cookie.advance(
            pending, stage=SessionStage.SIGNED_IN, method=SignInMethod.PASSWORD_PASSKEY
        )
        return jsonify(redirect=_after_sign_in())
    session_cookie.begin(owner, stage=SessionStage.SIGNED_IN, method=SignInMethod.PASSKEY)
    return jsonify(redirect=url_for("diary.day"))


# Enrolment ------------------------------------------------------------------------------------


def _finish_enrolment_if_needed(method: str) -> None:
    """An account that had to enrol is signed in fully once it has: password and factor."""
    staff_session = current_staff_session()
    if staff_session is not None and staff_session.stage == SessionStage.ENROL:
        session_cookie.advance(staff_session, stage=SessionStage.SIGNED_IN, method=method)


@blueprint.get("/enrol")
@staff_required(while_enrolling=True)
def enrol():
    return render_template("auth/enrol.html", **factor_context())


@blueprint.post("/account/authenticator/begin")
@staff_required(while_enrolling=True)
def authenticator_begin():
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        second_factors.begin_totp(_signed_in_staff(), now=utcnow())
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("auth.account"))
    return redirect(url_for("auth.authenticator"))


def _qr_data_uri(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=5, dark="#1b2a3a")


@blueprint.route("/account/authenticator", methods=["GET", "POST"])
@staff_required(while_enrolling=True)
def authenticator():
    account = _signed_in_staff()
    secret = second_factors.pending_totp_secret(account)
    if secret is None:
        return redirect(url_for("auth.account"))
    form = CodeForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            codes = second_factors.confirm_totp(account, form.code.data, now=utcnow())
        except DomainError as error:
            problem, status = error.message, 422
        else:
            _finish_enrolment_if_needed("password+totp")
            flash("The authenticator app is set up: sign-in now asks for its code.", "success")
            if codes:
                return _show_recovery_codes(codes)
            return redirect(url_for("auth.account"))
    uri = second_factors.provisioning_uri(account, secret)
    response = render_template(
        "auth/authenticator.html",
        form=form,
        problem=problem,
        secret=secret,
        spaced_secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr=_qr_data_uri(uri),
    )
    return response, status, {"Cache-Control": "no-store"}


def _show_recovery_codes(codes: list[str]):
    return (
        render_template("auth/recovery_codes.html", codes=codes),
        200,
        {"Cache-Control": "no-store"},
    )


@blueprint.post("/account/recovery-codes")
@staff_required()
def recovery_codes():
    if not ButtonForm().validate_on_submit():
        abort(400)
    return _show_recovery_codes(second_factors.new_recovery_codes(_signed_in_staff(), now=utcnow()))


@blueprint.post("/account/authenticator/remove")
@staff_required()
def authenticator_remove():
    form = RemoveForm()
    account = _signed_in_staff()
    if not form.validate_on_submit() or not account.check_password(form.password.data):
        flash("Your password was not right; the authenticator app is still set up.", "error")
        return redirect(url_for("auth.account"))
    try:
        second_factors.remove_totp(account, by=account, now=utcnow())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The authenticator app has been removed.", "success")
    return redirect(url_for("auth.account"))


@blueprint.post("/account/passkeys/options")
@staff_required(while_enrolling=True)
def passkey_options():
    options, challenge = passkeys.registration_options(
        _signed_in_staff(), rp_id=_rp_id(), rp_name=clinic_settings().name
    )
    _keep_challenge(challenge)
    return current_app.response_class(options, mimetype="application/json")


@blueprint.post("/account/passkeys")
@staff_required(while_enrolling=True)
def passkey_add():
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
        passkeys.register(
            _signed_in_staff(),
            json.dumps(body.get("credential")),
            name=str(body.get("name") or ""),
            challenge=_take_challenge(),
            rp_id=_rp_id(),
            origins=_origins(),
            now=utcnow(),
        )
    except (DomainError, ValueError, AttributeError) as error:
        message = getattr(error, "message", "The passkey could not be set up. Please try again.")
        return jsonify(problem=message), 422
    _finish_enrolment_if_needed("password+passkey")
    flash("The passkey is set up.", "success")
    return jsonify(redirect=url_for("auth.account"))


@blueprint.post("/account/passkeys/<int:passkey_id>/remove")
@staff_required()
def passkey_remove(passkey_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        passkeys.remove(_signed_in_staff(), passkey_id, now=utcnow())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The passkey has been removed.", "success")
    return redirect(url_for("auth.account"))


# Administrators -------------------------------------------------------------------------------


@blueprint.route("/sign-in-settings", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def sign_in_settings():
    settings = clinic_settings()
    form = SignInPolicyForm(
        data=None
        if request.method == "POST"
        else {
            "roles": sorted(second_factors.required_roles(settings)),
            "idle_minutes": settings.staff_idle_timeout_minutes,
            "lifetime_hours": settings.staff_session_lifetime_hours,
            "passkey_only": settings.passkey_only_sign_in,
        }
    )
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            second_factors.save_sign_in_policy(
                roles=form.roles.data,
                idle_minutes=form.idle_minutes.data,
                lifetime_hours=form.lifetime_hours.data,
                passkey_only=form.passkey_only.data,
                staff_user=_signed_in_staff(),
            )
        except DomainError as error:
            problem, status = error.message, 422
        else:
            flash("The sign-in settings have been saved.", "success")
            return redirect(url_for("auth.sign_in_settings"))
    elif form.is_submitted():
        problem, status = "Please correct the highlighted answers below.", 422
    return render_template("auth/sign_in_settings.html", form=form, problem=problem), status


@blueprint.post("/people/<int:account_id>/second-factors/reset")
@staff_required(Role.ADMIN)
def reset_second_factors(account_id: int):
    account = db.session.get(StaffUser, account_id)
    if account is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        second_factors.reset_second_factors(account, by=_signed_in_staff(), now=utcnow())
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            f"{account.name}'s second factors and recovery codes are removed and their "
            "sessions signed out. They sign in with their password and set one up again.",
            "success",
        )
    return redirect(url_for("auth.staff_sessions_page", account_id=account.id))
